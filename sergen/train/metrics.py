"""The poster's four metrics (AUROC macro one-vs-rest, ACC, macro F1, macro average precision) plus UAR
(EmoBox's "UA") and EmoBox's macro-F1 (``emobox_f1``: over the classes of the test set *and* of the
predictions, see ``sergen.train.emobox_metrics``), each with a seeded bootstrap 95% interval. EmoBox's WA is
``acc`` and its micro-F1 equals ``acc`` for single-label classification.

Point values come from scikit-learn. The bootstrap recomputes them a few hundred times per test set and
grid cell, where scikit-learn's per-call checks dominate, so it uses the vectorised numpy versions below
(rank-based AUROC, step-wise AP with ties grouped as scikit-learn does); tests hold them equal to
scikit-learn. Classes absent from a test set are left out of the macro averages (AUROC and AP are
undefined for them), so a corpus without, say, sad test items is still scored on the other three.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import (accuracy_score, average_precision_score, confusion_matrix, f1_score, recall_score,
                             roc_auc_score)

METRICS = ("auroc", "acc", "f1", "avprec", "uar", "emobox_f1")


def point_metrics(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """scikit-learn's values."""
    present = np.unique(y)
    pred = proba.argmax(1)
    if len(present) > 1:
        auroc = float(np.mean([roc_auc_score(y == k, proba[:, k]) for k in present]))
        avprec = float(np.mean([average_precision_score(y == k, proba[:, k]) for k in present]))
    else:
        auroc = avprec = float("nan")
    return {
        "auroc": auroc,
        "acc": float(accuracy_score(y, pred)),
        "f1": float(f1_score(y, pred, labels=present, average="macro", zero_division=0)),
        "avprec": avprec,
        "uar": float(recall_score(y, pred, labels=present, average="macro", zero_division=0)),
        "emobox_f1": float(f1_score(y, pred, average="macro", zero_division=0)),
    }


def confusion_counts(y: np.ndarray, proba: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``[true class][predicted class]`` over all ``n_classes`` (absent classes give zero rows),
    scikit-learn's ``confusion_matrix``."""
    return confusion_matrix(y, np.asarray(proba).argmax(1), labels=np.arange(n_classes))


def row_normalised(counts: np.ndarray) -> np.ndarray:
    """Each true class's row as shares of its utterances (NaN for a class with none)."""
    counts = np.asarray(counts, dtype=float)
    totals = counts.sum(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, counts / totals, np.nan)


def binary_auroc(positive: np.ndarray, score: np.ndarray) -> float:
    n_pos = positive.sum()
    n_neg = len(positive) - n_pos
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def binary_average_precision(positive: np.ndarray, score: np.ndarray) -> float:
    order = np.argsort(-score, kind="mergesort")
    s, p = score[order], positive[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps = np.cumsum(p)[last_of_tie]
    fps = (last_of_tie + 1) - tps
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def fast_metrics(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Same values as ``point_metrics``, without scikit-learn's per-call overhead."""
    present = np.unique(y)
    pred = proba.argmax(1)
    recalls, f1s = [], []
    for k in present:
        tp = np.sum((pred == k) & (y == k))
        n_true, n_pred = np.sum(y == k), np.sum(pred == k)
        recalls.append(tp / n_true)
        f1s.append(2 * tp / (n_true + n_pred) if n_true + n_pred else 0.0)
    predicted_only = np.setdiff1d(np.unique(pred), present)  # EmoBox's macro-F1 counts them with F1 = 0
    multi = len(present) > 1
    return {
        "auroc": float(np.mean([binary_auroc(y == k, proba[:, k]) for k in present])) if multi else float("nan"),
        "acc": float(np.mean(pred == y)),
        "f1": float(np.mean(f1s)),
        "avprec": float(np.mean([binary_average_precision(y == k, proba[:, k]) for k in present])) if multi else float("nan"),
        "uar": float(np.mean(recalls)),
        "emobox_f1": float(np.sum(f1s) / (len(present) + len(predicted_only))),
    }


def bootstrap_metrics(y: np.ndarray, proba: np.ndarray, n_boot: int = 200, seed: int = 0,
                      level: float = 0.95) -> dict[str, tuple[float, float, float]]:
    """``{metric: (value, low, high)}``; resamples holding a single class are skipped."""
    point = point_metrics(y, proba)
    rng = np.random.default_rng(seed)
    draws = {m: [] for m in METRICS}
    for _ in range(n_boot):
        idx = rng.integers(len(y), size=len(y))
        if len(np.unique(y[idx])) < 2:
            continue
        for m, v in fast_metrics(y[idx], proba[idx]).items():
            draws[m].append(v)
    alpha = (1 - level) / 2
    out = {}
    for m in METRICS:
        vals = np.asarray(draws[m])
        vals = vals[np.isfinite(vals)]
        lo, hi = (np.quantile(vals, [alpha, 1 - alpha]) if len(vals) else (np.nan, np.nan))
        out[m] = (point[m], float(lo), float(hi))
    return out

"""The poster's four metrics (AUROC macro one-vs-rest, ACC, macro F1, macro average precision) plus UAR
(EmoBox's "UA") and EmoBox's macro-F1 (``emobox_f1``: over the classes of the test set *and* of the
predictions, see ``sergen.train.emobox_metrics``), each with a seeded bootstrap 95% interval. EmoBox's WA is
``acc`` and its micro-F1 equals ``acc`` for single-label classification.

Point values come from scikit-learn. The bootstrap recomputes them a few hundred times per test set and
grid cell, where scikit-learn's per-call checks dominate, so it uses numpy versions below (rank-based
AUROC, step-wise AP with ties grouped as scikit-learn does), scoring all resamples of a test set at once as
weighted sums; tests hold them equal to scikit-learn and to scoring each resample on its own. Classes absent from a test set are left out of the macro averages (AUROC and AP are
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
        auroc = macro_auroc(y, proba)
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


def macro_auroc(y: np.ndarray, proba: np.ndarray) -> float:
    """scikit-learn's one-vs-rest AUROC averaged over the classes present (NaN for fewer than two): the
    value ``point_metrics`` reports, alone, for validation every ``eval_every`` steps. Each class's value is
    ``roc_auc_score``'s, bit for bit (``sklearn_binary_auroc``), without its input checks."""
    present = np.unique(y)
    if len(present) < 2:
        return float("nan")
    return float(np.mean([sklearn_binary_auroc(y == k, proba[:, k]) for k in present]))


def sklearn_binary_auroc(positive: np.ndarray, score: np.ndarray) -> float:
    """``roc_auc_score(positive, score)`` for a boolean ``positive`` holding both classes, computed with the
    same operations in the same order (scikit-learn 1.9's ``roc_curve`` with ``drop_intermediate``, then the
    trapezoid), so the value is identical to the last bit: its per-call input checks cost ~10 ms, which at a
    validation every 50 steps was a quarter of a demo grid's CPU (bench/demo_profile.md). Tests compare it
    with scikit-learn on ties, float32 scores and every class balance."""
    order = np.argsort(score, kind="stable")[::-1]
    s, truth = score[order], positive[order].astype(np.float64)
    thresholds = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps = np.cumsum(truth)[thresholds]
    fps = 1 + thresholds.astype(np.float64) - tps
    if len(fps) > 2:
        keep = np.flatnonzero(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])
        fps, tps = fps[keep], tps[keep]
    fpr, tpr = np.r_[0.0, fps] / fps[-1], np.r_[0.0, tps] / tps[-1]
    return float(np.sum((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1]) / 2.0, dtype=np.float64))


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


BOOTSTRAP_CELLS = 1 << 22  # resamples × utterances scored at once (float64 weights: 32 MiB)


def bootstrap_metrics(y: np.ndarray, proba: np.ndarray, n_boot: int = 200, seed: int = 0,
                      level: float = 0.95) -> dict[str, tuple[float, float, float]]:
    """``{metric: (value, low, high)}``; resamples holding a single class are skipped. The resamples are
    drawn one by one from the seeded generator as they always were (same indices for the same seed), then
    scored all at once: a resample is a vector of counts per utterance, and every metric is a weighted sum
    over the test set (``resampled_metrics``), equal to scoring the resampled arrays (tests hold it so)."""
    y, proba = np.asarray(y), np.asarray(proba)
    point = point_metrics(y, proba)
    rng = np.random.default_rng(seed)
    n = len(y)
    counts = np.empty((n_boot, n), dtype=np.float64)
    for b in range(n_boot):
        counts[b] = np.bincount(rng.integers(n, size=n), minlength=n)
    step = max(1, BOOTSTRAP_CELLS // max(n, 1))
    parts = [resampled_metrics(y, proba, counts[first:first + step]) for first in range(0, n_boot, step)]
    alpha = (1 - level) / 2
    out = {}
    for m in METRICS:
        vals = np.concatenate([part[m] for part in parts]) if parts else np.empty(0)
        vals = vals[np.isfinite(vals)]
        lo, hi = (np.quantile(vals, [alpha, 1 - alpha]) if len(vals) else (np.nan, np.nan))
        out[m] = (point[m], float(lo), float(hi))
    return out


def resampled_metrics(y: np.ndarray, proba: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
    """``fast_metrics`` of many resamples at once, each given as how often it draws every utterance
    (``weights``: resamples × utterances). NaN for a resample holding a single class (the caller skips it).
    AUROC is the Mann-Whitney count (ties counted half) and AP the step-wise sum over tied-score groups,
    both weighted; the rest comes from each resample's weighted confusion counts."""
    n_classes = proba.shape[1]
    pred = proba.argmax(1)
    truth = np.eye(n_classes)[y]  # utterances × classes
    confusion = (weights @ np.eye(n_classes * n_classes)[y * n_classes + pred]).reshape(-1, n_classes, n_classes)
    n_true, n_pred = confusion.sum(2), confusion.sum(1)
    tp = np.diagonal(confusion, axis1=1, axis2=2)
    present = n_true > 0
    n_present = present.sum(1)
    keep = n_present >= 2
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(present, tp / n_true, 0.0)
        f1 = np.where(present, 2 * tp / (n_true + n_pred), 0.0)
        predicted_only = ((n_pred > 0) & ~present).sum(1)
        auroc, avprec = np.zeros(len(weights)), np.zeros(len(weights))
        for k in np.flatnonzero(truth.any(0)):
            a, p = _ranked_class(weights, truth[:, k].astype(bool), proba[:, k])
            auroc += np.where(present[:, k], a, 0.0)
            avprec += np.where(present[:, k], p, 0.0)
        out = {"auroc": auroc / n_present, "acc": tp.sum(1) / weights.sum(1), "f1": f1.sum(1) / n_present,
               "avprec": avprec / n_present, "uar": recall.sum(1) / n_present,
               "emobox_f1": f1.sum(1) / (n_present + predicted_only)}
    return {m: np.where(keep, v, np.nan) for m, v in out.items()}


def _ranked_class(weights: np.ndarray, positive: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One class's weighted AUROC and average precision for every resample (meaningful where the resample
    holds the class and another one). Weights are whole counts, so every sum below is exact in float64."""
    order = np.argsort(score, kind="mergesort")
    s = score[order]
    pos = weights[:, order] * positive[order]
    neg = weights[:, order] - pos
    if np.any(s[1:] == s[:-1]):  # tied scores: one group each, as the rank-based and step-wise forms take them
        starts = np.r_[0, np.flatnonzero(np.diff(s)) + 1]
        pos, neg = np.add.reduceat(pos, starts, axis=1), np.add.reduceat(neg, starts, axis=1)
    n_pos, n_neg = pos.sum(1), neg.sum(1)
    below = np.cumsum(neg, axis=1)
    below -= neg  # negatives scored strictly below each group
    auroc = (pos * (below + 0.5 * neg)).sum(1) / (n_pos * n_neg)
    tps = np.cumsum(pos, axis=1)
    np.subtract(n_pos[:, None] + pos, tps, out=tps)  # positives scored at or above each group
    taken = tps + (n_neg[:, None] - below)
    precision = np.divide(tps, taken, out=np.zeros_like(taken), where=taken > 0)
    return auroc, (pos * precision).sum(1) / n_pos  # recall rises by pos / n_pos at each group

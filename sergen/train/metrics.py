"""The poster's four metrics (AUROC macro one-vs-rest, ACC, macro F1, macro average precision) plus UAR
(EmoBox's "UA") and EmoBox's macro-F1 (``emobox_f1``: over the classes of the test set *and* of the
predictions, see ``sergen.train.emobox_metrics``), each with a seeded bootstrap 95% interval. EmoBox's WA is
``acc`` and its micro-F1 equals ``acc`` for single-label classification.

Each is one ``Metric`` registered below (``sergen.train.metric_base``): adding one is one more ``register``
here, and every run, the bootstrap, ``sergen compare --metric`` and the report's tables take it up.

Point values come from scikit-learn. The bootstrap recomputes them a few hundred times per test set and
grid cell, where scikit-learn's per-call checks dominate, so it uses numpy versions below (rank-based
AUROC, step-wise AP with ties grouped as scikit-learn does), scoring all resamples of a test set at once as
weighted sums; tests hold them equal to scikit-learn and to scoring each resample on its own. Classes absent
from a test set are left out of the macro averages (AUROC and AP are undefined for them), so a corpus
without, say, sad test items is still scored on the other three. scikit-learn and scipy are imported where
a value is computed, so the CLI reads this registry without them.
"""

from __future__ import annotations

import numpy as np

from sergen.train.metric_base import (METRICS, Metric, Resamples, TestSet, check_metric,  # noqa: F401
                                      metric_choices, register)


# ---------------------------------------------------------------- the metrics
def _accuracy(t: TestSet) -> float:
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(t.y, t.pred))


def _macro_f1(t: TestSet) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(t.y, t.pred, labels=t.present, average="macro", zero_division=0))


def _average_precision(t: TestSet) -> float:
    from sklearn.metrics import average_precision_score

    return t.per_class_mean(average_precision_score)


def _uar(t: TestSet) -> float:
    from sklearn.metrics import recall_score

    return float(recall_score(t.y, t.pred, labels=t.present, average="macro", zero_division=0))


def _emobox_f1(t: TestSet) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(t.y, t.pred, average="macro", zero_division=0))


def _ranked_sums(r: Resamples) -> tuple[np.ndarray, np.ndarray]:
    """Each resample's AUROC and average precision summed over the classes it holds (``_ranked_class``):
    AUROC and AP share the sorting, so both are made at once (``Resamples.shared``)."""
    truth = np.eye(r.proba.shape[1])[r.y]  # utterances × classes
    auroc, avprec = np.zeros(len(r.weights)), np.zeros(len(r.weights))
    for k in np.flatnonzero(truth.any(0)):
        a, p = _ranked_class(r.weights, truth[:, k].astype(bool), r.proba[:, k])
        auroc += np.where(r.present[:, k], a, 0.0)
        avprec += np.where(r.present[:, k], p, 0.0)
    return auroc, avprec


register(Metric(
    "auroc", "AUROC", "macro one-vs-rest AUROC over the classes present",
    point=lambda t: macro_auroc(t.y, t.proba), fast=lambda t: t.per_class_mean(binary_auroc),
    resampled=lambda r: r.shared(_ranked_sums)[0] / r.n_present, needs_proba=True, per_class_ranks=True,
    poster=True))
register(Metric(
    "acc", "ACC", "accuracy (EmoBox's WA and micro-F1)",
    point=_accuracy, fast=lambda t: float(np.mean(t.pred == t.y)),
    resampled=lambda r: r.tp.sum(1) / r.weights.sum(1), poster=True))
register(Metric(
    "f1", "F1", "macro F1 over the classes present",
    point=_macro_f1, fast=lambda t: float(np.mean(t.f1s)),
    resampled=lambda r: r.f1.sum(1) / r.n_present, poster=True))
register(Metric(
    "avprec", "AvPrec", "macro average precision over the classes present",
    point=_average_precision, fast=lambda t: t.per_class_mean(binary_average_precision),
    resampled=lambda r: r.shared(_ranked_sums)[1] / r.n_present, needs_proba=True, per_class_ranks=True,
    poster=True))
register(Metric(
    "uar", "UAR", "unweighted average recall over the classes present (EmoBox's UA)",
    point=_uar, fast=lambda t: float(np.mean(t.recalls)),
    resampled=lambda r: np.where(r.present, r.tp / r.n_true, 0.0).sum(1) / r.n_present))
register(Metric(
    "emobox_f1", "EmoBox F1", "EmoBox's macro F1, over the classes of the test set and of the predictions",
    point=_emobox_f1,
    fast=lambda t: float(np.sum(t.f1s) / (len(t.present) + len(np.setdiff1d(np.unique(t.pred), t.present)))),
    resampled=lambda r: r.f1.sum(1) / (r.n_present + ((r.n_pred > 0) & ~r.present).sum(1)), report=False))


# ---------------------------------------------------------------- every registered metric at once
def point_metrics(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Every metric's scikit-learn value on one test set."""
    scored = TestSet(y, proba)
    return {m.name: float(m.point(scored)) for m in METRICS.all()}


def fast_metrics(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Same values as ``point_metrics``, without scikit-learn's per-call overhead."""
    scored = TestSet(y, proba)
    return {m.name: float((m.fast or m.point)(scored)) for m in METRICS.all()}


def resampled_metrics(y: np.ndarray, proba: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
    """``fast_metrics`` of many resamples at once, each given as how often it draws every utterance
    (``weights``: resamples × utterances). NaN for a resample holding a single class (the caller skips it)."""
    resamples = Resamples(y, proba, weights)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {m.name: m.over_resamples(resamples) for m in METRICS.all()}
    keep = resamples.n_present >= 2
    return {m: np.where(keep, v, np.nan) for m, v in out.items()}


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
    step = max(1, BOOTSTRAP_CELLS // max(n, 1))
    parts = []
    for first in range(0, max(n_boot, 0), step):  # drawn in order, a block at a time: memory bounded by the block
        counts = np.empty((min(step, n_boot - first), n), dtype=np.float64)
        for b in range(len(counts)):
            counts[b] = np.bincount(rng.integers(n, size=n), minlength=n)
        parts.append(resampled_metrics(y, proba, counts))
    alpha = (1 - level) / 2
    out = {}
    for m in point:
        vals = np.concatenate([part[m] for part in parts]) if parts else np.empty(0)
        vals = vals[np.isfinite(vals)]
        lo, hi = (np.quantile(vals, [alpha, 1 - alpha]) if len(vals) else (np.nan, np.nan))
        out[m] = (point[m], float(lo), float(hi))
    return out


# ---------------------------------------------------------------- numeric kernels
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
    from sklearn.metrics import confusion_matrix

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
    from scipy.stats import rankdata

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

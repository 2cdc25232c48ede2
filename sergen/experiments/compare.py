"""Paired comparison of two runs on the test utterances both scored: is their difference real?

For one metric and one test corpus, on the utterances both runs scored (matched by id):

- the difference ``metric(A) − metric(B)``;
- its 95 % interval from a paired bootstrap (utterances resampled, both runs' scores kept together);
- a two-sided p-value by approximate randomisation (Noreen 1989): each utterance's pair of predictions is
  swapped between A and B with probability ½, and p = (1 + #{|d*| ≥ |d|}) / (1 + R). Under "A and B are
  exchangeable" this p is valid at any sample size (its false-positive rate at α is at most α; tests hold it
  near 5 % on two seeds of one model). For metrics that read each class's scores only through their order
  (AUROC, AP: ``per_class_ranks``) each run's scores are first replaced by their ranks within each class
  column: the metric's values are unchanged, and a swap no longer mixes two scales (a confident MLP's scores
  among a linear head's would lower both runs' swapped AUROC, widen the null and inflate p: p = 0.58 beside
  a bootstrap interval that excluded 0 on the demo);
- Holm's step-down correction across the comparisons of one table (:func:`holm`).

Two runs compare only under one protocol (same classes, labels, folds and protocol name) and on shared
utterances; anything else is refused before anything is computed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sergen.errors import SergenError
from sergen.experiments.run_scores import UtteranceScores, read_scores
from sergen.results import RunRecord, UnreadableRun, read_run
from sergen.train.metrics import METRICS, check_metric

N_RESAMPLES = 2000
PROTOCOL_KEYS = ("labels", "folds", "protocol")


@dataclass(frozen=True)
class PairedResult:
    test: str
    metric: str
    n: int  # utterances both runs scored
    value_a: float
    value_b: float
    difference: float
    low: float
    high: float
    p: float


def metric_of(metric: str, y: np.ndarray, proba: np.ndarray) -> float:
    """One metric alone, its exact fast value (``sergen.train.metrics``)."""
    return METRICS.get(metric).fast_value(y, proba)


def paired_test(y: np.ndarray, proba_a: np.ndarray, proba_b: np.ndarray, metric: str = "uar",
                n_resamples: int = N_RESAMPLES, seed: int = 0, level: float = 0.95) -> tuple[float, float, float, float]:
    """(difference, low, high, p) of ``metric(A) − metric(B)`` on the same utterances (see the module)."""
    metric = check_metric(metric)
    y, proba_a, proba_b = np.asarray(y), np.asarray(proba_a), np.asarray(proba_b)
    if METRICS.get(metric).per_class_ranks:  # same values, one scale for both runs (module docstring)
        proba_a, proba_b = column_ranks(proba_a), column_ranks(proba_b)
    diff = metric_of(metric, y, proba_a) - metric_of(metric, y, proba_b)
    rng = np.random.default_rng(seed)
    n = len(y)
    if metric in ("acc", "uar"):  # sums of per-utterance terms: both resamplings vectorised
        boots, flipped = _vectorised(metric, y, proba_a.argmax(1) == y, proba_b.argmax(1) == y, n_resamples, rng)
    else:
        boots, flipped = np.empty(n_resamples), np.empty(n_resamples)
        for r in range(n_resamples):
            idx = rng.integers(n, size=n)
            boots[r] = metric_of(metric, y[idx], proba_a[idx]) - metric_of(metric, y[idx], proba_b[idx])
            swap = rng.random(n) < 0.5
            a, b = np.where(swap[:, None], proba_b, proba_a), np.where(swap[:, None], proba_a, proba_b)
            flipped[r] = abs(metric_of(metric, y, a) - metric_of(metric, y, b))
    boots = boots[np.isfinite(boots)]
    alpha = (1 - level) / 2
    low, high = np.quantile(boots, [alpha, 1 - alpha]) if len(boots) else (np.nan, np.nan)
    p = (1 + np.sum(flipped >= abs(diff) - 1e-12)) / (1 + n_resamples)
    return float(diff), float(low), float(high), float(p)


def column_ranks(scores: np.ndarray) -> np.ndarray:
    """Each class column's scores as their ranks (ties averaged) over the number of utterances: the order
    within every column, and so AUROC and AP per class, exactly as before."""
    from scipy.stats import rankdata

    return rankdata(scores, axis=0) / max(len(scores), 1)


def _vectorised(metric: str, y: np.ndarray, right_a: np.ndarray, right_b: np.ndarray, n_resamples: int, rng,
                chunk: int = 250) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap differences and |randomised differences| of accuracy or UAR (mean recall over the classes
    present), in chunks of resamples to bound memory. A swap changes no class count, so UAR's randomised
    difference is Σ ± d_i / (K · n_{y_i})."""
    n = len(y)
    d = right_a.astype(float) - right_b.astype(float)
    classes, counts = np.unique(y, return_counts=True)
    weight = np.full(n, 1 / n) if metric == "acc" else 1 / (len(classes) * counts[np.searchsorted(classes, y)])
    boots, flipped = [], []
    for start in range(0, n_resamples, chunk):
        r = min(chunk, n_resamples - start)
        idx = rng.integers(n, size=(r, n))
        if metric == "acc":
            boots.append(d[idx].mean(1))
        else:
            recalls = []
            for k in classes:
                in_k = y[idx] == k
                with np.errstate(invalid="ignore", divide="ignore"):
                    recalls.append((d[idx] * in_k).sum(1) / in_k.sum(1))
            boots.append(np.nanmean(np.stack(recalls), axis=0))  # a class absent from a resample is left out
        flipped.append(np.abs((d * weight * rng.choice([-1.0, 1.0], size=(r, n))).sum(1)))
    return np.concatenate(boots), np.concatenate(flipped)


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error), in the input order."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    m = len(p)
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def protocol_of(record: RunRecord) -> dict:
    return {"classes": list(record.classes), **{k: record.spec.get(k) for k in PROTOCOL_KEYS}}


def check_comparable(a: RunRecord, b: RunRecord) -> None:
    pa, pb = protocol_of(a), protocol_of(b)
    differing = [k for k in pa if pa[k] != pb[k]]
    if differing:
        shown = "; ".join(f"{k}: {pa[k]} vs {pb[k]}" for k in differing)
        raise SergenError(f"runs {a.run_id} and {b.run_id} were made under different protocols or label sets ({shown})",
                          fix="compare runs made with the same --labels/--folds/--protocol: their utterances and "
                              "classes must mean the same")


def shared_utterances(a: UtteranceScores, b: UtteranceScores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels, proba_a, proba_b) on the utterance ids both hold (each id's first copy), in id order."""
    ids, ia, ib = np.intersect1d(a.utt_id, b.utt_id, return_indices=True)
    return a.label[ia], a.proba[ia], b.proba[ib]


def load_pair(run_a: str, run_b: str, results_dir=None):
    out = []
    for run_id in (run_a, run_b):
        try:
            _, record = read_run(run_id, results_dir)
        except UnreadableRun as exc:
            raise SergenError(f"run {run_id}: {exc.path.name} is {exc.reason}", where=str(exc.path),
                              fix="name a run of `results/runs/` (its file name without .csv)") from None
        try:
            scores = read_scores(record.run_id, results_dir)
        except ValueError as exc:
            raise SergenError(f"the scores of run {run_id} are unreadable: {exc}",
                              fix=f"rerun it (`sergen probe --rerun {run_id}`)") from None
        if scores is None:
            raise SergenError(f"run {run_id} kept no per-utterance scores (made by an older sergen)",
                              fix=f"rerun it (`sergen probe --rerun {run_id}`): runs now keep <run_id>.scores.npz")
        out.append((record, scores))
    return out


def compare_runs(run_a: str, run_b: str, metric: str = "uar", results_dir=None, n_resamples: int = N_RESAMPLES,
                 seed: int = 0) -> pd.DataFrame:
    """One row per test corpus both runs scored: n, both values, difference, interval, p and Holm's p
    across the rows."""
    metric = check_metric(metric)
    (rec_a, sc_a), (rec_b, sc_b) = load_pair(run_a, run_b, results_dir)
    check_comparable(rec_a, rec_b)
    results = []
    for corpus in sorted(set(sc_a) & set(sc_b)):
        y, pa, pb = shared_utterances(sc_a[corpus], sc_b[corpus])
        if not len(y):
            continue
        if not np.array_equal(y, shared_utterances(sc_b[corpus], sc_a[corpus])[0]):
            raise SergenError(f"runs {run_a} and {run_b} give the same {corpus} utterances other classes",
                              fix="compare runs of one manifest and label set")
        diff, low, high, p = paired_test(y, pa, pb, metric, n_resamples, seed)
        results.append(PairedResult(corpus, metric, len(y), metric_of(metric, y, pa), metric_of(metric, y, pb),
                                    diff, low, high, p))
    if not results:
        raise SergenError(f"runs {run_a} and {run_b} share no test utterances (tests: "
                          f"{', '.join(sorted(sc_a)) or '-'} vs {', '.join(sorted(sc_b)) or '-'})",
                          fix="compare runs tested on the same corpus and split")
    table = pd.DataFrame([r.__dict__ for r in results])
    table["p_holm"] = holm(table["p"])
    return table

"""Calibration under shift: does a head's confidence match its accuracy on a corpus it was not trained on?

Expected calibration error (ECE, Guo et al. 2017): the top-class confidence of each utterance falls into one
of ``n_bins`` equal-width bins of (0, 1]; ECE is the utterance-weighted mean gap |accuracy − confidence| over
the bins. The reliability table holds each bin's count, mean confidence and accuracy: the diagram's points."""

from __future__ import annotations

import numpy as np
import pandas as pd

N_BINS = 10


def confidence_bins(confidence: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """Bin index of each confidence: bin b holds (b/n, (b+1)/n]; a confidence of 0 goes to bin 0."""
    return np.clip(np.ceil(np.asarray(confidence, dtype=float) * n_bins).astype(int) - 1, 0, n_bins - 1)


def reliability_table(y: np.ndarray, proba: np.ndarray, n_bins: int = N_BINS) -> pd.DataFrame:
    """One row per bin: ``low``, ``high``, ``count``, ``confidence`` (mean), ``accuracy`` (NaN when empty)."""
    proba = np.asarray(proba, dtype=float)
    confidence, correct = proba.max(1), (proba.argmax(1) == np.asarray(y)).astype(float)
    bins = confidence_bins(confidence, n_bins)
    count = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(bins, confidence, n_bins) / count
        accuracy = np.bincount(bins, correct, n_bins) / count
    edges = np.arange(n_bins + 1) / n_bins
    return pd.DataFrame({"low": edges[:-1], "high": edges[1:], "count": count,
                         "confidence": mean_conf, "accuracy": accuracy})


def expected_calibration_error(y: np.ndarray, proba: np.ndarray, n_bins: int = N_BINS) -> float:
    """Σ_b (n_b / N) · |accuracy_b − confidence_b| over the non-empty bins."""
    table = reliability_table(y, proba, n_bins)
    used = table[table["count"] > 0]
    if used.empty:
        return float("nan")
    gaps = (used["accuracy"] - used["confidence"]).abs()
    return float((used["count"] * gaps).sum() / used["count"].sum())

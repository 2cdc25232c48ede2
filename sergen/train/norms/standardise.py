"""Standardisation by group, a remedy for corpus fragmentation: each corpus (or speaker) standardised by its
own statistics, so a per-corpus offset or scale in the embedding cannot separate corpora.

- ``global`` (the poster's): one mean and std, the training pool's, inside the head (``Standardise``).
- ``corpus``: a training corpus by the statistics of its training utterances; a test corpus outside the
  training set by those of *all* its utterances, read without their labels — transductive, and said so
  wherever such numbers are shown.
- ``speaker``: each (corpus, speaker) by the statistics of that speaker's utterances in the split being
  normalised (training rows for training windows; a test speaker's test utterances, transductively).

A group's statistics are those of all its frames, pooled from the utterances' means and stds
(``framebank.pooled_stats``). Frames ``(x − μ_g) / σ_g`` have a window mean ``(m − μ_g) / σ_g`` and a window
std of exactly ``s / σ_g`` (the offset cancels), so the std half of mean+std pooling is divided, never shifted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sergen.errors import SergenError
from sergen.train.framebank import pooled_stats
from sergen.train.norms.base import Normalisation, register


@dataclass(frozen=True)
class ShiftScale:
    """Per group: ``(x − mean_g) / std_g`` (float32, as the poster's standardisation)."""

    names: np.ndarray  # (G,)
    mean: np.ndarray  # (G, D)
    std: np.ndarray  # (G, D)

    def apply(self, x, group):
        return (x - self.mean[group]) / self.std[group]

    def apply_std(self, std, group):
        return std / self.std[group]

    def head_statistics(self, mean, std):
        return np.zeros_like(mean), np.ones_like(std)


def fit_groups(keys: np.ndarray, mean: np.ndarray, std: np.ndarray, length: np.ndarray) -> ShiftScale:
    """Each group's mean and std pooled over its utterances' frames."""
    names, index = np.unique(np.asarray(keys).astype(str), return_inverse=True)
    g_mean = np.empty((len(names), mean.shape[1]), np.float32)
    g_std = np.empty_like(g_mean)
    for g in range(len(names)):
        rows = index == g
        g_mean[g], g_std[g] = pooled_stats(mean[rows], std[rows], length[rows])
    return ShiftScale(names, g_mean, g_std)


@register("global")
class Global(Normalisation):
    help = "the training pool's statistics, inside the head (the poster's)"
    grouped = False

    def fit(self, keys, mean, std, length):
        return None


@register("corpus")
class ByCorpus(Normalisation):
    help = "each corpus by its own statistics"
    transductive = True

    def fit(self, keys, mean, std, length):
        return fit_groups(keys, mean, std, length)

    def evaluation_map(self, fitted, rows, every, in_training):
        if in_training:
            return fitted
        utts = every()
        return fit_groups(self.keys(utts.corpus, utts.speaker), utts.mean, utts.std, utts.length)


@register("speaker")
class BySpeaker(Normalisation):
    help = "each speaker by its own statistics"
    transductive = True

    def keys(self, corpus, speakers):
        missing = np.asarray([not s for s in speakers])
        if missing.any():
            raise SergenError(f"--norm speaker: {int(missing.sum())} utterance(s) of {corpus} have no speaker",
                              fix="use --norm corpus, or give the manifest a speaker column")
        return np.array([f"{corpus}/{s}" for s in speakers], dtype=object)

    def transductive_note(self, train, test):
        return "--norm speaker: each test speaker standardised by the statistics of their own test utterances " \
               "(transductive)"

    def fit(self, keys, mean, std, length):
        return fit_groups(keys, mean, std, length)

    def evaluation_map(self, fitted, rows, every, in_training):
        return fit_groups(self.keys(rows.corpus, rows.speaker), rows.mean, rows.std, rows.length)

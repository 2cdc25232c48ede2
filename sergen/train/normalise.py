"""Feature normalisation by group (``--norm``), a remedy for corpus fragmentation: each corpus (or speaker)
standardised by its own statistics, so a per-corpus offset or scale in the embedding cannot separate corpora.

- ``global`` (the poster's): one mean and std, the training pool's, inside the head (``Standardise``).
- ``corpus``: a training corpus by the statistics of its training utterances; a test corpus outside the
  training set by those of *all* its utterances, read without their labels — transductive, and said so
  wherever such numbers are shown.
- ``speaker``: each (corpus, speaker) by the statistics of that speaker's utterances in the split being
  normalised (training rows for training windows; a test speaker's test utterances, transductively).

Statistics come from the stores' per-utterance means and standard deviations (``pooled_stats``), never from
a pass over the frames. A window is normalised by its own utterance's group; a mixed window's partner is drawn
from the same class *and group*, so the whole window shares one group's statistics (exact, not approximate).
"""

from __future__ import annotations

import numpy as np

from sergen.errors import SergenError
from sergen.train.framebank import pooled_stats

NORMS = ("global", "corpus", "speaker")


def check_norm(norm: str) -> str:
    if norm not in NORMS:
        raise SergenError(f"unknown --norm {norm!r}; known: {', '.join(NORMS)}",
                          fix="global (the training pool's statistics), corpus or speaker")
    return norm


def group_keys(norm: str, corpus: str, speakers: np.ndarray) -> np.ndarray:
    """The group of each row: its corpus, or its (corpus, speaker)."""
    if norm == "corpus":
        return np.full(len(speakers), corpus, dtype=object)
    missing = np.asarray([not s for s in speakers])
    if missing.any():
        raise SergenError(f"--norm speaker: {int(missing.sum())} utterance(s) of {corpus} have no speaker",
                          fix="use --norm corpus, or give the manifest a speaker column")
    return np.array([f"{corpus}/{s}" for s in speakers], dtype=object)


def group_stats(keys: np.ndarray, means: np.ndarray, stds: np.ndarray, lengths: np.ndarray):
    """(sorted unique keys, per-key mean [G, D], per-key std [G, D]) pooled over each key's utterances."""
    names, index = np.unique(keys.astype(str), return_inverse=True)
    mean = np.empty((len(names), means.shape[1]), np.float32)
    std = np.empty_like(mean)
    for g in range(len(names)):
        rows = index == g
        mean[g], std[g] = pooled_stats(means[rows], stds[rows], lengths[rows])
    return names, index, mean, std


def normalise_rows(x: np.ndarray, keys: np.ndarray, means: np.ndarray, stds: np.ndarray, lengths: np.ndarray,
                   stats: dict | None = None, scale_only: bool = False) -> np.ndarray:
    """Utterance vectors standardised by their group's statistics: ``stats`` (key → (mean, std)) where given,
    else pooled from the rows themselves. ``scale_only``: divided by the group's std, not shifted — what
    standardising the frames does to an utterance's std (mean+std pooling, ``sergen.train.pooling``)."""
    if stats is None:
        names, index, mean, std = group_stats(keys, means, stds, lengths)
        return (x if scale_only else x - mean[index]) / std[index]
    out = np.empty_like(x, dtype=np.float32)
    for key in np.unique(keys.astype(str)):
        rows = keys.astype(str) == key
        m, s = stats[key]
        out[rows] = (x[rows] if scale_only else x[rows] - m) / s
    return out

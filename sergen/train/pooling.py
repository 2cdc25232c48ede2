"""How a window of frames becomes the head's input (``--pool``): ``mean`` (the poster's: the window's
per-feature mean, D values) or ``mean+std`` (statistics pooling: the mean and the population standard
deviation of the window's frames, ``[mean, std]``, 2×D values).

The choices, and why each is exact rather than approximate:

- *Windows* (training): the std comes from a second prefix table of sums of squares
  (``framebank.StoreBank.squares``): ``std = sqrt(max(E[x²] − mean², 0))`` over the frames the window keeps,
  from the same four rows per window as its mean. Masked runs are removed from both sums, so the std is that
  of exactly the frames the mean averages.
- *Mixing* (``mix_prob``): a mixed sample is already the *union* of the frames of its two windows (its mean is
  the mean of all their frames, not the average of two means). Its std is the std of that union, which the two
  tables give exactly: ``E[x²]`` of the union is ``(Q_a + Q_b) / (n_a + n_b)``. Mixing the two pooled
  ``[mean, std]`` vectors linearly would not be the std of any set of frames (it misses the spread between the
  two windows' means), so it is not used.
- *Noise* (``noise_std``): Gaussian noise is added to the pooled vector, in units of each input's own
  standardisation scale (the std half's scale for the std half), as for the mean.
- *Normalisation groups* (``--norm corpus|speaker``): frames ``(x − μ_g) / σ_g`` have a window mean
  ``(m − μ_g) / σ_g`` and a window std of exactly ``s / σ_g`` (the offset cancels), so the std half is divided
  by its group's std and never shifted.
- *Evaluation*: valid and test utterances are ``[utterance mean, utterance std]`` from the store's
  per-utterance summaries (no pass over the frames), normalised as above.
- *Standardisation inside the head*: the mean half by the training frames' statistics (as before); the std
  half by the mean and spread *across training utterances* of their (group-normalised) utterance stds, from
  the same store summaries — the std of a feature has no frame-level distribution to take them from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sergen.errors import SergenError
from sergen.registry import Registry


@dataclass(frozen=True)
class Pooling:
    """One ``--pool``: what it needs from the bank (``squares``: the sums-of-squares table), how many values
    per feature it gives the head (``halves``: the mean first, then statistics a normalisation maps as a
    std), and how it turns a window, an utterance and the training pool's statistics into the head's input."""

    name: str
    help: str  # one line: the CLI's help, the errors
    squares: bool = False
    halves: int = 1

    def window(self, bank, entry, first, end, weight, window, n: int) -> list[np.ndarray]:
        """The halves of ``n`` windows from the bank's weighted unit queries (``FrameBank.unit_sum``)."""
        return [bank.unit_sum(entry, first, end, weight, window, n)]

    def utterance(self, mean: np.ndarray, std) -> list[np.ndarray]:
        """The halves of utterance vectors from the store's per-utterance mean and ``std()`` (read on demand)."""
        return [mean]

    def head_statistics(self, mean: np.ndarray, std: np.ndarray, utterance_stds) -> tuple[np.ndarray, np.ndarray]:
        """The head's standardisation of all halves, given the mean half's and the training utterances'
        (normalised) stds, ``utterance_stds()``."""
        return mean, std


@dataclass(frozen=True)
class MeanStd(Pooling):
    """Statistics pooling: ``[mean, std]`` of the window's frames (see the module's notes)."""

    squares: bool = True
    halves: int = 2

    def window(self, bank, entry, first, end, weight, window, n):
        x, mean_square = bank.unit_moments(entry, first, end, weight, window, n)
        return [x, window_std(x, mean_square)]

    def utterance(self, mean, std):
        return [mean, std()]

    def head_statistics(self, mean, std, utterance_stds):
        std_mean, std_std = std_half_stats(utterance_stds())
        return np.concatenate([mean, std_mean]), np.concatenate([std, std_std])


POOLS: Registry[Pooling] = Registry("pooling")
for _pooling in (Pooling("mean", "the window's mean (the poster's)"),
                 MeanStd("mean+std", "the window's mean and standard deviation (2×D inputs)")):
    POOLS.register(_pooling.name)(_pooling)


def pooling(pool: str) -> Pooling:
    return POOLS.get(check_pool(pool))


def check_pool(pool: str) -> str:
    """``pool`` when it is a registered pooling's name (exactly: a name is part of the run id)."""
    if pool not in POOLS.names():
        raise SergenError(f"unknown --pool {pool!r}; known: {', '.join(POOLS.names())}",
                          fix="; ".join(f"{n}: {POOLS.get(n).help}" for n in POOLS.names()))
    return pool


def uses_squares(pool: str) -> bool:
    """Whether windows of this pooling need the sums-of-squares table."""
    return POOLS.get(pool).squares


def input_dim(pool: str, dim: int) -> int:
    return POOLS.get(pool).halves * dim


def window_std(mean: np.ndarray, mean_square: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Population std from ``E[x]`` and ``E[x²]``; float32 rounding can make the difference a hair below 0.
    In one buffer (``out``, e.g. the std half of the batch): four temporaries of a batch cost more than the
    gather of ``E[x²]`` did."""
    out = np.multiply(mean, mean, out=out)
    np.subtract(mean_square, out, out=out)
    np.maximum(out, 0.0, out=out)
    return np.sqrt(out, out=out)


def std_half_stats(stds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The head's standardisation of the std half: mean and spread across utterances of their stds (each
    utterance once), the spread floored so a constant feature divides by 1, not by 0."""
    stds = np.asarray(stds, np.float64)
    spread = stds.std(0) if len(stds) > 1 else np.ones(stds.shape[1])
    return stds.mean(0).astype(np.float32), np.where(spread > 1e-6, spread, 1.0).astype(np.float32)

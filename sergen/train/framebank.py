"""Training frames held in RAM as per-utterance prefix sums, so that the mean of any window of frames
costs O(D) whatever its length: ``sum(frames[s:e]) = P[e] - P[s]``.

Why not read the store per sample: measured on this project's 2-core machine, a random window read
from Zarr per sample runs at ~210 windows/s, a per-utterance ``.npy`` load ~2,900/s, and prefix sums
vectorised over a batch ~470,000/s (DESIGN.md §4). Prefix sums restart at every utterance, so float32
rounding stays at the scale of one utterance, not of the whole corpus.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass
class FrameBank:
    """Prefix sums ``P`` (rows: for each utterance, a zero row then its running sums) and per-entry
    index arrays. An *entry* is one (utterance, view) pair; ``utt_key`` ties views of an utterance."""

    prefix: np.ndarray  # (n_frames + n_entries, D) float32
    base: np.ndarray  # (n_entries,) row of each entry's zero row in ``prefix``
    length: np.ndarray  # (n_entries,) frames per entry
    label: np.ndarray  # (n_entries,) class index
    corpus: np.ndarray  # (n_entries,) corpus index
    utt_key: np.ndarray  # (n_entries,) utterance index (shared by its views)
    is_clean: np.ndarray  # (n_entries,) bool
    feature_mean: np.ndarray  # (D,) over all clean frames
    feature_std: np.ndarray  # (D,)

    @property
    def dim(self) -> int:
        return self.prefix.shape[1]

    def window_sum(self, entry: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
        """Sum of frames ``[start, stop)`` of each entry, vectorised over the batch."""
        b = self.base[entry]
        return self.prefix[b + stop] - self.prefix[b + start]

    def window_mean(self, entry, start, stop) -> np.ndarray:
        return self.window_sum(entry, start, stop) / (stop - start)[:, None]


def build_framebank(frames_list, labels, corpora, utt_keys, clean, lengths=None, allocate=None) -> FrameBank:
    """From per-entry frame arrays ``[T_i, D]`` (any float dtype). ``frames_list`` may be a generator
    (entries streamed from a store) when ``lengths`` is given, so only the bank itself is held in RAM.
    ``allocate(shape)`` returns the zeroed float32 prefix array (default: in RAM; a memory-mapped file
    keeps it off the process's heap)."""
    if lengths is None:
        frames_list = list(frames_list)
        lengths = np.array([len(f) for f in frames_list], dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    frames_iter = iter(frames_list)
    first = next(frames_iter)
    dim = first.shape[1]
    frames_iter = itertools.chain([first], frames_iter)
    base = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    shape = (int((lengths + 1).sum()), dim)
    prefix = allocate(shape) if allocate else np.zeros(shape, dtype=np.float32)
    total = np.zeros(dim, np.float64)
    total_sq = np.zeros(dim, np.float64)
    n_clean = 0
    for n, b, frames, is_clean in zip(lengths, base, frames_iter, clean):
        if len(frames) != n:
            raise ValueError(f"entry at prefix row {b} has {len(frames)} frames, {n} were declared")
        f32 = frames.astype(np.float32, copy=False)
        np.cumsum(f32, axis=0, out=prefix[b + 1:b + 1 + len(frames)])
        if is_clean:
            total += f32.sum(0, dtype=np.float64)
            total_sq += np.square(f32, dtype=np.float64).sum(0)
            n_clean += len(frames)
    mean = total / max(n_clean, 1)
    std = np.sqrt(np.maximum(total_sq / max(n_clean, 1) - mean**2, 1e-12))
    return FrameBank(prefix, base.astype(np.int64), lengths, np.asarray(labels, np.int64),
                     np.asarray(corpora, np.int64), np.asarray(utt_keys, np.int64), np.asarray(clean, bool),
                     mean.astype(np.float32), std.astype(np.float32))

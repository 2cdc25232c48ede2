"""The frame-sequence stream (issue 25): windows of frames for the heads that see frames (``attn``, ``cnn``),
drawn exactly as the mean stream draws them (``sampler.WindowSampler``: class first, corpus first, views
with ``aug_share``, the same window lengths and seeds), but handed over as sequences, not means.

Where the frames come from, and why: the same bank files the mean stream reads (``framebank``), never a
per-file loader. A bank holds float32 prefix sums every ``BANK_STEP`` (2) frames, so the difference of two
consecutive prefix rows is the sum of one pair of frames: a sequence here is a sequence of *units*, each
the mean of two consecutive stored frames (the last unit of an odd-length utterance: its last frame). A
head therefore sees frames at half the store's frame rate (melspec 100 Hz → 50 units/s, WavLM 50 Hz → 25,
Phi-4 12.5 Hz → 6.25) — the grid every window and masked run of the mean stream already lies on — and no
second copy of the frames is made or kept.

The poster's methods become what they say:

- *frame masking*: two runs of units per window (one in each half, the mean stream's rule and lengths) are
  masked out: ``mask`` is False there, so an attentive head gives them no weight and a CNN sees zeros (the
  training mean, after its standardisation), SpecAugment-style;
- *same-label mixing*: the partner's window (same class, same normalisation group) is *joined* after the
  anchor's, one sequence of both utterances' frames;
- *gaussian noise*: on every unit, in units of each feature's standard deviation.

Batches are padded to their longest sequence with a mask (``FrameBatch``). They are drawn one batch per
call (the mean stream draws ``PREFETCH`` batches at once; here a batch is already T times larger).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from sergen.train.framebank import BANK_STEP, FrameBank, StoreBank, units_of
from sergen.train.sampler import WindowSampler

MIN_UNITS = 4  # a sequence head needs windows of at least this many units (8 frames) to weigh frames at all
LENGTH_BUCKETS = 4  # a training batch's forward pass in this many groups of similar length (``FrameBatch.buckets``)


@dataclass
class FrameBatch:
    """Padded sequences: ``frames[i, :]`` holds sequence i's units, ``mask[i, t]`` whether unit t is a kept
    frame (False: padding or a masked run)."""

    frames: np.ndarray  # [B, T, D] float32
    mask: np.ndarray  # [B, T] bool
    lengths: np.ndarray | None = None  # [B] units of each sequence, masked runs included (None: T each)

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, rows) -> "FrameBatch":
        lengths = None if self.lengths is None else self.lengths[rows]
        return FrameBatch(self.frames[rows], self.mask[rows], lengths)

    def buckets(self, n: int = LENGTH_BUCKETS) -> list[tuple[np.ndarray, "FrameBatch"]]:
        """The rows in up to ``n`` groups of similar length (equal counts, shortest first), each cut to its own
        longest sequence: (rows, batch) per group. Why: a batch is padded to its longest sequence, and with
        windows of 1–3 s, a fifth of them joined to a partner's, that is ~2.5× the mean length — the sequence
        heads' cost grows with the padded length, the padding being masked out, not skipped."""
        lengths = self.lengths if self.lengths is not None else np.full(len(self), self.frames.shape[1])
        order = np.argsort(lengths, kind="stable")
        out = []
        for rows in np.array_split(order, min(n, len(order))):
            t = int(lengths[rows].max())
            out.append((rows, FrameBatch(self.frames[rows, :t], self.mask[rows, :t], lengths[rows])))
        return out

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.from_numpy(np.ascontiguousarray(self.frames)), torch.from_numpy(np.ascontiguousarray(self.mask))


def model_inputs(x) -> tuple:
    """The arguments of a head's forward: ``(vectors,)`` for a mean head, ``(frames, mask)`` for a batch of
    sequences."""
    if isinstance(x, FrameBatch):
        return x.tensors()
    return (torch.from_numpy(np.asarray(x, np.float32)),)


def ranges(counts: np.ndarray) -> np.ndarray:
    """0…n-1 for each n in ``counts``, concatenated."""
    counts = np.asarray(counts, np.int64)
    return np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)


def store_units(store: StoreBank, utt: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Unit ``k`` of utterance ``utt`` of one store bank (one row per query): the mean of its frames, from
    two consecutive prefix rows."""
    utt, k = np.asarray(utt, np.int64), np.asarray(k, np.int64)
    hi = store.base[utt] + k + 1
    lo = np.where(k == 0, 0, store.base[utt] + k)  # unit 0 starts at the zero row
    count = np.minimum((k + 1) * BANK_STEP, store.length[utt]) - k * BANK_STEP
    out = store.rows(hi) - store.rows(lo)  # from the bank file where it is mapped (``bank_rows``)
    out /= count[:, None].astype(np.float32)
    return out


def bank_units(bank: FrameBank, entry: np.ndarray, k: np.ndarray) -> np.ndarray:
    """:func:`store_units` for entries of a training set (several store banks)."""
    entry, k = np.asarray(entry, np.int64), np.asarray(k, np.int64)
    if len(bank.banks) == 1:
        return store_units(bank.banks[0], bank.utt[entry], k)
    out = np.empty((len(entry), bank.dim), np.float32)
    which = bank.bank_index[entry]
    for b in np.unique(which):
        sel = np.flatnonzero(which == b)
        out[sel] = store_units(bank.banks[b], bank.utt[entry[sel]], k[sel])
    return out


def mask_runs(sizes: np.ndarray, mask_frac: float, rng: np.random.Generator):
    """The mean stream's masking rule on windows of ``sizes`` units: a run of ``floor(size · mask_frac / 2 + U)``
    units in each half of a window where it fits. Returns (window, first unit, end unit) per run, relative to
    the window's start."""
    sizes = np.asarray(sizes, np.int64)
    n = len(sizes)
    windows, firsts, ends = [], [], []
    if mask_frac <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    run = np.floor(sizes * mask_frac / 2 + rng.random(n)).astype(np.int64)
    half = sizes // 2
    for lo, span in ((np.zeros(n, np.int64), half), (half, sizes - half)):
        ok = np.flatnonzero((run > 0) & (span > run))
        if not len(ok):
            continue
        r0 = lo[ok] + (rng.random(len(ok)) * (span[ok] - run[ok] + 1)).astype(np.int64)
        windows.append(ok), firsts.append(r0), ends.append(r0 + run[ok])
    if not windows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(windows), np.concatenate(firsts), np.concatenate(ends)


def pad(values: np.ndarray, keep: np.ndarray, lengths: np.ndarray) -> FrameBatch:
    """Flat rows (sequence after sequence, ``lengths`` each) → a padded ``FrameBatch``."""
    n, t = len(lengths), int(lengths.max()) if len(lengths) else 0
    frames = np.zeros((n, t, values.shape[1]), np.float32)
    mask = np.zeros((n, t), bool)
    row = np.repeat(np.arange(n), lengths)
    pos = ranges(lengths)
    frames[row, pos] = values
    mask[row, pos] = keep
    return FrameBatch(frames, mask, np.asarray(lengths, np.int64))


class FrameSampler(WindowSampler):
    """The mean stream's draws, handed over as padded sequences of units (see the module's docstring)."""

    def draw(self, n: int) -> tuple[FrameBatch, np.ndarray]:
        classes = self.draw_classes(n)
        entries = self.pick_views(self.draw_utterances(classes))
        k0, k1 = self.draw_windows(entries)
        seg_sample, seg_entry, seg_k0, seg_k1 = np.arange(n), entries, k0, k1
        mix = np.flatnonzero(self.rng.random(n) < self.cfg.mix_prob)
        if len(mix):  # the partner's window joined after the anchor's
            partners = self.pick_views(self.draw_partners(classes[mix], entries[mix]))
            p0, p1 = self.draw_windows(partners)
            seg_sample = np.concatenate([seg_sample, mix])
            seg_entry, seg_k0, seg_k1 = (np.concatenate(p) for p in ((entries, partners), (k0, p0), (k1, p1)))
            order = np.argsort(seg_sample, kind="stable")  # anchor first, then its partner
            seg_sample, seg_entry, seg_k0, seg_k1 = seg_sample[order], seg_entry[order], seg_k0[order], seg_k1[order]
        sizes = seg_k1 - seg_k0
        keep = np.ones(int(sizes.sum()), bool)
        seg_start = np.cumsum(sizes) - sizes  # each window's first row in the flat rows
        w, r0, r1 = mask_runs(sizes, self.cfg.mask_frac, self.rng)
        if len(w):
            run = r1 - r0
            keep[np.repeat(seg_start[w] + r0, run) + ranges(run)] = False
        row_entry = np.repeat(seg_entry, sizes)
        values = bank_units(self.bank, row_entry, np.repeat(seg_k0, sizes) + ranges(sizes))
        if self.bank.group is not None:  # each frame by its utterance's group (a partner shares the anchor's)
            g = self.bank.group[row_entry]
            values = self.bank.group_map.apply(values, g)
        if self.cfg.noise_std > 0:
            pool = self.noise_pool
            at = int(self.rng.integers(len(pool)))
            values += np.take(pool, np.arange(at, at + len(values)), axis=0, mode="wrap")
        self.drawn = (seg_sample, seg_entry, seg_k0, seg_k1, keep)  # what was drawn, for tests and checks
        self.drawn_corpus = self.bank.corpus[entries]
        lengths = np.bincount(seg_sample, weights=sizes, minlength=n).astype(np.int64)
        return pad(values.astype(np.float32, copy=False), keep, lengths), classes

    def sample(self, batch_size: int) -> tuple[FrameBatch, np.ndarray]:
        x, y = self.draw(batch_size)
        self.last_corpus = self.drawn_corpus
        return x, y


class LazyFrames:
    """Whole utterances read when scored (``UtteranceFrames``, ``UtteranceFrameSets``)."""

    def apply(self, fn) -> np.ndarray:
        raise NotImplementedError


class UtteranceFrames(LazyFrames):
    """Whole utterances of one store bank as sequences of units, read lazily in chunks of similar length
    (sorted by length: little padding), so a test set larger than RAM is scored chunk by chunk. ``group_map``
    and ``group`` (one per utterance): the frames' normalisation (a fitted ``--norm``, each frame mapped with its
    utterance's group; None: ``global``, the head's own standardisation only)."""

    def __init__(self, store: StoreBank, utts: np.ndarray, group_map=None, group: np.ndarray | None = None,
                 chunk_bytes: int = 64 * 2**20):
        self.store, self.utts = store, np.asarray(utts, np.int64)
        self.group_map, self.group, self.chunk_bytes = group_map, group, chunk_bytes

    def __len__(self) -> int:
        return len(self.utts)

    def __getitem__(self, rows) -> "UtteranceFrames":
        pick = lambda a: None if a is None else a[rows]  # noqa: E731
        return UtteranceFrames(self.store, self.utts[rows], self.group_map, pick(self.group), self.chunk_bytes)

    @property
    def units(self) -> np.ndarray:
        return units_of(self.store.length[self.utts])

    def chunks(self):
        """(rows of this set, FrameBatch) in order of length."""
        units = self.units
        order = np.argsort(units, kind="stable")
        at = 0
        while at < len(order):
            stop = at + 1  # sorted: the last row added is the longest, so it sets the padded size
            while stop < len(order) and (stop - at + 1) * units[order[stop]] * self.store.dim * 4 <= self.chunk_bytes:
                stop += 1
            rows = order[at:stop]
            n = units[rows]
            values = store_units(self.store, np.repeat(self.utts[rows], n), ranges(n))
            if self.group_map is not None:
                values = self.group_map.apply(values, np.repeat(self.group[rows], n))
            yield rows, pad(values.astype(np.float32, copy=False), np.ones(len(values), bool), n)
            at = stop

    def apply(self, fn) -> np.ndarray:
        """``fn(FrameBatch) → [b, K]`` over every chunk, rows back in this set's order."""
        out = None
        for rows, batch in self.chunks():
            part = fn(batch)
            if out is None:
                out = np.empty((len(self), part.shape[1]), part.dtype)
            out[rows] = part
        return out if out is not None else np.zeros((0, 0), np.float32)


class UtteranceFrameSets(LazyFrames):
    """Several stores' utterances as one set (a multi-corpus validation set), in order."""

    def __init__(self, parts: list[UtteranceFrames]):
        self.parts = list(parts)

    def __len__(self) -> int:
        return sum(len(p) for p in self.parts)

    def apply(self, fn) -> np.ndarray:
        return np.concatenate([p.apply(fn) for p in self.parts])

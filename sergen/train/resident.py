"""Windows from banks larger than the RAM budget (DESIGN.md §4: "a chunk-aware scheme, not per-sample reads").

WavLM-Large on MSP-Podcast is ~40 GiB of float16 frames per layer at 50 Hz; its bank, the same size, is
memory-mapped from disk.
Drawing windows from all of it at random would fault a page in from disk for almost every sample.
Instead the sampler draws from a *resident subset*: a class × corpus stratified random share of the
training set's utterances (with their augmented views), copied into RAM in one sorted pass over each
bank file; every ``rotate_every`` batches a quarter of it is swapped for utterances not resident. Within
a subset everything is as before (class first, corpus, utterance, view, window, mixing, masking, noise);
across subsets every utterance gets its turn. The subset is read with plain file reads, not through the
mapping, so the pages it came from never count as this process's memory. The subset's size is this
process's share of the RAM budget (``set_ram_budget``, which the grid's memory plan calls in each worker;
else the whole ``SERGEN_RAM_MIB`` budget); a training set within it is sampled whole, through the page cache.
"""

from __future__ import annotations

import math

import numpy as np

from sergen.config import ram_budget_mib
from sergen.train.bank_rows import read_rows
from sergen.train.framebank import FrameBank, StoreBank, units_of
from sergen.train.pooling import uses_squares
from sergen.train.sampler import SamplerConfig, WindowSampler

ROTATE_EVERY = 100  # batches between rotations
REPLACE_SHARE = 0.25  # of the resident utterances swapped at each rotation: a quarter of the budget re-read
_PROCESS_BUDGET: list[int] = []  # set by the grid's memory plan in each worker


def set_ram_budget(budget_bytes: int | None) -> None:
    """This process's share of the memory budget for training frames (None: the whole budget)."""
    _PROCESS_BUDGET[:] = [] if budget_bytes is None else [int(budget_bytes)]


def planned_by_grid() -> bool:
    """This process's budget came from a grid's memory plan (which already said it samples resident subsets)."""
    return bool(_PROCESS_BUDGET)


def ram_budget_bytes() -> int:
    return _PROCESS_BUDGET[0] if _PROCESS_BUDGET else ram_budget_mib() * 2**20


def entry_bytes(bank: FrameBank) -> np.ndarray:
    return bank.entry_bytes()


def groups_of(bank: FrameBank) -> list[np.ndarray]:
    """Clean entries per (class, corpus)."""
    clean = np.flatnonzero(bank.is_clean)
    keys = bank.label[clean] * (bank.corpus.max() + 1) + bank.corpus[clean]
    return [clean[keys == k] for k in np.unique(keys)]


def choose_resident(bank: FrameBank, budget_bytes: int, rng: np.random.Generator,
                    previous: np.ndarray | None = None, replace_share: float = 1.0) -> np.ndarray:
    """Sorted entries of a stratified random subset of clean utterances that fits the budget, with every
    augmented view of those utterances. Each (class, corpus) group keeps at least one utterance. Given the
    ``previous`` subset, only ``replace_share`` of each group's resident utterances is swapped for others."""
    share = min(1.0, budget_bytes / max(1, entry_bytes(bank).sum()))
    chosen = []
    for group in groups_of(bank):
        take = max(1, int(round(share * len(group))))
        was = np.intersect1d(group, previous) if previous is not None else group[:0]
        kept = rng.permutation(was)[: take - math.ceil(replace_share * take)]
        newcomers = np.setdiff1d(group, was)  # not resident last time; else any not kept
        if len(newcomers) < take - len(kept):
            newcomers = np.setdiff1d(group, kept)
        chosen += [kept, rng.choice(newcomers, size=take - len(kept), replace=False)]
    chosen = np.concatenate(chosen)
    views = np.flatnonzero(~bank.is_clean)
    with_views = views[np.isin(bank.utt_key[views], bank.utt_key[chosen])]
    return np.sort(np.concatenate([chosen, with_views]))


def subset_bank(bank: FrameBank, entries: np.ndarray) -> FrameBank:
    """The entries' prefix rows copied into RAM (one sorted pass over each bank file) as one in-RAM store
    bank, re-indexed."""
    entries = np.asarray(entries, np.int64)
    order = np.lexsort((bank.utt[entries], bank.bank_index[entries]))
    entries = entries[order]
    parts = []
    for b, store in enumerate(bank.banks):
        utts = bank.utt[entries[bank.bank_index[entries] == b]]
        if len(utts):
            units = units_of(store.length[utts])
            parts.append((store, np.repeat(store.base[utts] + 1, units) + _ranges(units), store.length[utts]))
    lengths = np.concatenate([length for _, _, length in parts])
    units = units_of(lengths)
    # read straight into one array: concatenating per-bank copies held the subset twice at its peak
    tables = ["prefix", "squares"] if uses_squares(bank.pool) else ["prefix"]
    copies = {}
    for table in tables:  # the sums of squares (mean+std pooling) the same rows, beside the sums
        copies[table] = out = np.empty((1 + int(units.sum()), bank.dim), np.float32)
        out[0], at = 0, 1
        for store, rows, _ in parts:
            read_rows(getattr(store, table), rows, out=out[at:at + len(rows)])
            at += len(rows)
    sub = StoreBank(copies["prefix"], lengths, np.concatenate([[0], np.cumsum(units)[:-1]]).astype(np.int64),
                    copies.get("squares"))
    undo = np.empty_like(order)
    undo[order] = np.arange(len(order))
    return FrameBank([sub], np.zeros(len(entries), np.int64), undo, bank.label[entries[undo]],
                     bank.corpus[entries[undo]], bank.utt_key[entries[undo]], bank.is_clean[entries[undo]],
                     bank.feature_mean, bank.feature_std,
                     None if bank.group is None else bank.group[entries[undo]], bank.group_map, bank.pool)


def _ranges(counts: np.ndarray) -> np.ndarray:
    """0…n-1 for each n in ``counts``, concatenated."""
    return np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)


class ResidentSampler:
    """A WindowSampler over a rotating resident subset; ``bank`` stays the whole training set (its
    dimension and feature statistics are what the head is built from)."""

    def __init__(self, bank: FrameBank, frame_rate: float, config: SamplerConfig = SamplerConfig(), seed: int = 0,
                 budget_bytes: int | None = None, rotate_every: int = ROTATE_EVERY,
                 replace_share: float = REPLACE_SHARE, sampler_class=WindowSampler):
        self.bank, self.frame_rate, self.cfg = bank, frame_rate, config
        self.sampler_class = sampler_class  # WindowSampler, or frame_stream.FrameSampler for sequence heads
        self.budget = ram_budget_bytes() if budget_bytes is None else budget_bytes
        self.rotate_every, self.replace_share = rotate_every, replace_share
        self.resident = None
        self.rng = np.random.default_rng([seed, 1])
        self.rotations, self._batches = 0, 0
        self._rotate()

    def _rotate(self) -> None:
        self.inner = None  # the old subset goes before the new one is read: one copy in RAM, not two
        self.resident = choose_resident(self.bank, self.budget, self.rng, self.resident, self.replace_share)
        self.inner = self.sampler_class(subset_bank(self.bank, self.resident), self.frame_rate, self.cfg,
                                   seed=int(self.rng.integers(2**31)))
        self.rotations += 1
        self._batches = 0

    @property
    def last_corpus(self) -> np.ndarray:
        return self.inner.last_corpus

    def sample(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        if self._batches >= self.rotate_every:
            self._rotate()
        self._batches += 1
        return self.inner.sample(batch_size)


def sampling_record(sampler) -> dict | None:
    """How a run drew its windows, for its record, when not from the whole training set: a resident subset's
    share of the training rows depends on the machine's RAM budget, and so may the run's numbers (its run id
    does not: the same spec on a larger machine samples whole). None for a sampler over the whole set."""
    if not isinstance(sampler, ResidentSampler):
        return None
    total = int(entry_bytes(sampler.bank).sum())
    return {"mode": "resident subsets", "budget_mib": round(sampler.budget / 2**20, 1),
            "training_rows_mib": round(total / 2**20, 1), "share": round(min(1.0, sampler.budget / max(total, 1)), 4),
            "rotate_every": sampler.rotate_every, "replace_share": sampler.replace_share,
            "rotations": sampler.rotations}


def make_sampler(bank: FrameBank, frame_rate: float, config: SamplerConfig = SamplerConfig(), seed: int = 0,
                 sampler_class=WindowSampler):
    """The plain sampler, or the resident-subset one when the training set's rows in memory-mapped bank
    files are larger than this process's RAM budget (``sampler_class``: the mean stream or the frame stream)."""
    mapped = np.array([b.mapped for b in bank.banks])
    if mapped.any() and entry_bytes(bank)[mapped[bank.bank_index]].sum() > ram_budget_bytes():
        return ResidentSampler(bank, frame_rate, config, seed, sampler_class=sampler_class)
    return sampler_class(bank, frame_rate, config, seed)

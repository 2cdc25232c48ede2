"""Windows from a bank larger than RAM (DESIGN.md §4: "a chunk-aware scheme, not per-sample reads").

WavLM-Large on MSP-Podcast's training split is ~15 M frames at 50 Hz: a 61 GiB float32 bank, memory-mapped
from disk. Drawing windows from all of it at random would fault a page in from disk for almost every
sample. Instead the sampler draws from a *resident subset*: a class × corpus stratified random share of
the utterances (with their augmented views) copied into RAM in one sorted pass over the file; every
``rotate_every`` batches a quarter of it is swapped for utterances not resident. Within a subset everything is as before (class
first, corpus, utterance, view, window, mixing, masking, noise); across subsets every utterance gets its
turn. The subset's size is the RAM budget: ``SERGEN_BANK_RAM_MIB``, else half the machine's memory; a bank
within the budget is sampled whole, through the page cache.
"""

from __future__ import annotations

import math
import os

import numpy as np

from sergen.train.framebank import FrameBank
from sergen.train.sampler import SamplerConfig, WindowSampler

ROTATE_EVERY = 100  # batches between rotations
REPLACE_SHARE = 0.25  # of the resident utterances swapped at each rotation: a quarter of the budget re-read


def ram_budget_bytes() -> int:
    if os.environ.get("SERGEN_BANK_RAM_MIB"):
        return int(float(os.environ["SERGEN_BANK_RAM_MIB"]) * 2**20)
    # Half the machine's memory, not half of what is free: a freshly written bank fills the page cache,
    # which counts as used but is exactly where a mapped bank lives.
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2


def entry_bytes(bank: FrameBank) -> np.ndarray:
    return (bank.length + 1) * bank.dim * 4


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
    """The entries' prefix rows copied into RAM (one pass over the file in row order), re-indexed."""
    lengths = bank.length[entries]
    starts = bank.base[entries]
    counts = lengths + 1
    new_base = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    rows = np.arange(int(counts.sum())) + np.repeat(starts - new_base, counts)
    return FrameBank(
        prefix=np.ascontiguousarray(bank.prefix[rows]),
        base=new_base,
        length=lengths, label=bank.label[entries], corpus=bank.corpus[entries], utt_key=bank.utt_key[entries],
        is_clean=bank.is_clean[entries], feature_mean=bank.feature_mean, feature_std=bank.feature_std)


class ResidentSampler:
    """A WindowSampler over a rotating resident subset; ``bank`` stays the whole bank (its dimension and
    feature statistics are what the head is built from)."""

    def __init__(self, bank: FrameBank, frame_rate: float, config: SamplerConfig = SamplerConfig(), seed: int = 0,
                 budget_bytes: int | None = None, rotate_every: int = ROTATE_EVERY,
                 replace_share: float = REPLACE_SHARE):
        self.bank, self.frame_rate, self.cfg = bank, frame_rate, config
        self.budget = ram_budget_bytes() if budget_bytes is None else budget_bytes
        self.rotate_every, self.replace_share = rotate_every, replace_share
        self.resident = None
        self.rng = np.random.default_rng([seed, 1])
        self.rotations, self._batches = 0, 0
        self._rotate()

    def _rotate(self) -> None:
        self.inner = None  # the old subset goes before the new one is read: one copy in RAM, not two
        self.resident = choose_resident(self.bank, self.budget, self.rng, self.resident, self.replace_share)
        self.inner = WindowSampler(subset_bank(self.bank, self.resident), self.frame_rate, self.cfg,
                                   seed=int(self.rng.integers(2**31)))
        self.rotations += 1
        self._batches = 0

    def sample(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        if self._batches >= self.rotate_every:
            self._rotate()
        self._batches += 1
        return self.inner.sample(batch_size)


def make_sampler(bank: FrameBank, frame_rate: float, config: SamplerConfig = SamplerConfig(), seed: int = 0):
    """The plain sampler, or the resident-subset one when the bank is a file larger than the RAM budget."""
    if isinstance(bank.prefix, np.memmap) and bank.prefix.nbytes > ram_budget_bytes():
        return ResidentSampler(bank, frame_rate, config, seed)
    return WindowSampler(bank, frame_rate, config, seed)

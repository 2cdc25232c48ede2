"""A bank larger than the RAM budget is sampled through a rotating, stratified resident subset."""

import numpy as np
import pytest

from sergen.train.framebank import build_framebank
from sergen.train.resident import (ResidentSampler, choose_resident, entry_bytes, make_sampler, set_ram_budget,
                                   subset_bank)
from sergen.train.sampler import SamplerConfig, WindowSampler


def mapped_bank(tmp_path, n_utts=120, dim=8, seed=0):
    """Clean utterances of 4 classes × 2 corpora, each with one augmented view, in a memory-mapped bank."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(5, 60, n_utts)
    frames = [rng.standard_normal((n, dim)).astype(np.float32) + i for i, n in enumerate(lengths)]
    labels = [i % 4 for i in range(n_utts)]
    corpora = [(i // 4) % 2 for i in range(n_utts)]
    keys = list(range(n_utts))
    views = [f * 0.5 for f in frames]  # the view of utterance i, stored after all clean entries

    def allocate(name, shape, dtype):
        return np.lib.format.open_memmap(tmp_path / f"{name}.npy", mode="w+", dtype=dtype, shape=shape)

    bank = build_framebank(frames + views, labels * 2, corpora * 2, keys * 2, [True] * n_utts + [False] * n_utts,
                           allocate=allocate)
    bank.banks[0].prefix.flush()
    return bank, frames


def test_subset_bank_gives_the_same_windows_as_the_whole_bank(tmp_path):
    bank, _ = mapped_bank(tmp_path)
    entries = np.array([3, 17, 18, 90, 150, 239])
    sub = subset_bank(bank, entries)
    assert bank.banks[0].mapped and not sub.banks[0].mapped
    rng = np.random.default_rng(1)
    for i, e in enumerate(entries):
        k0 = rng.integers(0, bank.units[e], 20)
        k1 = k0 + 1 + (rng.random(20) * (bank.units[e] - k0)).astype(int)
        start, stop = bank.frames_before(np.full(20, e), k0), bank.frames_before(np.full(20, e), k1)
        np.testing.assert_array_equal(sub.window_sum(np.full(20, i), start, stop),
                                      bank.window_sum(np.full(20, e), start, stop))
    for field in ("length", "label", "corpus", "utt_key", "is_clean"):
        np.testing.assert_array_equal(getattr(sub, field), getattr(bank, field)[entries])


def test_resident_subset_fits_the_budget_keeps_every_group_and_the_views(tmp_path):
    bank, _ = mapped_bank(tmp_path)
    budget = entry_bytes(bank).sum() // 4
    chosen = choose_resident(bank, budget, np.random.default_rng(0))
    clean = chosen[bank.is_clean[chosen]]
    assert 0.15 < len(clean) / bank.is_clean.sum() < 0.35  # about a quarter of the utterances
    assert entry_bytes(bank)[chosen].sum() < 1.5 * budget
    groups = {(bank.label[e], bank.corpus[e]) for e in clean}
    assert groups == {(label, corpus) for label in range(4) for corpus in range(2)}
    views = chosen[~bank.is_clean[chosen]]
    assert set(bank.utt_key[views]) == set(bank.utt_key[clean])  # each resident utterance brings its view
    assert np.all(np.diff(chosen) > 0)  # sorted: one pass over the file


def test_rotation_replaces_the_subset_and_the_stream_is_seeded(tmp_path):
    bank, frames = mapped_bank(tmp_path)
    budget = entry_bytes(bank).sum() // 5
    a = ResidentSampler(bank, 10.0, SamplerConfig(noise_std=0), seed=3, budget_bytes=budget, rotate_every=4)
    b = ResidentSampler(bank, 10.0, SamplerConfig(noise_std=0), seed=3, budget_bytes=budget, rotate_every=4)
    assert a.replace_share == 0.25
    first = set(a.resident)
    seen = set()
    for step in range(12):
        x, y = a.sample(64)
        xb, yb = b.sample(64)
        np.testing.assert_array_equal(x, xb)
        np.testing.assert_array_equal(y, yb)
        seen |= set(a.resident[a.resident < len(frames)])
        assert np.bincount(y, minlength=4).min() > 0  # class-first draws inside each subset
    assert a.rotations == 3 and set(a.resident) != first
    assert len(seen) > 1.3 * len(first) / 2  # later subsets reached other utterances


def test_a_rotation_swaps_a_quarter_of_each_group(tmp_path):
    bank, _ = mapped_bank(tmp_path, n_utts=400)
    budget = entry_bytes(bank).sum() // 2
    rng = np.random.default_rng(0)
    before = choose_resident(bank, budget, rng)
    after = choose_resident(bank, budget, rng, previous=before, replace_share=0.25)
    clean_before, clean_after = set(before[bank.is_clean[before]]), set(after[bank.is_clean[after]])
    assert abs(len(clean_after) - len(clean_before)) <= 8  # same size, group by group
    swapped = len(clean_after - clean_before) / len(clean_before)
    assert 0.24 <= swapped <= 0.32  # a quarter (rounded up per group), all newcomers not resident before


def test_make_sampler_picks_by_size(tmp_path, monkeypatch):
    bank, _ = mapped_bank(tmp_path)
    monkeypatch.setenv("SERGEN_RAM_MIB", "1000")
    assert isinstance(make_sampler(bank, 10.0), WindowSampler)
    set_ram_budget(int(entry_bytes(bank).sum() / 3))  # what a grid worker's memory plan sets
    try:
        sampler = make_sampler(bank, 10.0)
    finally:
        set_ram_budget(None)
    assert isinstance(sampler, ResidentSampler) and sampler.bank is bank
    assert isinstance(make_sampler(bank, 10.0), WindowSampler)  # the whole SERGEN_RAM_MIB budget again
    in_ram = build_framebank([np.ones((3, 2), np.float32)] * 4, [0, 1, 2, 3], [0] * 4, [0, 1, 2, 3], [True] * 4)
    assert isinstance(make_sampler(in_ram, 10.0), WindowSampler)  # only a memory-mapped bank is subset
    with pytest.raises(ValueError):
        ResidentSampler(bank, 10.0, SamplerConfig(window_s=(2.0, 1.0)))

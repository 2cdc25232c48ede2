"""``--pool mean+std``: windows' standard deviations from the sums-of-squares table equal direct numpy
computations (plain, masked, across an odd-length utterance's end, float16-rounded frames); mixing is the
std of the union of both windows' frames; group normalisation divides the std by the group's std; a head
on mean+std separates classes that differ only in variance, where the mean cannot."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sergen.errors import SergenError
from sergen.train.framebank import BANK_STEP, build_framebank, build_store_bank, units_of
from sergen.train.loop import TrainConfig, train_head
from sergen.train.metrics import point_metrics
from sergen.train.loop import predict_proba
from sergen.train.norms.standardise import ShiftScale
from sergen.train.pooling import check_pool, std_half_stats, window_std
from sergen.train.sampler import SamplerConfig, WindowSampler


def f16(frames):
    return np.asarray(frames, np.float16).astype(np.float64)


@pytest.fixture(scope="module")
def odd_frames():
    """Utterances of odd and even lengths, an offset far from zero (the hard case for E[x²] − mean²), values
    not representable in float16 (the bank sums the float16-rounded frames, as stores hold them)."""
    rng = np.random.default_rng(3)
    return [(5.0 + 0.7 * rng.standard_normal((n, 6))).astype(np.float32) for n in (7, 12, 33, 1, 20, 9)]


def test_window_moments_equal_numpy_plain_masked_and_at_an_odd_end(odd_frames):
    store = build_store_bank(odd_frames, [len(f) for f in odd_frames], 6, squares=True)
    # (utterance, window [k0, k1) in units, removed run [r0, r1) or None)
    cases = [(0, 0, 4, None),  # the whole 7-frame utterance: its last unit holds one frame
             (0, 1, 4, None),  # frames 2..6, across the odd end
             (1, 1, 5, None),  # frames 2..9
             (2, 2, 17, (6, 9)),  # frames 4..32 (the odd end) without frames 12..17
             (3, 0, 1, None),  # a one-frame utterance: std 0
             (5, 0, 5, (1, 2))]  # frames 0..8 without frames 2, 3
    for u, k0, k1, removed in cases:
        T = len(odd_frames[u])
        frames = f16(odd_frames[u])
        keep = np.zeros(T, bool)
        keep[k0 * BANK_STEP:min(k1 * BANK_STEP, T)] = True
        utt, first, end, sign = [u], [k0], [k1], [1.0]
        if removed:
            keep[removed[0] * BANK_STEP:min(removed[1] * BANK_STEP, T)] = False
            utt, first, end, sign = [u, u], [k0, removed[0]], [k1, removed[1]], [1.0, -1.0]
        n = int(keep.sum())
        sums, squares = store.unit_moments(utt, first, end, np.array(sign) / n, np.zeros(len(utt), int), 1)
        np.testing.assert_allclose(sums[0], frames[keep].mean(0), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(window_std(sums, squares)[0], frames[keep].std(0), rtol=1e-3, atol=2e-3)
    assert store.nbytes == 2 * store.prefix.nbytes == store.squares.nbytes * 2


def test_squares_table_layout_and_errors(odd_frames):
    plain = build_store_bank(odd_frames, [len(f) for f in odd_frames], 6)
    with_squares = build_store_bank(odd_frames, [len(f) for f in odd_frames], 6, squares=True)
    np.testing.assert_array_equal(plain.prefix, with_squares.prefix)  # the sums are untouched
    u = 2
    rows = with_squares.squares[with_squares.base[u] + 1:with_squares.base[u] + 1 + units_of(33)]
    expected = np.cumsum(f16(odd_frames[u]) ** 2, axis=0)[np.minimum(np.arange(1, 18) * 2, 33) - 1]
    np.testing.assert_allclose(rows, expected, rtol=1e-6)
    assert plain.squares is None and plain.nbytes == plain.prefix.nbytes
    with pytest.raises(ValueError, match="holds no sums of squares"):
        plain.unit_moments([0], [0], [1], [1.0], [0], 1)
    bank = build_framebank(odd_frames, [0, 1, 2, 3, 0, 1], [0] * 6, range(6), [True] * 6)
    with pytest.raises(ValueError, match="needs the sums of squares"):
        replace(bank, pool="mean+std")
    with pytest.raises(SergenError, match=r"unknown --pool 'max'; known: mean, mean\+std"):
        check_pool("max")


def test_mixed_windows_are_the_std_of_the_union_of_their_frames():
    """Two kinds of utterance per class, all frames 0 or all 2: a mixed sample holding a share p of 2s has mean
    2p and std exactly 2·sqrt(p(1 − p)) (linear mixing of the pooled vectors would give std 0), with masking on."""
    rng = np.random.default_rng(0)
    frames = [np.full((int(n), 3), 2.0 * (i % 2), np.float32) for i, n in enumerate(rng.integers(5, 30, 40) * 2)]
    bank = build_framebank(frames, [(i // 2) % 4 for i in range(40)], [0] * 40, range(40), [True] * 40,
                           pool="mean+std")
    assert bank.input_dim == 6 and bank.feature_mean.shape == (6,)
    x, _ = WindowSampler(bank, 10.0, SamplerConfig(mix_prob=0.5, mask_frac=0.2, noise_std=0.0), seed=0).draw(4000)
    p = np.clip(x[:, :3] / 2, 0, 1)
    np.testing.assert_allclose(x[:, 3:], 2 * np.sqrt(p * (1 - p)), atol=1e-6)
    assert 0.15 < (x[:, 3] > 0.1).mean() < 0.45  # mixed samples with both kinds of frames are common


def test_mean_pooling_keeps_d_inputs_and_no_squares():
    rng = np.random.default_rng(1)
    frames = [rng.standard_normal((int(n), 4)).astype(np.float32) for n in rng.integers(4, 40, 30)]
    args = ([i % 4 for i in range(30)], [0] * 30, range(30), [True] * 30)
    mean_bank, both = build_framebank(frames, *args), build_framebank(frames, *args, pool="mean+std")
    assert mean_bank.banks[0].squares is None and mean_bank.input_dim == 4 and mean_bank.feature_std.shape == (4,)
    np.testing.assert_array_equal(both.feature_mean[:4], mean_bank.feature_mean)  # the mean half's statistics
    assert WindowSampler(mean_bank, 10.0, seed=4).draw(50)[0].shape == (50, 4)
    assert WindowSampler(both, 10.0, seed=4).draw(50)[0].shape == (50, 8)


def test_group_normalisation_divides_the_std_by_the_groups_std():
    """Frames alternating a, b (even lengths): every window's std is |a − b| / 2; standardised by its group
    (x − μ_g) / σ_g it is |a − b| / (2 σ_g), mixed or not (partners share the group)."""
    frames = [np.tile(np.array([[1.0], [3.0]] if i % 2 else [[10.0], [16.0]], np.float32), (6, 2)) for i in range(40)]
    bank = build_framebank(frames, [i % 4 for i in range(40)], [0] * 40, range(40), [True] * 40, pool="mean+std")
    bank = replace(bank, group=np.arange(40) % 2, group_map=ShiftScale(
        np.array(["a", "b"]), np.array([[13.0] * 2, [2.0] * 2], np.float32), np.array([[3.0] * 2, [0.5] * 2], np.float32)))
    x, _ = WindowSampler(bank, 10.0, SamplerConfig(mix_prob=1.0, mask_frac=0.2, noise_std=0.0), seed=0).draw(2000)
    std_half = np.unique(np.round(x[:, 2:], 5))
    assert sorted(std_half.tolist()) == [1.0, 2.0]  # 3 / 3 (group a) and 1 / 0.5 (group b)
    assert sorted(np.unique(np.round(x[:, :2], 5)).tolist()) == [0.0]  # both groups' means standardised to 0


def test_std_half_statistics_are_the_spread_across_utterances():
    stds = np.array([[1.0, 2.0], [3.0, 2.0]])
    mean, spread = std_half_stats(stds)
    np.testing.assert_allclose(mean, [2.0, 2.0])
    np.testing.assert_allclose(spread, [1.0, 1.0])  # a constant column divides by 1, not 0


def variance_classes(n_per_class: int, seed: int):
    """Utterances of 40 frames whose classes share the mean (0) and differ only in the frames' std."""
    rng = np.random.default_rng(seed)
    scales = [0.5, 1.0, 2.0, 4.0]
    frames, labels = [], []
    for c, s in enumerate(scales):
        for _ in range(n_per_class):
            frames.append((s * rng.standard_normal((40, 8))).astype(np.float32))
            labels.append(c)
    return frames, np.array(labels)


@pytest.mark.parametrize("pool, low, high", [("mean", 0.35, 0.65), ("mean+std", 0.97, 1.0)])
def test_classes_that_differ_only_in_variance(pool, low, high):
    frames, labels = variance_classes(30, seed=0)
    bank = build_framebank(frames, labels, [0] * len(labels), range(len(labels)), [True] * len(labels), pool=pool)
    sampler = WindowSampler(bank, 10.0, SamplerConfig(window_s=(1.0, 3.0)), seed=0)
    test, y_test = variance_classes(20, seed=1)

    def vectors(fs):
        fs = [f16(f) for f in fs]
        means = np.array([f.mean(0) for f in fs], np.float32)
        return means if pool == "mean" else np.concatenate([means, np.array([f.std(0) for f in fs], np.float32)], 1)

    valid, y_valid = variance_classes(10, seed=2)
    result = train_head(sampler, vectors(valid), y_valid, 4, "linear",
                        TrainConfig(max_steps=400, eval_every=100, min_steps=100), seed=0)
    auroc = point_metrics(y_test, predict_proba(result.model, vectors(test)))["auroc"]
    assert low <= auroc <= high


def test_a_resident_subset_copies_the_squares_with_the_sums(tmp_path):
    """A mean+std bank larger than the RAM budget: the resident subset (read from the mapped files) holds both
    tables, counts both in its bytes, and gives the same moments as the whole bank."""
    from sergen.train.resident import entry_bytes, subset_bank

    rng = np.random.default_rng(0)
    frames = [(3.0 + rng.standard_normal((int(n), 5))).astype(np.float32) for n in rng.integers(3, 40, 24)]

    def allocate(name, shape, dtype):
        return np.lib.format.open_memmap(tmp_path / f"{name}.npy", mode="w+", dtype=dtype, shape=shape)

    args = ([i % 4 for i in range(24)], [0] * 24, range(24), [True] * 24)
    bank = build_framebank(frames, *args, allocate=allocate, pool="mean+std")
    bank.banks[0].prefix.flush(), bank.banks[0].squares.flush()
    assert bank.banks[0].mapped and isinstance(bank.banks[0].squares, np.memmap)
    np.testing.assert_array_equal(entry_bytes(bank), 2 * entry_bytes(build_framebank(frames, *args)))
    entries = np.array([2, 5, 11, 23])
    sub = subset_bank(bank, entries)
    assert sub.pool == "mean+std" and not isinstance(sub.banks[0].squares, np.memmap)
    k1 = bank.units[entries]
    whole = bank.unit_moments(entries, np.zeros(4), k1, np.ones(4), np.arange(4), 4)
    part = sub.unit_moments(np.arange(4), np.zeros(4), k1, np.ones(4), np.arange(4), 4)
    np.testing.assert_array_equal(part[0], whole[0])
    np.testing.assert_array_equal(part[1], whole[1])

"""Window sampling on hand-made frames: every step does exactly what it claims."""

import numpy as np
import pytest
from scipy.stats import chisquare

from sergen.errors import SergenError
from sergen.train.framebank import build_framebank
from sergen.train.sampler import SamplerConfig, WindowSampler


def bank_from(frames, labels, corpora=None, clean=None, keys=None):
    n = len(frames)
    return build_framebank(frames, labels, corpora or [0] * n, keys if keys is not None else list(range(n)),
                           clean if clean is not None else [True] * n)


def test_window_means_equal_direct_means():
    rng = np.random.default_rng(0)
    frames = [rng.standard_normal((int(n), 16)).astype(np.float16) * 10 + 3 for n in rng.integers(1, 400, 50)]
    bank = bank_from(frames, [i % 4 for i in range(50)])
    entry = rng.integers(50, size=2000)
    units = bank.units[entry]
    k0 = (rng.random(2000) * units).astype(int)
    k1 = k0 + 1 + (rng.random(2000) * (units - k0)).astype(int)
    start, stop = bank.frames_before(entry, k0), bank.frames_before(entry, k1)
    assert (start % 2 == 0).all() and ((stop % 2 == 0) | (stop == bank.length[entry])).all()
    assert (stop == bank.length[entry]).any() and (bank.length[entry] % 2 == 1).any()  # odd ends covered
    got = bank.window_mean(entry, start, stop)
    want = np.stack([frames[e][s:t].astype(np.float64).mean(0) for e, s, t in zip(entry, start, stop)])
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6 * np.abs(want).max())
    with pytest.raises(ValueError, match="frame position 3 .* not on the 2-frame grid"):
        bank.window_sum(np.array([0]), np.array([3]), np.array([4]))


def test_masking_removes_two_runs_of_the_stated_size():
    frames = [np.arange(100, dtype=np.float32)[:, None] * np.ones((1, 2), np.float32)]
    bank = bank_from(frames, [0])
    sampler = WindowSampler(bank, 1.0, SamplerConfig(window_s=(100, 100), mask_frac=0.2, mix_prob=0, noise_std=0))
    entries = np.zeros(500, np.int64)
    k0, k1 = sampler.draw_windows(entries)
    assert (k0 == 0).all() and (k1 == 50).all()  # whole utterance (50 two-frame units): shorter than the window
    total, count = sampler.masked_sum(entries, k0, k1)
    assert (count == 80).all()  # 20% of 100 frames, as two runs of 10
    removed = np.arange(100).sum() - total[:, 0]
    # two runs of 10 consecutive frames, one in each half: sums 10·a+45 with a in [0, 40] and [50, 90]
    assert np.all((removed - 90) % 10 == 0)
    assert removed.min() >= (0 * 10 + 45) + (50 * 10 + 45) and removed.max() <= (40 * 10 + 45) + (90 * 10 + 45)
    assert len(np.unique(removed)) > 20  # the runs move


def test_same_label_mixing_joins_two_utterances_of_one_class():
    # class 0 utterances hold only 1.0 or 3.0; class 1 holds 100. Mixed samples average 1 and 3 frames.
    frames = [np.full((10, 1), 1.0, np.float32), np.full((30, 1), 3.0, np.float32), np.full((10, 1), 100.0, np.float32)]
    bank = bank_from(frames, [0, 0, 1])
    cfg = SamplerConfig(window_s=(100, 100), mix_prob=1.0, mask_frac=0.0, noise_std=0.0)
    x, y = WindowSampler(bank, 1.0, cfg, seed=3).sample(4000)
    class0 = x[y == 0, 0]
    assert set(np.round(class0, 4)) <= {1.0, 3.0, 2.5, 1.5}  # (10·1+30·3)/40 = 2.5, and same-utterance pairs
    assert np.isclose(class0, 2.5).sum() > 500
    assert np.allclose(x[y == 1, 0], 100.0)  # never mixed across classes


def test_class_first_draws_are_uniform_whatever_the_imbalance():
    labels = [0] * 900 + [1] * 80 + [2] * 15 + [3] * 5
    bank = bank_from([np.zeros((5, 2), np.float32)] * 1000, labels)
    _, y = WindowSampler(bank, 1.0, SamplerConfig(mix_prob=0, noise_std=0), seed=0).sample(40000)
    counts = np.bincount(y, minlength=4)
    assert chisquare(counts).pvalue > 0.01
    assert abs(counts / 40000 - 0.25).max() < 0.01


def test_corpus_first_balances_corpora():
    corpora = [0] * 950 + [1] * 50
    bank = bank_from([np.zeros((5, 2), np.float32)] * 1000, [i % 4 for i in range(1000)], corpora=corpora)
    sampler = WindowSampler(bank, 1.0, SamplerConfig(corpus_first=True), seed=1)
    drawn = sampler.draw_utterances(sampler.draw_classes(20000))
    assert abs(np.mean(bank.corpus[drawn] == 1) - 0.5) < 0.02
    sampler = WindowSampler(bank, 1.0, SamplerConfig(corpus_first=False), seed=1)
    drawn = sampler.draw_utterances(sampler.draw_classes(20000))
    assert abs(np.mean(bank.corpus[drawn] == 1) - 0.05) < 0.01


def test_aug_share_picks_views_of_the_same_utterance():
    frames = [np.zeros((5, 1), np.float32), np.ones((5, 1), np.float32), np.full((5, 1), 7.0, np.float32)]
    bank = bank_from(frames, [0, 0, 1], clean=[True, False, True], keys=[0, 0, 1])
    cfg = SamplerConfig(aug_share=0.5, mix_prob=0, mask_frac=0, noise_std=0)
    x, y = WindowSampler(bank, 1.0, cfg, seed=0).sample(10000)
    assert abs(np.mean(x[y == 0, 0] == 1.0) - 0.5) < 0.03  # half the class-0 samples come from the view
    assert np.all(x[y == 1, 0] == 7.0)  # no view: clean
    with pytest.raises(SergenError, match="no augmented views"):
        WindowSampler(bank_from(frames[:1], [0]), 1.0, cfg)


def test_same_seed_same_stream_and_noise_scale():
    rng = np.random.default_rng(0)
    frames = [rng.standard_normal((50, 8)).astype(np.float32) * 4 for _ in range(20)]
    bank = bank_from(frames, [i % 4 for i in range(20)])
    a = WindowSampler(bank, 10.0, seed=7).sample(64)
    b = WindowSampler(bank, 10.0, seed=7).sample(64)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], WindowSampler(bank, 10.0, seed=8).sample(64)[0])
    with pytest.raises(ValueError, match="mix_prob must lie from 0 to 1"):
        SamplerConfig(mix_prob=1.5)


def test_masked_share_is_mask_frac_on_average_even_for_short_windows():
    """At 12.5 Hz a 1–3 s window is 6–19 two-frame units: a run of ``size·frac/2`` units rounds to 0 or 1.
    Rounding it at random keeps the share masked at ``mask_frac`` on average (flooring it would mask nothing)."""
    frames = [np.ones((20, 1), np.float32)]  # 10 units, one window covering them all
    sampler = WindowSampler(bank_from(frames, [0]), 1.0,
                            SamplerConfig(window_s=(20, 20), mask_frac=0.1, mix_prob=0, noise_std=0), seed=5)
    entries = np.zeros(4000, np.int64)
    total, count = sampler.masked_sum(entries, *sampler.draw_windows(entries))
    assert set(np.unique(count)) == {16.0, 20.0}  # no run, or one unit (2 frames) removed from each half
    assert abs((1 - count / 20).mean() - 0.1) < 0.01
    np.testing.assert_array_equal(total[:, 0], count)  # the sums cover exactly the frames counted

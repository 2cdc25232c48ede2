"""The frame-sequence stream (issue 25): masking and joining checked unit by unit against the frames
themselves, the mean stream's draws, seeds, attention weights, and a constructed store that only a head
seeing frames can read."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sergen.train.attention_head import model_classes
from sergen.train.frame_stream import FrameSampler, UtteranceFrames, mask_runs
from sergen.train.framebank import build_framebank
from sergen.train.loop import TrainConfig, predict_proba, train_head
from sergen.train.metrics import macro_auroc
from sergen.train.sampler import SamplerConfig, WindowSampler

AttentivePooling = model_classes()["AttentivePooling"]  # defined on first use (no torch at import)

RATE = 20.0  # frames/s: windows of 1–3 s are 10–30 frames, 5–15 units


def exact_frames(rng, n: int, dim: int = 3) -> list[np.ndarray]:
    """Utterances of 13–60 frames whose values are quarters (exact in float16, so in the bank)."""
    return [rng.integers(-16, 17, size=(int(rng.integers(13, 61)), dim)).astype(np.float32) / 4 for _ in range(n)]


def units(frames: np.ndarray) -> np.ndarray:
    """The direct computation: each pair of frames' mean (the last one alone where the length is odd)."""
    return np.stack([frames[k:k + 2].mean(0) for k in range(0, len(frames), 2)])


@pytest.fixture
def toy_bank():
    rng = np.random.default_rng(7)
    frames = exact_frames(rng, 24)
    labels, corpora = np.arange(24) % 3, (np.arange(24) // 3) % 2
    return frames, build_framebank(frames, labels, corpora, np.arange(24), np.ones(24, bool))


def test_masked_and_joined_sequences_are_the_frames_unit_by_unit(toy_bank):
    frames, bank = toy_bank
    sampler = FrameSampler(bank, RATE, SamplerConfig(mix_prob=0.5, mask_frac=0.4, noise_std=0.0), seed=3)
    batch, classes = sampler.sample(64)
    seg_sample, seg_entry, seg_k0, seg_k1, keep = sampler.drawn
    assert len(seg_sample) > 64  # some sequences were joined
    at = 0
    for i in range(64):
        segs = np.flatnonzero(seg_sample == i)
        assert 1 <= len(segs) <= 2 and len({bank.label[seg_entry[s]] for s in segs}) == 1  # same-class partner
        expected = np.concatenate([units(frames[seg_entry[s]])[seg_k0[s]:seg_k1[s]] for s in segs])
        n = len(expected)
        np.testing.assert_array_equal(batch.frames[i, :n], expected)  # exact: quarters and their pair means
        np.testing.assert_array_equal(batch.frames[i, n:], 0)
        np.testing.assert_array_equal(batch.mask[i, :n], keep[at:at + n])
        assert not batch.mask[i, n:].any()
        # each window keeps all but at most two runs, one in each half, each of the mean stream's length
        for s in segs:
            size = int(seg_k1[s] - seg_k0[s])
            dropped = ~keep[at:at + size]
            half = size // 2
            for part in (dropped[:half], dropped[half:]):
                run = np.flatnonzero(part)
                assert len(run) == 0 or (np.all(np.diff(run) == 1) and len(run) <= size * 0.4 / 2 + 1)
            at += size
        assert classes[i] == bank.label[seg_entry[segs[0]]]


def test_the_masked_runs_are_the_mean_streams():
    """The same rule and the same draws: ``mask_runs`` against ``WindowSampler.masked_windows`` on one seed."""
    rng = np.random.default_rng(0)
    frames = exact_frames(rng, 10)
    bank = build_framebank(frames, np.arange(10) % 2, np.zeros(10), np.arange(10), np.ones(10, bool))
    mean_stream = WindowSampler(bank, RATE, SamplerConfig(mask_frac=0.5), seed=11)
    entries = np.arange(10)
    k0, k1 = np.zeros(10, np.int64), bank.units.copy()
    state = mean_stream.rng.bit_generator.state
    entry, first, end, sign, window, _ = mean_stream.masked_windows(entries, k0, k1)
    runs = sign < 0
    rng2 = np.random.default_rng()
    rng2.bit_generator.state = state
    w, r0, r1 = mask_runs(k1 - k0, 0.5, rng2)
    assert sorted(zip(w, r0, r1)) == sorted(zip(window[runs], first[runs] - k0[window[runs]], end[runs]))


def test_the_same_seed_gives_the_same_numbers_and_the_mean_streams_classes_and_corpora(toy_bank):
    _, bank = toy_bank
    cfg = SamplerConfig(mix_prob=0.3, noise_std=0.1)
    a, b = FrameSampler(bank, RATE, cfg, seed=5), FrameSampler(bank, RATE, cfg, seed=5)
    for _ in range(3):
        (xa, ya), (xb, yb) = a.sample(32), b.sample(32)
        np.testing.assert_array_equal(xa.frames, xb.frames)
        np.testing.assert_array_equal(xa.mask, xb.mask)
        np.testing.assert_array_equal(ya, yb)
    other, _ = FrameSampler(bank, RATE, cfg, seed=6).sample(32)
    assert other.frames.shape != xa.frames.shape or not np.array_equal(other.frames, xa.frames)
    # class first, then corpus, then an utterance: the mean stream's very draws for one seed
    frames_stream, means = FrameSampler(bank, RATE, cfg, seed=9), WindowSampler(bank, RATE, cfg, seed=9)
    _, y_frames = frames_stream.draw(256)
    _, y_means = means.draw(256)
    np.testing.assert_array_equal(y_frames, y_means)
    np.testing.assert_array_equal(frames_stream.drawn_corpus, means.drawn_corpus)


def test_attention_weights_sum_to_one_over_the_kept_frames_only():
    torch.manual_seed(0)
    pool = AttentivePooling(5, 7)
    frames = torch.randn(6, 9, 5)
    mask = torch.rand(6, 9) > 0.4
    mask[:, 0] = True
    w = pool.weights(frames, mask)
    torch.testing.assert_close(w.sum(1), torch.ones(6))
    assert torch.all(w[~mask] == 0) and torch.all(w[mask] > 0)
    # the pooled mean is the weighted mean of the kept frames
    expected = torch.stack([(w[i, mask[i], None] * frames[i, mask[i]]).sum(0) for i in range(6)])
    torch.testing.assert_close(pool(frames, mask)[:, :5], expected)


def test_whole_utterances_come_in_chunks_in_their_own_order(toy_bank):
    frames, bank = toy_bank
    rows = np.array([5, 2, 17, 9, 0])
    whole = UtteranceFrames(bank.banks[0], rows, chunk_bytes=3 * 30 * 3 * 4)  # forces several chunks
    seen = []
    for chunk_rows, batch in whole.chunks():
        seen += list(chunk_rows)
        for j, r in enumerate(chunk_rows):
            expected = units(frames[rows[r]])
            np.testing.assert_array_equal(batch.frames[j, :len(expected)], expected)
            assert batch.mask[j].sum() == len(expected)
    assert sorted(seen) == list(range(5)) and len(list(whole.chunks())) > 1
    lengths = whole.apply(lambda batch: batch.mask.sum(1, keepdims=True))
    assert lengths[:, 0].tolist() == [len(units(frames[r])) for r in rows]


def co_occurrence_frames(rng, label: int, n_frames: int = 48, dim: int = 4) -> np.ndarray:
    """Frames that switch between two states every 4 frames. Class 0: (+1, +1) and (−1, −1); class 1:
    (+1, −1) and (−1, +1), as often each. Every feature has mean 0 and std 1 in both classes: only which
    values occur *together in one frame* tells them apart."""
    runs = n_frames // 4  # as many runs of each state: a whole utterance's mean holds no trace of the class
    state = np.repeat(rng.permutation(np.repeat([1.0, -1.0], runs // 2)), 4).astype(np.float32)
    out = 0.2 * rng.standard_normal((n_frames, dim)).astype(np.float32)
    out[:, 0] += state
    out[:, 1] += state if label == 0 else -state
    return out


def test_attn_separates_classes_the_mean_heads_cannot():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    labels = np.arange(80) % 2
    frames = [co_occurrence_frames(rng, c) for c in labels]
    bank = build_framebank(frames[:60], labels[:60], np.zeros(60), np.arange(60), np.ones(60, bool))
    held_out = build_framebank(frames[60:], labels[60:], np.zeros(20), np.arange(20), np.ones(20, bool))
    test_frames = UtteranceFrames(held_out.banks[0], np.arange(20))
    test_means = np.stack([f.astype(np.float16).astype(np.float32).mean(0) for f in frames[60:]])
    config = TrainConfig(max_steps=300, eval_every=100, min_steps=100, batch_size=32)
    attn = train_head(FrameSampler(bank, RATE, SamplerConfig(), seed=0), test_frames, labels[60:], 2, "attn",
                      config, seed=0)
    mlp = train_head(WindowSampler(bank, RATE, SamplerConfig(), seed=0), test_means, labels[60:], 2, "mlp",
                     config, seed=0)
    assert macro_auroc(labels[60:], predict_proba(attn.model, test_frames)) > 0.95
    assert macro_auroc(labels[60:], predict_proba(mlp.model, test_means)) < 0.8


def sweep_frames(rng, label: int, n_frames: int = 64, bins: int = 16) -> np.ndarray:
    """A bump that sweeps up the bins (class 0) or down them (class 1), four times per utterance: every bin
    is lit equally often in both classes, so their means are equal; only the frames' order differs."""
    t = np.arange(n_frames)
    at = t % bins if label == 0 else bins - 1 - t % bins
    out = 0.3 * rng.standard_normal((n_frames, bins)).astype(np.float32)
    out[t, at] += 2.0
    out[t, np.minimum(at + 1, bins - 1)] += 1.0
    return out


def test_cnn_reads_the_order_of_frames_the_mean_heads_cannot():
    torch.set_num_threads(1)
    rng = np.random.default_rng(1)
    labels = np.arange(60) % 2
    frames = [sweep_frames(rng, c) for c in labels]
    bank = build_framebank(frames[:40], labels[:40], np.zeros(40), np.arange(40), np.ones(40, bool))
    held_out = build_framebank(frames[40:], labels[40:], np.zeros(20), np.arange(20), np.ones(20, bool))
    test_frames = UtteranceFrames(held_out.banks[0], np.arange(20))
    test_means = np.stack([f.astype(np.float16).astype(np.float32).mean(0) for f in frames[40:]])
    config = TrainConfig(max_steps=200, eval_every=100, min_steps=100, batch_size=32)
    cnn = train_head(FrameSampler(bank, RATE, SamplerConfig(), seed=0), test_frames, labels[40:], 2, "cnn",
                     config, seed=0)
    mlp = train_head(WindowSampler(bank, RATE, SamplerConfig(), seed=0), test_means, labels[40:], 2, "mlp",
                     config, seed=0)
    assert macro_auroc(labels[40:], predict_proba(cnn.model, test_frames)) > 0.95
    assert macro_auroc(labels[40:], predict_proba(mlp.model, test_means)) < 0.8


def test_the_cnn_masks_a_band_of_bins_in_training_only():
    torch.manual_seed(0)
    from sergen.train.heads import make_head

    model = make_head("cnn", 16, 2, np.zeros(16), np.ones(16), options="freq_mask=0.5")
    x = torch.ones(64, 5, 16)
    masked = model.mask_bands(x)
    zero = masked[:, 0, :] == 0
    widths = zero.sum(1)
    assert torch.all(widths <= 8) and widths.max() > 0
    for row in zero:  # one contiguous band, the same at every time step
        where = torch.nonzero(row).flatten()
        assert len(where) == 0 or (where[-1] - where[0] + 1) == len(where)
    assert torch.equal(masked[:, 0], masked[:, 4])


def test_a_resident_subset_feeds_the_frame_stream_too(toy_bank):
    """Banks beyond the memory budget: the frame stream draws from the resident subset as the mean stream does."""
    from sergen.train.frame_stream import FrameBatch
    from sergen.train.resident import ResidentSampler

    frames, bank = toy_bank
    budget = int(bank.entry_bytes().sum() // 3)
    sampler = ResidentSampler(bank, RATE, SamplerConfig(mix_prob=0.0, mask_frac=0.0, noise_std=0.0), seed=0,
                              budget_bytes=budget, sampler_class=FrameSampler)
    assert len(sampler.resident) < len(frames)
    batch, classes = sampler.sample(16)
    assert isinstance(batch, FrameBatch) and len(batch) == 16 and len(sampler.last_corpus) == 16
    inner = sampler.inner
    _, seg_entry, seg_k0, seg_k1, _ = inner.drawn
    for i in range(16):  # every sequence is its resident utterance's units (utt_key: the original utterance)
        original = int(inner.bank.utt_key[seg_entry[i]])
        assert original in sampler.resident
        expected = units(frames[original])[seg_k0[i]:seg_k1[i]]
        np.testing.assert_array_equal(batch.frames[i, :len(expected)], expected)
        assert batch.mask[i, :len(expected)].all() and not batch.mask[i, len(expected):].any()


def test_aug_share_draws_views_of_the_drawn_utterances():
    """Entries 0–9 clean, 10–19 their augmented views (utt_key ties them): at aug_share 1 every sequence is a
    view of the utterance drawn, at 0 none is."""
    rng = np.random.default_rng(2)
    frames = exact_frames(rng, 20)
    keys = np.tile(np.arange(10), 2)
    bank = build_framebank(frames, keys % 2, np.zeros(20), keys, np.arange(20) < 10)
    for share, views in ((1.0, True), (0.0, False)):
        sampler = FrameSampler(bank, RATE, SamplerConfig(aug_share=share, mix_prob=0.0, noise_std=0.0), seed=4)
        batch, classes = sampler.sample(64)
        entries = sampler.drawn[1]
        assert np.all((entries >= 10) == views)
        np.testing.assert_array_equal(bank.label[entries], classes)
        for i in range(8):
            k0, k1 = sampler.drawn[2][i], sampler.drawn[3][i]
            np.testing.assert_array_equal(batch.frames[i, :k1 - k0], units(frames[entries[i]])[k0:k1])

"""What made the sequence heads fast enough for the demo (issue 25) changes nothing they compute: training
batches in groups of similar length, the CNN's pooling before its ReLU and in channels-last memory, and
the same seed still giving the same numbers."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from sergen.train.frame_stream import FrameBatch, FrameSampler, UtteranceFrames, pad
from sergen.train.framebank import build_framebank
from sergen.train.heads import make_head
from sergen.train.loop import TrainConfig, batch_loss, predict_proba, train_head
from sergen.train.sampler import SamplerConfig

RATE = 20.0


def padded(lengths, dim=3, seed=0) -> tuple[FrameBatch, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    rows = [rng.normal(size=(n, dim)).astype(np.float32) for n in lengths]
    keep = np.ones(sum(lengths), bool)
    keep[1] = False  # a masked unit inside the first sequence
    return pad(np.concatenate(rows), keep, np.asarray(lengths)), rows


def test_buckets_hold_every_row_once_cut_to_their_own_longest():
    batch, rows = padded([7, 2, 9, 4, 3, 8, 5])
    buckets = batch.buckets(3)
    assert [list(r) for r, _ in buckets] == [[1, 4, 3], [6, 0], [5, 2]]  # by length, shortest first, equal counts
    assert [b.frames.shape[1] for _, b in buckets] == [4, 7, 9]
    for ids, part in buckets:
        for i, row in zip(ids, part.frames):
            n = len(rows[i])
            np.testing.assert_array_equal(row[:n], rows[i])
            np.testing.assert_array_equal(row[n:], 0)
        np.testing.assert_array_equal(part.mask, batch.mask[ids, :part.frames.shape[1]])
        np.testing.assert_array_equal(part.lengths, [len(rows[i]) for i in ids])
    assert not buckets[1][1].mask[1, 1]  # the masked unit is still masked, and kept in its sequence's length


def test_a_bucketed_loss_is_the_whole_batchs_loss_for_attn():
    """Attentive pooling gives padding exactly zero weight, so cutting it off changes nothing but rounding."""
    torch.manual_seed(0)
    batch, _ = padded([7, 2, 9, 4, 3, 8, 5, 6], dim=4)
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    model = make_head("attn", 4, 3, np.zeros(4), np.ones(4), options="hidden=8,attention=5").eval()
    with torch.no_grad():
        whole = nn.CrossEntropyLoss()(model(*batch.tensors()), torch.from_numpy(y))
        bucketed = batch_loss(model, nn.CrossEntropyLoss(), batch, y)
    assert abs(whole.item() - bucketed.item()) < 1e-6


def test_the_cnns_blocks_pool_before_the_relu_and_compute_the_same_values():
    torch.manual_seed(0)
    model = make_head("cnn", 16, 2, np.zeros(16), np.ones(16), options="channels=4x8").eval()
    kinds = [type(m).__name__ for m in model.blocks]
    assert kinds == ["Conv2d", "MaxPool2d", "ReLU", "Conv2d", "MaxPool2d", "ReLU"]
    x = torch.randn(5, 1, 13, 16)
    reference = x
    for k in (0, 3):  # the textbook order: convolution, ReLU, then pooling; standard memory layout
        conv = model.blocks[k]
        reference = nn.functional.max_pool2d(torch.relu(nn.functional.conv2d(
            reference, conv.weight.contiguous(), conv.bias, conv.stride, conv.padding)), 2, ceil_mode=True)
    out = model.blocks(x.contiguous(memory_format=torch.channels_last))
    assert model.blocks[0].weight.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, reference, rtol=1e-5, atol=1e-5)


def test_the_same_seed_gives_the_same_cnn_numbers():
    torch.set_num_threads(1)
    rng = np.random.default_rng(3)
    frames = [rng.normal(size=(int(rng.integers(30, 70)), 16)).astype(np.float32) for _ in range(30)]
    labels = np.arange(30) % 2
    bank = build_framebank(frames, labels, np.zeros(30), np.arange(30), np.ones(30, bool))
    val = UtteranceFrames(bank.banks[0], np.arange(20, 30))
    config = TrainConfig(max_steps=20, eval_every=10, min_steps=10, batch_size=16)

    def run(seed):
        result = train_head(FrameSampler(bank, RATE, SamplerConfig(mix_prob=0.5), seed=seed), val, labels[20:], 2,
                            "cnn", config, seed=seed, head_options="channels=4x8")
        return result.history, predict_proba(result.model, val)

    (history_a, proba_a), (history_b, proba_b), (_, proba_c) = run(0), run(0), run(1)
    assert history_a == history_b
    np.testing.assert_array_equal(proba_a, proba_b)
    assert not np.array_equal(proba_a, proba_c)

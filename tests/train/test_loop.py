"""The training loop on hand-made banks: warm-up before selection, undecayed biases, checked settings."""

import numpy as np
import pytest
from scipy.stats import chisquare

from sergen.train.framebank import build_framebank
from sergen.train.loop import TrainConfig, train_head
from sergen.train.sampler import SamplerConfig, WindowSampler


def separable_bank(n_per_class=20, dim=4, seed=0):
    rng = np.random.default_rng(seed)
    frames, labels = [], []
    for c in range(4):
        for _ in range(n_per_class):
            centre = np.eye(dim)[c % dim] * 2
            frames.append((centre + rng.standard_normal((30, dim))).astype(np.float32))
            labels.append(c)
    n = len(frames)
    return build_framebank(frames, labels, [0] * n, list(range(n)), [True] * n)


def test_no_head_is_kept_or_stopped_on_before_the_warm_up_ends():
    bank = separable_bank()
    sampler = WindowSampler(bank, 10.0, SamplerConfig(), seed=0)
    x_val = np.eye(4, dtype=np.float32).repeat(5, 0) * 2
    y_val = np.arange(4).repeat(5)
    # validation AUROC reaches 1.0 by step 200: without a warm-up that head would be kept and training would
    # stop at step 300
    cfg = TrainConfig(eval_every=50, min_steps=400, stop_patience=2, max_steps=3000)
    result = train_head(sampler, x_val, y_val, 4, "linear", cfg, seed=0)
    assert [h[0] for h in result.history][:8] == list(range(50, 401, 50))  # warm-up evaluations are recorded
    assert result.best_step == 400
    assert result.steps == 400 + 2 * 50  # then patience counts as before
    auroc = dict((step, value) for step, value, _ in result.history)
    assert auroc[200] == auroc[400] == 1.0 and auroc[50] < 1.0


def test_a_short_run_still_keeps_its_last_evaluation():
    bank = separable_bank()
    sampler = WindowSampler(bank, 10.0, SamplerConfig(), seed=0)
    x_val, y_val = np.eye(4, dtype=np.float32) * 2, np.arange(4)
    result = train_head(sampler, x_val, y_val, 4, "linear", TrainConfig(eval_every=50, max_steps=120), seed=0)
    assert [h[0] for h in result.history] == [50, 100, 120]  # the last step is evaluated even off the grid
    assert result.best_step == 120 and result.steps == 120


def test_biases_are_not_decayed_and_class_shares_follow_the_pool():
    """Constant features: only the biases can learn, and they must learn the pool's class shares
    (class-first draws off), however strong the weight decay. A decayed bias would be pulled to 0, i.e.
    towards equal shares."""
    shares = np.array([0.7, 0.1, 0.1, 0.1])
    labels = np.repeat(np.arange(4), (shares * 100).astype(int))
    n = len(labels)
    bank = build_framebank([np.ones((10, 3), np.float32)] * n, labels, [0] * n, list(range(n)), [True] * n)
    stream = SamplerConfig(class_first=False, mix_prob=0, mask_frac=0, noise_std=0)
    sampler = WindowSampler(bank, 10.0, stream, seed=1)
    x_val, y_val = np.ones((4, 3), np.float32), np.arange(4)
    cfg = TrainConfig(lr=0.05, weight_decay=1.0, batch_size=512, max_steps=600, min_steps=600)
    model = train_head(sampler, x_val, y_val, 4, "linear", cfg, seed=0).model
    import torch
    with torch.inference_mode():
        proba = torch.softmax(model(torch.ones((1, 3))), 1).numpy()[0]
    np.testing.assert_allclose(proba, shares, atol=0.03)


def test_class_first_off_draws_classes_as_often_as_the_pool_holds_them():
    labels = [0] * 900 + [1] * 80 + [2] * 15 + [3] * 5
    bank = build_framebank([np.zeros((5, 2), np.float32)] * 1000, labels, [0] * 1000, list(range(1000)), [True] * 1000)
    sampler = WindowSampler(bank, 1.0, SamplerConfig(class_first=False), seed=0)
    counts = np.bincount(sampler.draw_classes(40000), minlength=4)
    assert chisquare(counts, np.array([900, 80, 15, 5]) * 40).pvalue > 0.01
    drawn = sampler.draw_utterances(sampler.draw_classes(40000))
    assert abs(np.mean(drawn < 900) - 0.9) < 0.01  # i.e. utterances drawn uniformly


@pytest.mark.parametrize("bad, message", [
    ({"min_steps": -1}, "min_steps must be >= 0"),
    ({"max_steps": 0}, "max_steps must be >= 1"),
    ({"eval_every": 0}, "eval_every must be >= 1"),
    ({"lr": 0.0}, "need 0 < lr <= 10"),
    ({"lr_drop": 1.5}, "0 < lr_drop < 1"),
    ({"weight_decay": -1e-4}, "0 <= weight_decay <= 10"),
])
def test_bad_training_settings_are_refused_by_name(bad, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**bad)

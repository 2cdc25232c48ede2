"""The training loop sets train mode once and again after each evaluation, not on every step (issue 26: it cost
6% of a run). What makes that safe: every optimiser step's forward still runs in train mode (dropout on) and
every validation forward in eval mode, so the steps and validations are those of setting it each step."""

import numpy as np
import pytest
import torch

import sergen.train.loop as loop
from sergen.train.loop import TrainConfig, train_head
from sergen.train.sampler import SamplerConfig, WindowSampler
from tests.train.test_loop import separable_bank


@pytest.mark.parametrize("head", ["linear", "mlp", "mlp-dann"])
def test_steps_train_and_validations_evaluate(head, monkeypatch):
    modes = []  # (under inference mode, in training mode) of every forward through the head
    make_head = loop.make_head

    def recording_head(*args, **kwargs):
        model = make_head(*args, **kwargs)
        model.register_forward_pre_hook(lambda m, _: modes.append((torch.is_inference_mode_enabled(), m.training)))
        return model

    monkeypatch.setattr(loop, "make_head", recording_head)
    bank = separable_bank()
    if head == "mlp-dann":
        bank.corpus[len(bank.corpus) // 2:] = 1  # an adversarial head needs two corpora
    sampler = WindowSampler(bank, 10.0, SamplerConfig(), seed=0)
    x_val, y_val = np.eye(4, dtype=np.float32).repeat(5, 0) * 2, np.arange(4).repeat(5)
    result = train_head(sampler, x_val, y_val, 4, head, TrainConfig(eval_every=50, max_steps=320), seed=0)
    assert result.steps == 320 and len(result.history) == 7  # 50, 100, …, 300 and the last step
    validations = [training for inference, training in modes if inference]
    steps = [training for inference, training in modes if not inference]
    assert len(validations) == 7 and not any(validations)
    assert len(steps) == 320 and all(steps)

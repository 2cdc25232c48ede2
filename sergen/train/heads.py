"""Classifier heads: a linear probe and the poster's "MLP 128x256" (two hidden layers of 128 and 256
units, ReLU, dropout). Inputs are standardised with the training pool's statistics inside the head,
so a saved head carries its own normalisation."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from sergen.registry import Registry

HEADS: Registry = Registry("head", hint="heads: linear, mlp, mlp-dann (multi-corpus training only)")
ADVERSARIAL = {"mlp-dann"}  # heads that need the corpus of each training window


class Standardise(nn.Module):
    def __init__(self, mean: np.ndarray, std: np.ndarray):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(np.maximum(std, 1e-6), dtype=torch.float32))

    def forward(self, x):
        return (x - self.mean) / self.std


@HEADS.register("linear", "probe", "linear-probe")
def linear_head(dim: int, n_classes: int, mean, std, dropout: float = 0.0) -> nn.Module:
    return nn.Sequential(Standardise(mean, std), nn.Linear(dim, n_classes))


@HEADS.register("mlp", "mlp-128x256")
def mlp_head(dim: int, n_classes: int, mean, std, dropout: float = 0.2) -> nn.Module:
    return nn.Sequential(
        Standardise(mean, std),
        nn.Linear(dim, 128), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(128, 256), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(256, n_classes),
    )


class GradientReversal(torch.autograd.Function):
    """Identity forward; the gradient times ``-weight`` backward (Ganin & Lempitsky, 2015): the features
    are pushed to make the corpus classifier fail while the classifier itself learns to succeed."""

    @staticmethod
    def forward(ctx, x, weight: float):
        ctx.weight = weight
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.weight * grad, None


class AdversarialMLP(nn.Module):
    """``mlp-dann``: the poster's MLP whose 256-unit features also feed a corpus classifier behind a gradient
    reversal layer; ``reversal`` (the weight) is ramped up by the training loop."""

    def __init__(self, dim: int, n_classes: int, mean, std, n_corpora: int, dropout: float = 0.2):
        super().__init__()
        self.features = nn.Sequential(Standardise(mean, std), nn.Linear(dim, 128), nn.ReLU(), nn.Dropout(dropout),
                                      nn.Linear(128, 256), nn.ReLU(), nn.Dropout(dropout))
        self.classifier = nn.Linear(256, n_classes)
        self.corpus_classifier = nn.Sequential(nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, n_corpora))
        self.reversal = 0.0

    def forward(self, x):
        return self.classifier(self.features(x))

    def corpus_logits(self, x):
        return self.corpus_classifier(GradientReversal.apply(self.features(x), self.reversal))


@HEADS.register("mlp-dann", "dann", "mlp-adversarial")
def adversarial_mlp_head(dim: int, n_classes: int, mean, std, n_corpora: int = 2) -> nn.Module:
    return AdversarialMLP(dim, n_classes, mean, std, n_corpora)


def reversal_weight(progress: float) -> float:
    """Ganin & Lempitsky's ramp, 0 at the start to ~1 at the end: ``2 / (1 + exp(-10 p)) - 1``."""
    return float(2.0 / (1.0 + np.exp(-10.0 * progress)) - 1.0)


def hidden_features(model: nn.Module, x: np.ndarray) -> np.ndarray | None:
    """The 256-unit representation an MLP head classifies from (None for the linear head)."""
    if isinstance(model, AdversarialMLP):
        body = model.features
    elif isinstance(model, nn.Sequential) and len(model) > 2:
        body = model[:-1]
    else:
        return None
    model.eval()
    with torch.inference_mode():
        return body(torch.from_numpy(np.asarray(x, np.float32))).numpy()


def make_head(name: str, dim: int, n_classes: int, mean, std, n_corpora: int = 1) -> nn.Module:
    if HEADS.canonical(name) in ADVERSARIAL:
        return HEADS.get(name)(dim, n_classes, mean, std, n_corpora)
    return HEADS.get(name)(dim, n_classes, mean, std)

"""The torch building blocks the heads share: the input modules (standardisation with the training pool's
statistics, the learned weighted sum of stored layers), the MLP body, and the adversarial MLP of ``mlp-dann``.
Apart from the head declarations (``head_base``, ``heads``) so that listing the heads imports no torch: a head
imports these in its ``build``."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def mlp_body(width: int, hidden: tuple, dropout: float) -> nn.Sequential:
    """Linear → ReLU → dropout per hidden layer (the poster's MLP 128x256 at the defaults)."""
    layers: list[nn.Module] = []
    for units in hidden:
        layers += [nn.Linear(width, units), nn.ReLU(), nn.Dropout(dropout)]
        width = units
    return nn.Sequential(*layers)


class Standardise(nn.Module):
    """``(x - mean) / std`` over the last axis: a vector ``[B, D]`` or frames ``[B, T, D]``."""

    def __init__(self, mean: np.ndarray, std: np.ndarray):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(np.maximum(std, 1e-6), dtype=torch.float32))

    def forward(self, x):
        return (x - self.mean) / self.std


class WeightedLayerSum(nn.Module):
    """SUPERB's featurizer: a ``softmax(logits)``-weighted sum over the L layers of ``layer_width`` features
    stored side by side in the input, from equal weights. The input is S blocks of L × ``layer_width`` (S = 1
    for window means; the blocks of a pooling with several statistics share the weights), the output S ×
    ``layer_width``. The sum is linear, so the weighted sum of layer means is the mean of the weighted
    frames: the banks and the utterance vectors need no special case."""

    def __init__(self, n_layers: int, layer_width: int):
        super().__init__()
        if n_layers < 2 or layer_width < 1:
            raise ValueError(f"a weighted layer sum needs 2 or more layers of 1 or more features, "
                             f"got {n_layers} × {layer_width}")
        self.n_layers, self.layer_width = n_layers, layer_width
        self.logits = nn.Parameter(torch.zeros(n_layers))

    @property
    def weights(self) -> torch.Tensor:
        return torch.softmax(self.logits, dim=0)

    def forward(self, x):
        blocks = x.reshape(len(x), -1, self.n_layers, self.layer_width)
        return (blocks * self.weights[:, None]).sum(2).reshape(len(x), -1)


def input_module(dim: int, mean, std, n_layers: int = 1, layer_width: int | None = None) -> tuple[nn.Module, int]:
    """The head's first module (standardisation, then the weighted sum where the ``dim`` inputs hold
    ``n_layers`` layers of ``layer_width`` features side by side, in one block or several) and the width it
    hands on."""
    if n_layers == 1:
        return Standardise(mean, std), dim
    layer_width = layer_width or dim // n_layers
    if dim % (n_layers * layer_width):
        raise ValueError(f"{dim} inputs do not split into blocks of {n_layers} layers of {layer_width}")
    return nn.Sequential(Standardise(mean, std), WeightedLayerSum(n_layers, layer_width)), dim // n_layers


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
    """``mlp-dann``: the poster's MLP whose last hidden features also feed a corpus classifier behind a
    gradient reversal layer; ``reversal`` (the weight) is ramped up by the training loop."""

    def __init__(self, dim: int, n_classes: int, mean, std, n_corpora: int, dropout: float = 0.2, n_layers: int = 1,
                 layer_width: int | None = None, hidden: tuple[int, ...] = (128, 256)):
        super().__init__()
        front, width = input_module(dim, mean, std, n_layers, layer_width)
        self.features = nn.Sequential(front, *mlp_body(width, hidden, dropout))
        self.classifier = nn.Linear(hidden[-1], n_classes)
        self.corpus_classifier = nn.Sequential(nn.Linear(hidden[-1], 128), nn.ReLU(), nn.Linear(128, n_corpora))
        self.reversal = 0.0

    def forward(self, x):
        return self.classifier(self.features(x))

    def corpus_logits(self, x):
        return self.corpus_classifier(GradientReversal.apply(self.features(x), self.reversal))

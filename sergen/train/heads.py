"""Classifier heads: a linear probe and the poster's "MLP 128x256" (two hidden layers of 128 and 256
units, ReLU, dropout). Inputs are standardised with the training pool's statistics inside the head,
so a saved head carries its own normalisation. With ``n_layers`` > 1 (``--layer weighted``) the input holds
every stored layer side by side, and a learned softmax-weighted sum of the standardised layers (SUPERB's
featurizer, :class:`WeightedLayerSum`) sits between the standardisation and the head, as part of its module."""

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


def layer_weights(model: nn.Module) -> np.ndarray | None:
    """The learned softmax weights of a head's layers (None for a head on one layer)."""
    for module in model.modules():
        if isinstance(module, WeightedLayerSum):
            return module.weights.detach().numpy().astype(float)
    return None


@HEADS.register("linear", "probe", "linear-probe")
def linear_head(dim: int, n_classes: int, mean, std, dropout: float = 0.0, n_layers: int = 1,
                layer_width: int | None = None) -> nn.Module:
    front, width = input_module(dim, mean, std, n_layers, layer_width)
    return nn.Sequential(front, nn.Linear(width, n_classes))


@HEADS.register("mlp", "mlp-128x256")
def mlp_head(dim: int, n_classes: int, mean, std, dropout: float = 0.2, n_layers: int = 1,
             layer_width: int | None = None) -> nn.Module:
    front, width = input_module(dim, mean, std, n_layers, layer_width)
    return nn.Sequential(
        front,
        nn.Linear(width, 128), nn.ReLU(), nn.Dropout(dropout),
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

    def __init__(self, dim: int, n_classes: int, mean, std, n_corpora: int, dropout: float = 0.2, n_layers: int = 1,
                 layer_width: int | None = None):
        super().__init__()
        front, width = input_module(dim, mean, std, n_layers, layer_width)
        self.features = nn.Sequential(front, nn.Linear(width, 128), nn.ReLU(), nn.Dropout(dropout),
                                      nn.Linear(128, 256), nn.ReLU(), nn.Dropout(dropout))
        self.classifier = nn.Linear(256, n_classes)
        self.corpus_classifier = nn.Sequential(nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, n_corpora))
        self.reversal = 0.0

    def forward(self, x):
        return self.classifier(self.features(x))

    def corpus_logits(self, x):
        return self.corpus_classifier(GradientReversal.apply(self.features(x), self.reversal))


@HEADS.register("mlp-dann", "dann", "mlp-adversarial")
def adversarial_mlp_head(dim: int, n_classes: int, mean, std, n_corpora: int = 2, n_layers: int = 1,
                         layer_width: int | None = None) -> nn.Module:
    return AdversarialMLP(dim, n_classes, mean, std, n_corpora, n_layers=n_layers, layer_width=layer_width)


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


def make_head(name: str, dim: int, n_classes: int, mean, std, n_corpora: int = 1, n_layers: int = 1,
              layer_width: int | None = None) -> nn.Module:
    """``dim`` inputs; ``n_layers`` > 1: they are that many stored layers of ``layer_width`` features side by
    side (default ``dim / n_layers``; several blocks of them where a pooling gives several statistics per
    feature), summed with learned weights before the head proper."""
    layers = {"n_layers": n_layers, "layer_width": layer_width}
    if HEADS.canonical(name) in ADVERSARIAL:
        return HEADS.get(name)(dim, n_classes, mean, std, n_corpora, **layers)
    return HEADS.get(name)(dim, n_classes, mean, std, **layers)

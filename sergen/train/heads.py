"""Classifier heads: a linear probe and the poster's "MLP 128x256" (two hidden layers of 128 and 256
units, ReLU, dropout). Inputs are standardised with the training pool's statistics inside the head,
so a saved head carries its own normalisation."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from sergen.registry import Registry

HEADS: Registry = Registry("head", hint="heads: linear, mlp")


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


def make_head(name: str, dim: int, n_classes: int, mean, std) -> nn.Module:
    return HEADS.get(name)(dim, n_classes, mean, std)

"""``attn``: attentive statistics pooling (Okabe et al., 2018) over a window's frames, then the poster's MLP.

A small scorer gives each standardised frame a weight (softmax over the kept frames only: padding and masked
runs get exactly zero), and the head classifies ``[weighted mean, weighted std]`` of the frames. Unlike the
mean heads it can weigh some frames over others, and its std half sees how frames vary within the window —
neither can be read from a window's mean."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import ClassVar

from sergen.train.head_base import HEADS, Head, check_hidden, check_width


@HEADS.register("attn", "attentive", "asp")
@dataclass(frozen=True)
class AttentiveHead(Head):
    """Attentive statistics pooling with a scorer of ``attention`` hidden units, then the MLP (``hidden``,
    ``dropout``)."""

    note: ClassVar[str] = "attentive statistics pooling over frames"
    summary: ClassVar[str] = "attentive statistics pooling over the window's frames, then the MLP"

    sequence = True
    hidden: tuple[int, ...] = (128, 256)
    dropout: float = 0.2
    attention: int = 128

    def __post_init__(self):
        check_hidden(self.hidden, self.dropout)
        check_width("attention", self.attention)

    def build(self, dim, n_classes, mean, std, n_corpora=1, n_layers=1, layer_width=None):
        if n_layers != 1:
            raise ValueError("the attn head takes one layer (--layer weighted is for the mean heads)")
        return model_classes()["AttentiveModel"](dim, n_classes, mean, std, self.hidden, self.dropout, self.attention)


@cache
def model_classes() -> dict[str, type]:
    """This head's torch modules (AttentivePooling, AttentiveModel), defined on first use: importing the module, as
    listing the heads does, needs no torch."""
    import torch
    from torch import nn

    from sergen.train.head_modules import Standardise, mlp_body

    class AttentivePooling(nn.Module):
        """``[B, T, D]`` frames and a ``[B, T]`` mask → ``[B, 2D]``: the attention-weighted mean and std."""

        def __init__(self, dim: int, attention: int):
            super().__init__()
            self.score = nn.Sequential(nn.Linear(dim, attention), nn.Tanh(), nn.Linear(attention, 1))

        def weights(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            """Softmax of the frames' scores over the kept frames of each sequence (zero elsewhere)."""
            scores = self.score(frames).squeeze(-1).masked_fill(~mask, float("-inf"))
            return torch.softmax(scores, dim=1)

        def forward(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            w = self.weights(frames, mask).unsqueeze(-1)
            mean = (w * frames).sum(1)
            var = (w * frames * frames).sum(1) - mean * mean
            return torch.cat([mean, torch.sqrt(var.clamp_min(1e-6))], dim=1)


    class AttentiveModel(nn.Module):
        """Standardise each frame (the training frames' statistics), pool, then the MLP."""

        def __init__(self, dim: int, n_classes: int, mean, std, hidden: tuple, dropout: float, attention: int):
            super().__init__()
            self.standardise = Standardise(mean, std)
            self.pool = AttentivePooling(dim, attention)
            self.body = mlp_body(2 * dim, hidden, dropout)
            self.classifier = nn.Linear(hidden[-1], n_classes)

        def features(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            """The last hidden layer's features (what the fragmentation measures read)."""
            return self.body(self.pool(self.standardise(frames), mask))

        def forward(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            return self.classifier(self.features(frames, mask))

    return {"AttentivePooling": AttentivePooling, "AttentiveModel": AttentiveModel}

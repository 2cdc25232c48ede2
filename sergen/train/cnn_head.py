"""``cnn``: a small 2-D CNN trained from scratch on log-Mel frames — the poster's from-scratch setting.

Time × frequency is an image: a few blocks of 3×3 convolutions (the first with stride 2: at full resolution
it cost ~4× the rest together on CPU, 2.3 s a step of 128 windows at 8/16/32 channels), 2×2 max pooling and a ReLU, then the mean over
frequency and over the kept time steps (padding excluded), then a linear classifier. During training a band
of mel bins is zeroed in each window (SpecAugment's frequency masking; the time masking is the stream's masked
runs, ``frame_stream``). It suits spectrogram stores only: on an embedding the feature axis has no order for a
convolution to use, so other stores are refused (``sergen.experiments.sequence_checks``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import ClassVar

from sergen.train.head_base import HEADS, Head, check_dropout


@HEADS.register("cnn", "cnn-mel")
@dataclass(frozen=True)
class CNNHead(Head):
    """Blocks of ``channels`` convolution channels; ``dropout`` before the classifier; ``freq_mask``: the
    largest share of mel bins masked in a training window."""

    note: ClassVar[str] = "log-Mel stores only"
    summary: ClassVar[str] = "a small CNN from scratch on log-Mel frames; melspec stores only"

    sequence = True
    channels: tuple[int, ...] = (8, 16, 32)
    dropout: float = 0.2
    freq_mask: float = 0.15

    def __post_init__(self):
        if not self.channels or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in self.channels):
            raise ValueError(f"channels must be one or more block widths of 1 or more, got {self.channels!r}")
        if max(self.channels) > 1024:
            raise ValueError(f"channels: at most 1,024 per block, got {'x'.join(map(str, self.channels))}")
        if len(self.channels) > 5:
            raise ValueError(f"channels: at most 5 blocks (each halves time and frequency), got {len(self.channels)}")
        check_dropout(self.dropout)
        if not 0 <= self.freq_mask < 1:
            raise ValueError(f"freq_mask must lie from 0 up to (not including) 1, got {self.freq_mask}")

    def build(self, dim, n_classes, mean, std, n_corpora=1, n_layers=1, layer_width=None):
        if n_layers != 1:
            raise ValueError("the cnn head takes one layer of a spectrogram")
        return model_classes()["CNNModel"](dim, n_classes, mean, std, self.channels, self.dropout, self.freq_mask)


@cache
def model_classes() -> dict[str, type]:
    """This head's torch modules (CNNModel), defined on first use: importing the module, as
    listing the heads does, needs no torch."""
    import torch
    from torch import nn

    from sergen.train.head_modules import Standardise

    class CNNModel(nn.Module):
        def __init__(self, dim: int, n_classes: int, mean, std, channels: tuple, dropout: float, freq_mask: float):
            super().__init__()
            self.standardise = Standardise(mean, std)
            blocks, width = [], 1
            for k, out in enumerate(channels):  # the first block strides: full-resolution convolutions cost 4×
                # pooled before the ReLU: the same values (max and ReLU commute), the ReLU on a quarter of them
                blocks += [nn.Conv2d(width, out, 3, padding=1, stride=2 if k == 0 else 1),
                           nn.MaxPool2d(2, ceil_mode=True), nn.ReLU()]
                width = out
            # channels-last: oneDNN's convolutions and pooling on one CPU thread took less than half the time
            self.blocks = nn.Sequential(*blocks).to(memory_format=torch.channels_last)
            self.n_pools, self.freq_mask = len(channels) + 1, freq_mask  # halvings of time: the stride and each pool
            self.dropout = nn.Dropout(dropout)
            self.classifier = nn.Linear(width, n_classes)

        def mask_bands(self, x: torch.Tensor) -> torch.Tensor:
            """Zero one band of ``freq_mask`` × bins (at most) per window, at a random place (training only)."""
            n, _, d = x.shape
            width = (torch.rand(n) * self.freq_mask * d).long()
            start = (torch.rand(n) * (d - width + 1).float()).long()
            bins = torch.arange(d)
            band = (bins >= start[:, None]) & (bins < (start + width)[:, None])
            return x.masked_fill(band[:, None, :], 0.0)

        def features(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            x = self.standardise(frames) * mask[..., None]  # masked and padded steps: the training mean
            if self.training and self.freq_mask > 0:
                x = self.mask_bands(x)
            y = self.blocks(x.unsqueeze(1).contiguous(memory_format=torch.channels_last)).mean(3)  # [B, C, T']
            keep = mask.float().unsqueeze(1)
            for _ in range(self.n_pools):  # where the pooled time steps saw any kept frame
                keep = nn.functional.max_pool1d(keep, 2, ceil_mode=True)
            keep = keep[..., :y.shape[2]]
            return (y * keep).sum(2) / keep.sum(2).clamp_min(1.0)

        def forward(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            return self.classifier(self.dropout(self.features(frames, mask)))

    return {"CNNModel": CNNModel}

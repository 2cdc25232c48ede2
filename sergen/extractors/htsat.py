"""HTS-AT, the audio encoder of Microsoft CLAP 2023, written so its parameter names match the keys of
``CLAP_weights_2023.pth`` under ``audio_encoder.`` (msclap's ``AudioEncoder``: ``base.htsat.*`` and
``projection.*``) — the published checkpoint loads into it strictly, without msclap or torchlibrosa.

What the embedding is: log-mel frames (STFT as two fixed convolutions, as torchlibrosa computes it) →
batch norm over mel bands → the time axis stretched to 1024 frames by bicubic interpolation and folded
into a 256 × 256 image → a Swin transformer (4 stages, shifted 8 × 8 windows) → the mean of its final
tokens (msclap's ``latent_output``) → CLAP's projection (two linear maps, GELU, residual, layer norm).
The classification parts of the checkpoint (``tscam_conv``, ``head``) are built so the keys match, but are
not on the embedding's path.

The architecture's sizes are read from the checkpoint's tensor shapes (``HTSATShape.from_state_dict``), so
the same code builds the published model and the tiny one the tests save in the same format.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# Fixed by msclap's HTSAT config, not recoverable from shapes. Its mel filterbank is built for 32 kHz
# while CLAP feeds it 44.1 kHz audio (MODELS.md); the trained filterbank comes with the checkpoint.
HOP_SAMPLES = 320
SPEC_SIZE = 256
FILTERBANK_RATE, FMIN_HZ, FMAX_HZ = 32000, 50.0, 14000.0
LOG_FLOOR = 1e-10


@dataclass(frozen=True)
class HTSATShape:
    """The sizes that vary between checkpoints; defaults are CLAP 2023's."""

    n_fft: int = 1024
    mel_bins: int = 64
    patch_size: int = 4
    embed_dim: int = 96
    depths: tuple[int, ...] = (2, 2, 6, 2)
    num_heads: tuple[int, ...] = (4, 8, 16, 32)
    window_size: int = 8
    num_classes: int = 527
    projection_dim: int = 1024

    @property
    def num_features(self) -> int:
        return self.embed_dim * 2 ** (len(self.depths) - 1)

    @classmethod
    def from_state_dict(cls, state: dict) -> "HTSATShape":
        """Sizes of the model whose ``audio_encoder.``-stripped keys are ``state``."""
        p = "base.htsat."
        depths, heads = [], []
        while f"{p}layers.{len(depths)}.blocks.0.norm1.weight" in state:
            i = len(depths)
            depths.append(sum(1 for k in state if k.startswith(f"{p}layers.{i}.blocks.") and k.endswith(".norm1.weight")))
            heads.append(state[f"{p}layers.{i}.blocks.0.attn.relative_position_bias_table"].shape[1])
        if not depths:
            raise KeyError(f"{p}layers.0.blocks.0.norm1.weight")
        table_rows = state[f"{p}layers.0.blocks.0.attn.relative_position_bias_table"].shape[0]
        patch = state[f"{p}patch_embed.proj.weight"]
        return cls(
            n_fft=state[f"{p}spectrogram_extractor.stft.conv_real.weight"].shape[2]
            if f"{p}spectrogram_extractor.stft.conv_real.weight" in state else cls.n_fft,
            mel_bins=state[f"{p}bn0.weight"].shape[0],
            patch_size=patch.shape[2],
            embed_dim=patch.shape[0],
            depths=tuple(depths),
            num_heads=tuple(heads),
            window_size=(math.isqrt(table_rows) + 1) // 2,
            num_classes=state[f"{p}head.weight"].shape[0],
            projection_dim=state["projection.linear1.weight"].shape[0],
        )


# -- front end ------------------------------------------------------------------------------------
class STFT(nn.Module):
    """Short-time Fourier transform as two strided convolutions with Hann-windowed DFT kernels, centred
    with reflection padding (torchlibrosa's definition, whose kernels the checkpoint stores)."""

    def __init__(self, n_fft: int, hop: int):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        bins = n_fft // 2 + 1
        window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann
        phase = 2 * np.pi * np.outer(np.arange(bins), np.arange(n_fft)) / n_fft
        self.conv_real = nn.Conv1d(1, bins, n_fft, stride=hop, bias=False)
        self.conv_imag = nn.Conv1d(1, bins, n_fft, stride=hop, bias=False)
        with torch.no_grad():
            self.conv_real.weight.copy_(torch.from_numpy(np.cos(phase) * window)[:, None].float())
            self.conv_imag.weight.copy_(torch.from_numpy(-np.sin(phase) * window)[:, None].float())
        self.requires_grad_(False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """[B, N] → power spectrogram [B, 1, frames, bins], frames = N // hop + 1."""
        x = F.pad(wave[:, None], (self.n_fft // 2, self.n_fft // 2), mode="reflect")
        power = self.conv_real(x) ** 2 + self.conv_imag(x) ** 2
        return power.transpose(1, 2)[:, None]


class Spectrogram(nn.Module):
    def __init__(self, n_fft: int, hop: int):
        super().__init__()
        self.stft = STFT(n_fft, hop)

    def forward(self, wave):
        return self.stft(wave)


class LogMel(nn.Module):
    """Power spectrogram → 10·log10 mel energies; ``melW`` is [bins, mel] as the checkpoint stores it."""

    def __init__(self, n_fft: int, mel_bins: int):
        super().__init__()
        import librosa

        weights = librosa.filters.mel(sr=FILTERBANK_RATE, n_fft=n_fft, n_mels=mel_bins, fmin=FMIN_HZ, fmax=FMAX_HZ)
        self.melW = nn.Parameter(torch.from_numpy(weights.T.copy()).float(), requires_grad=False)

    def forward(self, power):
        return 10.0 * torch.log10(torch.clamp(power @ self.melW, min=LOG_FLOOR))


# -- Swin transformer -----------------------------------------------------------------------------
def to_windows(x: torch.Tensor, size: int) -> torch.Tensor:
    """[B, H, W, C] → [B·(H/size)·(W/size), size·size, C]."""
    b, h, w, c = x.shape
    x = x.view(b, h // size, size, w // size, size, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, size * size, c)


def from_windows(windows: torch.Tensor, size: int, h: int, w: int) -> torch.Tensor:
    """Inverse of ``to_windows``."""
    b = windows.shape[0] // ((h // size) * (w // size))
    x = windows.view(b, h // size, w // size, size, size, -1).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h, w, -1)


def relative_position_index(size: int) -> torch.Tensor:
    """For each (query, key) pair of a size × size window, its row in the relative-position bias table."""
    coords = torch.stack(torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")).flatten(1)
    delta = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (size - 1)
    return delta[..., 0] * (2 * size - 1) + delta[..., 1]


def shifted_window_mask(h: int, w: int, size: int, shift: int) -> torch.Tensor:
    """Additive mask (0 / −100) keeping attention inside regions that were neighbours before the roll."""
    region = torch.zeros(1, h, w, 1)
    label = 0
    for rows in (slice(0, -size), slice(-size, -shift), slice(-shift, None)):
        for cols in (slice(0, -size), slice(-size, -shift), slice(-shift, None)):
            region[:, rows, cols, :] = label
            label += 1
    ids = to_windows(region, size).squeeze(-1)
    diff = ids[:, None, :] - ids[:, :, None]
    return torch.zeros_like(diff).masked_fill(diff != 0, -100.0)


class WindowAttention(nn.Module):
    def __init__(self, dim: int, size: int, heads: int):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * size - 1) ** 2, heads))
        self.register_buffer("relative_position_index", relative_position_index(size))
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        n_win, tokens, dim = x.shape
        q, k, v = self.qkv(x).view(n_win, tokens, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        bias = self.relative_position_bias_table[self.relative_position_index.flatten()]
        attn = (q * self.scale) @ k.transpose(-2, -1) + bias.view(tokens, tokens, -1).permute(2, 0, 1)
        if mask is not None:
            attn = attn.view(-1, mask.shape[0], self.heads, tokens, tokens) + mask[None, :, None]
            attn = attn.view(n_win, self.heads, tokens, tokens)
        out = attn.softmax(-1) @ v
        return self.proj(out.transpose(1, 2).reshape(n_win, tokens, dim))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class SwinBlock(nn.Module):
    def __init__(self, dim: int, resolution: tuple[int, int], heads: int, size: int, shift: int):
        super().__init__()
        self.resolution = resolution
        if min(resolution) <= size:  # one window covers the grid: nothing to shift
            size, shift = min(resolution), 0
        self.size, self.shift = size, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, size, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, 4 * dim)
        self.register_buffer("attn_mask", shifted_window_mask(*resolution, size, shift) if shift else None)

    def forward(self, x):
        h, w = self.resolution
        b, _, c = x.shape
        y = self.norm1(x).view(b, h, w, c)
        if self.shift:
            y = torch.roll(y, (-self.shift, -self.shift), dims=(1, 2))
        y = from_windows(self.attn(to_windows(y, self.size), self.attn_mask), self.size, h, w)
        if self.shift:
            y = torch.roll(y, (self.shift, self.shift), dims=(1, 2))
        x = x + y.reshape(b, h * w, c)
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    """2 × 2 neighbouring tokens → one token of twice the width."""

    def __init__(self, resolution: tuple[int, int], dim: int):
        super().__init__()
        self.resolution = resolution
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x):
        h, w = self.resolution
        x = x.view(x.shape[0], h, w, -1)
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        return self.reduction(self.norm(x.view(x.shape[0], -1, x.shape[-1])))


class Stage(nn.Module):
    def __init__(self, dim, resolution, depth, heads, size, merge: bool):
        super().__init__()
        self.blocks = nn.ModuleList(
            SwinBlock(dim, resolution, heads, size, 0 if i % 2 == 0 else size // 2) for i in range(depth))
        self.downsample = PatchMerging(resolution, dim) if merge else None

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return self.downsample(x) if self.downsample is not None else x


class PatchEmbed(nn.Module):
    def __init__(self, patch: int, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(1, dim, patch, stride=patch)
        self.norm = nn.LayerNorm(dim)

    def forward(self, image):
        return self.norm(self.proj(image).flatten(2).transpose(1, 2))


class HTSAT(nn.Module):
    """msclap's ``HTSAT_Swin_Transformer`` in eval mode, returning the pooled latent (``num_features``-d)."""

    def __init__(self, shape: HTSATShape):
        super().__init__()
        self.freq_ratio = SPEC_SIZE // shape.mel_bins
        self.spectrogram_extractor = Spectrogram(shape.n_fft, HOP_SAMPLES)
        self.logmel_extractor = LogMel(shape.n_fft, shape.mel_bins)
        self.bn0 = nn.BatchNorm2d(shape.mel_bins)
        self.patch_embed = PatchEmbed(shape.patch_size, shape.embed_dim)
        grid = SPEC_SIZE // shape.patch_size
        self.layers = nn.ModuleList(
            Stage(shape.embed_dim * 2 ** i, (grid >> i, grid >> i), depth, shape.num_heads[i], shape.window_size,
                  merge=i < len(shape.depths) - 1)
            for i, depth in enumerate(shape.depths))
        self.norm = nn.LayerNorm(shape.num_features)
        # The AudioSet tagging head: kept for strict loading, unused by the embedding.
        freq_rows = SPEC_SIZE // 2 ** (len(shape.depths) - 1) // shape.patch_size // self.freq_ratio
        self.tscam_conv = nn.Conv2d(shape.num_features, shape.num_classes, (freq_rows, 3), padding=(0, 1))
        self.head = nn.Linear(shape.num_classes, shape.num_classes)

    def log_mel(self, wave: torch.Tensor) -> torch.Tensor:
        """[B, N] → normalised log-mel [B, 1, frames, mel]."""
        x = self.logmel_extractor(self.spectrogram_extractor(wave))
        return self.bn0(x.transpose(1, 3)).transpose(1, 3)

    def to_image(self, mel: torch.Tensor) -> torch.Tensor:
        """[B, 1, T ≤ 1024, 64] → [B, 1, 256, 256]: time stretched to 1024, cut in four, stacked on frequency."""
        target_t = SPEC_SIZE * self.freq_ratio
        if mel.shape[2] > target_t:
            raise ValueError(f"{mel.shape[2]} frames exceed the {target_t} the model takes")
        if mel.shape[2] < target_t:
            mel = F.interpolate(mel, (target_t, mel.shape[3]), mode="bicubic", align_corners=True)
        b, c, t, f = mel.shape
        x = mel.transpose(2, 3).reshape(b, c, f, self.freq_ratio, t // self.freq_ratio)
        return x.permute(0, 1, 3, 2, 4).reshape(b, c, f * self.freq_ratio, t // self.freq_ratio)

    def latent(self, image: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(image)
        for stage in self.layers:
            x = stage(x)
        return self.norm(x).mean(dim=1)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.latent(self.to_image(self.log_mel(wave)))


class HTSATWrapper(nn.Module):
    def __init__(self, shape: HTSATShape):
        super().__init__()
        self.htsat = HTSAT(shape)


class Projection(nn.Module):
    """CLAP's projection into the shared audio-text space."""

    def __init__(self, d_in: int, d_out: int):
        super().__init__()
        self.linear1 = nn.Linear(d_in, d_out, bias=False)
        self.linear2 = nn.Linear(d_out, d_out, bias=False)
        self.layer_norm = nn.LayerNorm(d_out)

    def forward(self, x):
        first = self.linear1(x)
        return self.layer_norm(first + self.linear2(F.gelu(first)))


class CLAPAudioEncoder(nn.Module):
    """msclap's ``AudioEncoder`` (HTSAT + projection): waveform windows [B, N] → [B, projection_dim]."""

    def __init__(self, shape: HTSATShape = HTSATShape()):
        super().__init__()
        self.shape = shape
        self.base = HTSATWrapper(shape)
        self.projection = Projection(shape.num_features, shape.projection_dim)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.projection(self.base.htsat(wave))

"""VGGish (the 128-d embedding before PCA and quantisation), loading torchvggish's published
checkpoint ``vggish-10086976.pth`` with ``torch.load(weights_only=True)``.

Input as AudioSet's reference front end: 16 kHz, 25 ms periodic-Hann frames every 10 ms, 512-point FFT
magnitude, 64 HTK-mel bands 125–7500 Hz, log(mel + 0.01), cut into non-overlapping 0.96 s examples
(96 frames) → one embedding per example (≈1.04 frames/s). Audio shorter than one example (0.975 s)
would give none, so it is padded. Examples are independent, so batching them is exact.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sergen.errors import SergenError
from sergen.extractors.base import EXTRACTORS, Extractor, given_checkpoint, load_weights_only, sha256_of

CHECKPOINT = "vggish-10086976.pth"
URL = "https://github.com/harritaylor/torchvggish/releases/download/v0.1/vggish-10086976.pth"
WINDOW, HOP, FFT, N_MELS, EXAMPLE = 400, 160, 512, 64, 96


def mel_matrix(sample_rate: int = 16000) -> np.ndarray:
    """[257, 64] HTK-mel triangle weights, DC bin zeroed (AudioSet's definition)."""
    def to_mel(hz):
        return 1127.0 * np.log1p(np.asarray(hz) / 700.0)

    bins_mel = to_mel(np.linspace(0, sample_rate / 2, FFT // 2 + 1))
    edges = np.linspace(to_mel(125.0), to_mel(7500.0), N_MELS + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel[:, None] - lower) / (centre - lower)
    falling = (upper - bins_mel[:, None]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0
    return weights


def log_mel_examples(wave: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """[n_examples, 96, 64] log-mel examples of a 16 kHz waveform of at least 0.975 s."""
    n_frames = 1 + (len(wave) - WINDOW) // HOP
    idx = np.arange(WINDOW)[None, :] + HOP * np.arange(n_frames)[:, None]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WINDOW) / WINDOW)  # periodic Hann
    magnitude = np.abs(np.fft.rfft(wave.astype(np.float64)[idx] * window, FFT))
    log_mel = np.log(magnitude @ weights + 0.01)
    n_examples = 1 + (n_frames - EXAMPLE) // EXAMPLE
    return log_mel[: n_examples * EXAMPLE].reshape(n_examples, EXAMPLE, N_MELS).astype(np.float32)


def build_network():
    """VGGish's convolutional stack and embedding layers, named as torchvggish names them."""
    from torch import nn

    layers, channels = [], 1
    for width in (64, "pool", 128, "pool", 256, 256, "pool", 512, 512, "pool"):
        if width == "pool":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(inplace=True)]
            channels = width

    class VGGishNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(*layers)
            self.embeddings = nn.Sequential(nn.Linear(512 * 4 * 6, 4096), nn.ReLU(True),
                                            nn.Linear(4096, 4096), nn.ReLU(True),
                                            nn.Linear(4096, 128), nn.ReLU(True))

        def forward(self, x):
            x = self.features(x)  # [B, 512, 6, 4]
            return self.embeddings(x.permute(0, 2, 3, 1).reshape(x.shape[0], -1))  # TF's channel-last order

    return VGGishNet()


def find_checkpoint(weights) -> Path:
    import torch

    if weights:
        return given_checkpoint(weights, CHECKPOINT, "VGGish", f"download: {URL}")
    cached = Path(torch.hub.get_dir()) / "checkpoints" / CHECKPOINT
    if cached.exists():
        return cached
    raise SergenError(
        "VGGish weights not found", where=str(cached),
        fix=f"download {URL} into {cached.parent} (torch hub's cache; `python -c \"import torch; "
            f"torch.hub.load_state_dict_from_url('{URL}')\"` does it), or pass --weights FILE")


@EXTRACTORS.register("vggish")
class VGGish(Extractor):
    name = "vggish"
    sample_rate = 16000
    frame_rate = 100 / EXAMPLE
    dim = 128
    min_samples = WINDOW + (EXAMPLE - 1) * HOP  # 0.975 s: one example
    batchable = True
    batching = "any utterances batched: independent 0.96 s examples, nothing padded"
    precisions = ("fp32", "bf16", "fp16")
    source = f"torchvggish checkpoint {CHECKPOINT} (torch hub cache or --weights)"

    def __init__(self, device: str = "cpu", weights=None, **options):
        super().__init__(device, weights, **options)
        self._net = None
        self._mel = mel_matrix(self.sample_rate)

    @property
    def checkpoint(self) -> Path:
        return find_checkpoint(self.weights)

    @property
    def net(self):
        if self._net is None:

            net = build_network()
            state = load_weights_only(self.checkpoint, "VGGish", f"use torchvggish's {CHECKPOINT} ({URL})")
            net.load_state_dict(state, strict=True)
            self._net = net.to(self.device).eval()
        return self._net

    def load(self) -> "VGGish":
        _ = self.net
        return self

    def describe_weights(self) -> dict:
        return {"id": CHECKPOINT, "sha256": sha256_of(self.checkpoint)}

    def weights_present(self) -> bool:
        try:
            return self.checkpoint.exists()
        except SergenError:
            return False

    def num_frames(self, n_samples: int) -> int:
        n_frames = 1 + (self.padded_length(n_samples) - WINDOW) // HOP
        return 1 + (n_frames - EXAMPLE) // EXAMPLE

    def embed(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        import torch

        examples = [log_mel_examples(w, self._mel) for w in waveforms]
        x = self.to_device(np.concatenate(examples)[:, None])
        with torch.inference_mode(), self.autocast():
            out = self.net(x).float().cpu().numpy()
        return np.split(out, np.cumsum([len(e) for e in examples])[:-1])

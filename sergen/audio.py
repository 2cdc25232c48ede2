"""Audio I/O: header reads (no decode) for manifests, decode + mono + resample for extraction."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr


@dataclass(frozen=True)
class AudioInfo:
    num_samples: int
    sample_rate: int
    channels: int

    @property
    def duration_s(self) -> float:
        return self.num_samples / self.sample_rate


class AudioError(Exception):
    """A file that cannot be read as audio; the message says why."""


def read_info(path: str | Path) -> AudioInfo:
    """Length, rate and channels from the file header alone."""
    try:
        info = sf.info(str(path))
    except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError, ...
        raise AudioError(f"unreadable audio header ({exc.__class__.__name__}: {exc})") from None
    if info.frames <= 0:
        raise AudioError("audio file holds no samples")
    return AudioInfo(int(info.frames), int(info.samplerate), int(info.channels))


def resampled_length(num_samples: int, rate_in: int, rate_out: int) -> int:
    """Exact output length of soxr.resample: n·out/in rounded half up (checked in tests)."""
    if rate_in == rate_out:
        return num_samples
    return (2 * num_samples * rate_out + rate_in) // (2 * rate_in)


def load_audio(path: str | Path, target_rate: int) -> np.ndarray:
    """Decode to float32 mono at ``target_rate`` (channels averaged, soxr high quality)."""
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise AudioError(f"cannot decode audio ({exc.__class__.__name__}: {exc})") from None
    if data.shape[0] == 0:
        raise AudioError("audio file holds no samples")
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if rate != target_rate:
        mono = soxr.resample(mono, rate, target_rate, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)

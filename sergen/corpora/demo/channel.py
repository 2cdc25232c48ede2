"""Each corpus's recording chain: level, band-limiting EQ, room reverb and background noise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal


@dataclass(frozen=True)
class Channel:
    eq_hz: tuple[float, float]
    snr_db: float
    rt60_s: float
    level_dbfs: float
    noise_color: float  # 0 white … 1 brown-ish


def rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-12))


def apply_channel(rng: np.random.Generator, x: np.ndarray, sr: int, ch: Channel, gain_db: float) -> np.ndarray:
    """Speech at the corpus level plus the emotion's intensity offset, through the corpus's room and line."""
    y = x * 10 ** ((ch.level_dbfs + gain_db - rms_db(x)) / 20)
    if ch.rt60_s > 0:
        n_ir = int(ch.rt60_s * sr)
        t = np.arange(n_ir) / sr
        ir = rng.standard_normal(n_ir) * np.exp(-6.9 * t / ch.rt60_s) * 0.3
        ir[0] = 1.0
        y = signal.fftconvolve(y, ir)[: len(y)] / np.sqrt(1 + np.sum(ir[1:] ** 2))
    sos = signal.butter(2, [ch.eq_hz[0], min(ch.eq_hz[1], 0.45 * sr)], btype="band", fs=sr, output="sos")
    y = signal.sosfilt(sos, y)
    noise = signal.lfilter([1.0], [1.0, -0.98 * ch.noise_color], rng.standard_normal(len(y)))
    noise *= 10 ** ((ch.level_dbfs - ch.snr_db - rms_db(noise)) / 20)
    return np.clip(y + noise, -1.0, 1.0).astype(np.float32)

"""A small source-filter voice: a glottal source with an f0 contour and jitter, spectral tilt, vowel
formants, fricative bursts and a syllable rhythm. Enough to carry emotion by prosody, not to be words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal


@dataclass(frozen=True)
class Speaker:
    """Who speaks: f0 base and vocal-tract length (formant scale) set a voice apart."""

    speaker_id: str
    gender: str
    f0_hz: float
    formant_scale: float
    tempo: float


@dataclass(frozen=True)
class Prosody:
    """How an emotion is rendered: f0 level and range, tempo, intensity, spectral tilt, jitter."""

    f0_ratio: float
    range_st: float
    tempo: float
    gain_db: float
    tilt: float  # one-pole low-pass coefficient on the source: higher = darker, softer voice
    jitter: float  # relative f0 perturbation


def draw_speaker(rng: np.random.Generator, speaker_id: str, gender: str) -> Speaker:
    female = gender == "F"
    return Speaker(
        speaker_id, gender,
        f0_hz=float(rng.uniform(180, 240) if female else rng.uniform(95, 135)),
        formant_scale=float(rng.uniform(1.10, 1.20) if female else rng.uniform(0.95, 1.05)),
        tempo=float(rng.uniform(0.9, 1.1)),
    )


def _resonator(freq_hz: float, bandwidth_hz: float, sr: int):
    """Two-pole resonance (Klatt): one formant."""
    r = np.exp(-np.pi * bandwidth_hz / sr)
    theta = 2 * np.pi * freq_hz / sr
    a = np.array([1.0, -2 * r * np.cos(theta), r * r])
    return np.array([a.sum()]), a


def _f0_track(rng, n, sr, speaker: Speaker, prosody: Prosody, centres: np.ndarray) -> np.ndarray:
    base = speaker.f0_hz * prosody.f0_ratio
    accents = rng.uniform(-0.4, 1.0, len(centres)) * prosody.range_st
    declination = np.linspace(0.0, -2.0, len(centres))
    targets = base * 2 ** ((accents + declination) / 12)
    f0 = np.interp(np.arange(n), centres, targets)
    wobble = signal.lfilter([0.05], [1, -0.95], rng.standard_normal(n)) * prosody.jitter * 4
    return np.clip(f0 * (1 + wobble + prosody.jitter * rng.standard_normal(n) * 0.3), 50, 600)


def synthesise(rng: np.random.Generator, sr: int, speaker: Speaker, prosody: Prosody,
               vowels: np.ndarray, n_syllables: int, syllable_s: float = 0.2) -> np.ndarray:
    """One utterance of ``n_syllables`` syllables at ``sr``, peak-free float32 (not yet level-set)."""
    durations = syllable_s / (prosody.tempo * speaker.tempo) * rng.uniform(0.75, 1.25, n_syllables)
    gaps = rng.uniform(0.02, 0.07, n_syllables) / prosody.tempo
    gaps[rng.random(n_syllables) < 0.15] += 0.15  # an occasional phrase pause
    lengths = (durations * sr).astype(int)
    starts = np.concatenate([[int(0.05 * sr)], np.cumsum(lengths + (gaps * sr).astype(int))[:-1] + int(0.05 * sr)])
    n = int(starts[-1] + lengths[-1] + 0.08 * sr)

    f0 = _f0_track(rng, n, sr, speaker, prosody, starts + lengths / 2)
    phase = np.cumsum(f0) / sr
    source = 2 * (phase % 1.0) - 1.0  # sawtooth: a glottal source with every harmonic
    source = signal.lfilter([1 - prosody.tilt], [1, -prosody.tilt], source)
    source += 0.02 * rng.standard_normal(n)  # breath

    out = np.zeros(n)
    for start, length in zip(starts, lengths):
        seg = source[start:start + length].copy()
        f1, f2, f3 = vowels[rng.integers(len(vowels))] * speaker.formant_scale
        for freq, bw in ((f1, 80), (f2, 110), (f3, 160)):
            b, a = _resonator(min(freq, 0.45 * sr), bw, sr)
            seg = signal.lfilter(b, a, seg)
        env = signal.windows.tukey(length, 0.5) * rng.uniform(0.6, 1.0)
        seg *= env / (np.abs(seg).max() + 1e-9)
        out[start:start + length] += seg
        if rng.random() < 0.6:  # a fricative or burst before the vowel
            burst_len = int(rng.uniform(0.03, 0.08) * sr)
            lo = rng.uniform(1500, 4500)
            sos = signal.butter(2, [lo, min(lo * 1.8, 0.45 * sr)], btype="band", fs=sr, output="sos")
            noise = signal.sosfilt(sos, rng.standard_normal(burst_len)) * signal.windows.hann(burst_len)
            b0 = max(0, start - burst_len // 2)
            out[b0:b0 + burst_len] += 0.15 * noise[: n - b0] / (np.abs(noise).max() + 1e-9)
    return out.astype(np.float32)

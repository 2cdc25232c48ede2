"""The poster's augmentations as views: SpecAugment, time stretching, time shifting, fading,
equalisation, pink noise, reverberation. audiomentations where it has the transform.

audiomentations (1.3 s to import) and scipy are imported when a view is applied, not when views are
registered: every extraction imports this module, most extract no view."""

from __future__ import annotations

import librosa
import numpy as np

from sergen.augment.base import VIEWS, View, with_seeded_global_rng


@VIEWS.register("time-stretch", "stretch")
class TimeStretchView(View):
    name = "time-stretch"
    description = "tempo × U(0.8, 1.25), pitch kept (audiomentations TimeStretch); duration ÷ rate"

    def __init__(self, min_rate: float = 0.8, max_rate: float = 1.25):
        if not 0 < min_rate <= max_rate:
            raise ValueError(f"min_rate must be > 0 and <= max_rate, got {min_rate}, {max_rate}")
        self.min_rate, self.max_rate = min_rate, max_rate

    def draw(self, rng, n_samples, sample_rate):
        return {"rate": float(rng.uniform(self.min_rate, self.max_rate))}

    def out_length(self, n_samples, params):
        return max(1, int(round(n_samples / params["rate"])))

    def apply(self, wave, sample_rate, params):
        import audiomentations as am

        rate = params["rate"]
        stretch = am.TimeStretch(min_rate=rate, max_rate=rate, leave_length_unchanged=False, p=1.0)
        out = stretch(samples=wave, sample_rate=sample_rate)
        return librosa.util.fix_length(out, size=self.out_length(len(wave), params)).astype(np.float32)


@VIEWS.register("time-shift", "shift")
class TimeShiftView(View):
    name = "time-shift"
    description = "circular shift by U(−30%, 30%) of the duration (audiomentations Shift)"

    def draw(self, rng, n_samples, sample_rate):
        return {"fraction": float(rng.uniform(-0.3, 0.3))}

    def apply(self, wave, sample_rate, params):
        import audiomentations as am

        f = params["fraction"]
        return am.Shift(min_shift=f, max_shift=f, shift_unit="fraction", rollover=True, p=1.0)(
            samples=wave, sample_rate=sample_rate).astype(np.float32)


@VIEWS.register("fade")
class FadeView(View):
    name = "fade"
    description = "linear fade-in and fade-out, each over U(10%, 40%) of the duration"

    def draw(self, rng, n_samples, sample_rate):
        return {"fade_in": float(rng.uniform(0.1, 0.4)), "fade_out": float(rng.uniform(0.1, 0.4))}

    def apply(self, wave, sample_rate, params):
        n = len(wave)
        gain = np.ones(n, np.float32)
        n_in, n_out = max(1, int(params["fade_in"] * n)), max(1, int(params["fade_out"] * n))
        gain[:n_in] = np.linspace(0, 1, n_in, endpoint=False)
        gain[n - n_out:] *= np.linspace(1, 0, n_out)
        return wave * gain


@VIEWS.register("eq", "equalisation", "equalization")
class EqualisationView(View):
    name = "eq"
    description = "seven-band parametric EQ, ±12 dB per band (audiomentations SevenBandParametricEQ)"

    def draw(self, rng, n_samples, sample_rate):
        return {"seed": int(rng.integers(2**31))}

    def apply(self, wave, sample_rate, params):
        import audiomentations as am

        eq = am.SevenBandParametricEQ(min_gain_db=-12.0, max_gain_db=12.0, p=1.0)
        return with_seeded_global_rng(params["seed"], lambda: eq(samples=wave, sample_rate=sample_rate)).astype(np.float32)


@VIEWS.register("pink-noise", "pink")
class PinkNoiseView(View):
    name = "pink-noise"
    description = "pink noise (−3.01 dB/octave) at an SNR of U(10, 30) dB (audiomentations AddColorNoise)"

    def draw(self, rng, n_samples, sample_rate):
        return {"snr_db": float(rng.uniform(10, 30)), "seed": int(rng.integers(2**31))}

    def apply(self, wave, sample_rate, params):
        import audiomentations as am

        snr = params["snr_db"]
        noise = am.AddColorNoise(min_snr_db=snr, max_snr_db=snr, min_f_decay=-3.01, max_f_decay=-3.01, p=1.0)
        return with_seeded_global_rng(params["seed"], lambda: noise(samples=wave, sample_rate=sample_rate)).astype(np.float32)


@VIEWS.register("reverb", "reverberation")
class ReverbView(View):
    name = "reverb"
    description = "synthetic room: exponentially decaying noise impulse response, RT60 U(0.2, 0.8) s"

    def draw(self, rng, n_samples, sample_rate):
        rt60 = float(rng.uniform(0.2, 0.8))
        n_ir = int(rt60 * sample_rate)
        t = np.arange(n_ir) / sample_rate
        ir = rng.standard_normal(n_ir) * np.exp(-6.9 * t / rt60)
        ir[0] = 1.0
        return {"rt60_s": rt60, "ir": ir / np.sqrt(np.sum(ir**2))}

    def apply(self, wave, sample_rate, params):
        from scipy import signal

        wet = signal.fftconvolve(wave, params["ir"])[: len(wave)]
        peak = np.abs(wet).max()
        return (wet * (np.abs(wave).max() / peak) if peak > 0 else wet).astype(np.float32)


@VIEWS.register("specaugment", "spec-augment")
class SpecAugmentView(View):
    name = "specaugment"
    description = "SpecAugment on the STFT: two frequency bands (≤15% of bins) and two time spans (≤10%) zeroed"

    n_fft, hop = 512, 128

    def draw(self, rng, n_samples, sample_rate):
        n_bins = self.n_fft // 2 + 1
        n_frames = 1 + n_samples // self.hop
        bands, spans = [], []
        for _ in range(2):
            w = int(rng.integers(1, max(2, int(0.15 * n_bins))))
            bands.append((b := int(rng.integers(0, n_bins - w)), b + w))
            w = int(rng.integers(1, max(2, int(0.10 * n_frames))))
            spans.append((s := int(rng.integers(0, max(1, n_frames - w))), s + w))
        return {"bands": bands, "spans": spans}

    def apply(self, wave, sample_rate, params):
        spec = librosa.stft(wave, n_fft=self.n_fft, hop_length=self.hop)
        for lo, hi in params["bands"]:
            spec[lo:hi] = 0
        for lo, hi in params["spans"]:
            spec[:, lo:hi] = 0
        return librosa.istft(spec, hop_length=self.hop, length=len(wave)).astype(np.float32)

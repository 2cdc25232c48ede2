"""melspec's log-Mel spectrogram with numpy alone, value for value what librosa computes (issue 22).

Why not librosa itself: per utterance, ``librosa.stft`` spends as much CPU in its checks, padding and copies as
in the FFT, and importing it (scipy.signal, numba) costs a fresh ``sergen extract`` seconds. Here each step is
librosa's own operation on the same numbers in the same precision, so stores made before and after hold the
same bits (``tests/extractors/test_log_mel.py`` checks frames, window and filterbank against librosa):

* frames of the signal zero-padded by ``n_fft // 2`` on both sides (librosa's ``center=True``,
  ``pad_mode="constant"``), times a periodic Hann window in float64, as librosa's float64 window promotes them;
* the float64 real FFT of each frame rounded to complex64, its magnitude squared in float32
  (``np.abs(S) ** 2``);
* the Slaney-normalised Mel filterbank (``librosa.filters.mel``'s arithmetic, float32) times the power, with
  the power laid out as librosa's Fortran-ordered STFT matrix: the very same BLAS call;
* ``log(max(mel, floor))``, transposed to frames first without a copy (Fortran order, as before).

Frames are transformed in blocks of ``BLOCK_FRAMES``, so the float64 intermediates stay in the CPU's cache.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

BLOCK_FRAMES = 512


def hann_window(n_fft: int) -> np.ndarray:
    """The periodic Hann window, float64: ``scipy.signal.get_window("hann", n_fft, fftbins=True)``'s arithmetic."""
    fac = np.linspace(-np.pi, np.pi, n_fft + 1, dtype=np.float64)
    window = np.zeros(n_fft + 1, dtype=np.float64)
    for k, a in enumerate((0.5, 0.5)):
        window += a * np.cos(k * fac)
    return window[:-1]


def _hz_to_mel(frequencies: np.ndarray) -> np.ndarray:
    """Slaney's Mel scale (librosa's ``hz_to_mel``, ``htk=False``): linear below 1 kHz, logarithmic above."""
    frequencies = np.asanyarray(frequencies, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = frequencies / f_sp
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    if frequencies.ndim:
        log_t = frequencies >= min_log_hz
        mels[log_t] = min_log_mel + np.log(frequencies[log_t] / min_log_hz) / logstep
    elif frequencies >= min_log_hz:
        mels = min_log_mel + np.log(frequencies / min_log_hz) / logstep
    return mels


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    f_sp = 200.0 / 3
    freqs = f_sp * mels
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    log_t = mels >= min_log_mel
    freqs[log_t] = min_log_hz * np.exp(logstep * (mels[log_t] - min_log_mel))
    return freqs


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """``librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels)``: triangles on Slaney's Mel scale
    from 0 Hz to Nyquist, each normalised to unit area; float32 ``[n_mels, 1 + n_fft // 2]``."""
    weights = np.zeros((n_mels, 1 + n_fft // 2), dtype=np.float32)
    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sample_rate)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(float(sample_rate) / 2), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, np.newaxis]
    return weights


class LogMel:
    """``log_mel(wave)``: the ``[frames, n_mels]`` float32 log-Mel spectrogram of a float32 mono waveform, one
    frame every ``hop`` samples, centred (``1 + len(wave) // hop`` frames)."""

    def __init__(self, sample_rate: int, n_fft: int, hop: int, n_mels: int, floor: float):
        self.n_fft, self.hop, self.floor = n_fft, hop, floor
        self.window = hann_window(n_fft)
        self.filterbank = mel_filterbank(sample_rate, n_fft, n_mels)

    def power(self, wave: np.ndarray) -> np.ndarray:
        """``[frames, 1 + n_fft // 2]`` float32: ``np.abs(librosa.stft(wave)) ** 2``, transposed."""
        half = self.n_fft // 2
        padded = np.zeros(len(wave) + 2 * half, dtype=np.float32)
        padded[half:half + len(wave)] = wave
        frames = sliding_window_view(padded, self.n_fft)[::self.hop]
        power = np.empty((len(frames), self.n_fft // 2 + 1), dtype=np.float32)
        windowed = np.empty((min(len(frames), BLOCK_FRAMES), self.n_fft), dtype=np.float64)
        for start in range(0, len(frames), BLOCK_FRAMES):
            block = windowed[:min(BLOCK_FRAMES, len(frames) - start)]
            np.multiply(frames[start:start + len(block)], self.window, out=block)
            np.abs(np.fft.rfft(block, axis=-1).astype(np.complex64), out=power[start:start + len(block)])
        np.square(power, out=power)
        return power

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        mel = self.filterbank @ self.power(wave).T  # [n_mels, frames]: librosa's product, operand for operand
        np.maximum(mel, self.floor, out=mel)
        np.log(mel, out=mel)
        return mel.T  # Fortran-ordered, as librosa's ``.T.astype(np.float32)`` left it: the store's per-utterance
        # mean and std sum along the frames axis, and numpy sums a contiguous axis pairwise (other bits)

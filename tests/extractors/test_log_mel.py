"""melspec's numpy log-Mel (sergen.extractors.log_mel) gives librosa's values bit for bit: window, filterbank,
and frames of waveforms of every awkward length. Why exact: a store resumed across the change, or made before it,
must hold the same values as one made in one run (issue 22)."""

import numpy as np
import pytest
import scipy.signal
from threadpoolctl import threadpool_limits

import librosa
from sergen.extractors import get_extractor
from sergen.extractors.log_mel import LogMel, hann_window, mel_filterbank


def librosa_log_mel(wave: np.ndarray) -> np.ndarray:
    """melspec's computation before issue 22's CPU work (librosa's STFT and filterbank)."""
    bank = librosa.filters.mel(sr=16000, n_fft=400, n_mels=128)
    power = np.abs(librosa.stft(wave, n_fft=400, hop_length=160, center=True)) ** 2
    with threadpool_limits(limits=1, user_api="blas"):
        mel = bank @ power
    return np.log(np.maximum(mel, 1e-10)).T.astype(np.float32)


def test_window_is_scipys_periodic_hann():
    for n in (400, 512, 1024):
        assert np.array_equal(hann_window(n), scipy.signal.get_window("hann", n, fftbins=True))


@pytest.mark.parametrize("rate,n_fft,n_mels", [(16000, 400, 128), (16000, 512, 64), (22050, 1024, 80)])
def test_filterbank_is_librosas(rate, n_fft, n_mels):
    ours = mel_filterbank(rate, n_fft, n_mels)
    assert ours.dtype == np.float32
    assert np.array_equal(ours, librosa.filters.mel(sr=rate, n_fft=n_fft, n_mels=n_mels))


def waves() -> list[np.ndarray]:
    rng = np.random.default_rng(22)
    lengths = [400, 401, 559, 560, 561, 1600, 16000, 16159, 81920 + 77, 16000 * 7 + 3]  # block edges: 512 frames
    out = [(rng.standard_normal(n) * 0.1).astype(np.float32) for n in lengths]
    t = np.arange(24000) / 16000
    out.append((0.3 * np.sin(2 * np.pi * 220 * t) * np.exp(-3 * t)).astype(np.float32))  # near-silent tail
    quiet = np.zeros(8000, np.float32)
    quiet[4000] = 1e-6
    out.append(quiet)  # bins at the log floor
    return out


def test_frames_equal_librosa_bit_for_bit():
    log_mel = LogMel(16000, 400, 160, 128, floor=1e-10)
    with threadpool_limits(limits=1, user_api="blas"):
        for wave in waves():
            ours, theirs = log_mel(wave), librosa_log_mel(wave)
            assert ours.shape == theirs.shape == (1 + len(wave) // 160, 128)
            # the same layout too: the store's mean and std sum in another order over another layout
            assert ours.dtype == np.float32 and ours.strides == theirs.strides
            assert np.array_equal(ours, theirs), (len(wave), float(np.abs(ours - theirs).max()))


def test_melspec_extractor_gives_librosas_frames():
    melspec = get_extractor("melspec").load()
    for wave in waves()[:6]:
        frames = melspec.embed([wave])[0]
        assert frames.shape == (melspec.num_frames(len(wave)), 128)
        assert np.array_equal(frames, librosa_log_mel(wave))
        assert np.array_equal(frames.mean(0), librosa_log_mel(wave).mean(0))

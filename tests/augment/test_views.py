"""Each view does what its name says, and is the same for the same (utterance, view, seed)."""

import numpy as np
import pytest
from scipy import signal

from sergen.augment import VIEWS, view_rng

SR = 16000


def tone(seconds=2.0, freq=440.0):
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def params(view, wave, utt="u1", seed=0):
    return view.draw(view_rng(utt, view.name, seed), len(wave), SR)


@pytest.mark.parametrize("name", VIEWS.names())
def test_deterministic_per_utterance_and_length_as_planned(name):
    view = VIEWS.get(name)()
    wave = tone() + 0.01 * np.random.default_rng(0).standard_normal(2 * SR).astype(np.float32)
    a, b, c = view(wave, SR, "u1"), view(wave, SR, "u1"), view(wave, SR, "u2")
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert len(a) == view.out_length(len(wave), params(view, wave)) and a.dtype == np.float32


def test_time_stretch_changes_duration_by_its_rate_and_keeps_pitch():
    view = VIEWS.get("time-stretch")()
    wave = tone(freq=300.0)
    for utt in ("a", "b", "c"):
        rate = params(view, wave, utt)["rate"]
        out = view(wave, SR, utt)
        assert 0.8 <= rate <= 1.25
        assert len(out) == round(len(wave) / rate)
        f, p = signal.welch(out, SR, nperseg=4096)
        assert abs(f[p.argmax()] - 300.0) < 10


def test_pink_noise_falls_3db_per_octave():
    view = VIEWS.get("pink-noise")()
    silence_plus = np.full(8 * SR, 1e-3, np.float32)  # a constant carrier: the noise is what is added
    noise = view(silence_plus, SR, "u1") - silence_plus
    f, p = signal.welch(noise, SR, nperseg=4096)
    # audiomentations shapes the noise on a 128-point FFT grid (125 Hz bins at 16 kHz), so the lowest
    # octaves are coarse; between 500 Hz and 4 kHz the slope is the pink −3 dB/octave
    band = (f > 500) & (f < 4000)
    slope = np.polyfit(np.log2(f[band]), 10 * np.log10(p[band]), 1)[0]
    assert slope == pytest.approx(-3.01, abs=0.4)
    snr = params(view, silence_plus)["snr_db"]
    measured = 10 * np.log10(np.mean(silence_plus**2) / np.mean(noise**2))
    assert measured == pytest.approx(snr, abs=0.5)


def test_fade_starts_and_ends_at_zero():
    view = VIEWS.get("fade")()
    wave = np.ones(SR, np.float32)
    out = view(wave, SR, "u1")
    p = params(view, wave)
    assert out[0] == 0 and out[-1] == 0
    assert np.all(np.diff(out[: int(p["fade_in"] * SR)]) > 0)
    middle = slice(int(0.45 * SR), int(0.55 * SR))
    np.testing.assert_array_equal(out[middle], 1.0)


def test_time_shift_rolls_the_signal():
    view = VIEWS.get("time-shift")()
    wave = np.random.default_rng(0).standard_normal(SR).astype(np.float32)
    out = view(wave, SR, "u1")
    shift = int(round(params(view, wave)["fraction"] * SR))
    inner = slice(2000, SR - 2000)
    np.testing.assert_allclose(out[inner], np.roll(wave, shift)[inner], atol=1e-6)


def test_specaugment_zeroes_its_bands():
    view = VIEWS.get("specaugment")()
    wave = np.random.default_rng(1).standard_normal(2 * SR).astype(np.float32)
    out = view(wave, SR, "u1")
    p = params(view, wave)
    import librosa

    spec = np.abs(librosa.stft(out, n_fft=512, hop_length=128))
    lo, hi = p["bands"][0]
    inside = spec[lo + 2:hi - 2].mean() if hi - lo > 4 else spec[lo:hi].mean()
    assert inside < 0.2 * spec.mean()


def test_reverb_adds_a_decaying_tail():
    view = VIEWS.get("reverb")()
    click = np.zeros(SR, np.float32)
    click[1000] = 1.0
    out = view(click, SR, "u1")
    rt60 = params(view, click)["rt60_s"]
    tail = out[1000 + int(0.05 * SR):1000 + int(0.1 * SR)]
    assert np.abs(tail).max() > 0  # energy after the click
    early, late = np.abs(out[1100:1900]).mean(), np.abs(out[1000 + int(rt60 * SR) - 800:1000 + int(rt60 * SR)]).mean()
    assert late < 0.05 * early  # about 60 dB down in amplitude by RT60


def test_unknown_view():
    with pytest.raises(KeyError, match="unknown view 'chorus'"):
        VIEWS.get("chorus")

"""The numpy WAV reader (sergen.audio_wav, issue 22) gives soundfile's values bit for bit on plain 16-bit PCM
files, and leaves every other file to soundfile."""

import numpy as np
import pytest
import soundfile as sf

from sergen.audio import AudioError, load_audio, read_info
from sergen.audio_wav import read_pcm16


def noise(frames: int, channels: int, seed: int = 0) -> np.ndarray:
    """Full-scale 16-bit values, the extremes included: every sample value's conversion is checked."""
    rng = np.random.default_rng(seed)
    data = rng.integers(-32768, 32768, size=(frames, channels), dtype=np.int16)
    data.flat[:2] = (-32768, 32767)
    return data


def soundfile_read(path) -> tuple[np.ndarray, int]:
    return sf.read(str(path), dtype="float32", always_2d=True)


@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("frames", [1, 401, 16000, 48001])
def test_plain_pcm16_equals_soundfile(tmp_path, channels, frames):
    path = tmp_path / "a.wav"
    sf.write(path, noise(frames, channels), 16000 + 8000 * channels, subtype="PCM_16")
    got, rate = read_pcm16(str(path))
    want, want_rate = soundfile_read(path)
    assert rate == want_rate == 16000 + 8000 * channels
    assert got.dtype == want.dtype == np.float32 and got.shape == want.shape == (frames, channels)
    np.testing.assert_array_equal(got, want)


def wav_bytes(chunks: list[tuple[bytes, bytes]]) -> bytes:
    body = b"WAVE" + b"".join(name + len(data).to_bytes(4, "little") + data + b"\0" * (len(data) & 1)
                              for name, data in chunks)
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def fmt_chunk(channels=1, rate=16000, bits=16, tag=1) -> bytes:
    align = channels * bits // 8
    return (tag.to_bytes(2, "little") + channels.to_bytes(2, "little") + rate.to_bytes(4, "little")
            + (rate * align).to_bytes(4, "little") + align.to_bytes(2, "little") + bits.to_bytes(2, "little"))


def test_chunks_before_the_data_and_odd_padding_are_skipped(tmp_path):
    samples = noise(999, 1, seed=3)
    path = tmp_path / "list.wav"
    path.write_bytes(wav_bytes([(b"fmt ", fmt_chunk()), (b"LIST", b"INFOodd"), (b"data", samples.tobytes()),
                                (b"LIST", b"after")]))
    got, rate = read_pcm16(str(path))
    want, _ = soundfile_read(path)
    assert rate == 16000 and got.shape == (999, 1)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(load_audio(path, 16000), want[:, 0])


@pytest.mark.parametrize("subtype", ["PCM_24", "PCM_32", "FLOAT", "PCM_U8", "DOUBLE"])
def test_other_sample_formats_are_left_to_soundfile(tmp_path, subtype):
    path = tmp_path / "other.wav"
    sf.write(path, noise(500, 2).astype(np.float32) / 40000, 16000, subtype=subtype)
    assert read_pcm16(str(path)) is None
    np.testing.assert_array_equal(load_audio(path, 16000), soundfile_read(path)[0].mean(axis=1))


def test_other_containers_and_layouts_are_left_to_soundfile(tmp_path):
    flac = tmp_path / "a.flac"
    sf.write(flac, noise(500, 1), 16000, subtype="PCM_16")
    samples = noise(100, 1).tobytes()
    cases = {
        "flac": flac,
        "cut short": wav_bytes([(b"fmt ", fmt_chunk()), (b"data", samples)])[:-10],
        "data before fmt": wav_bytes([(b"data", samples), (b"fmt ", fmt_chunk())]),
        "unknown length": wav_bytes([(b"fmt ", fmt_chunk()), (b"data", b"")]) + samples,
        "partial frame": wav_bytes([(b"fmt ", fmt_chunk(channels=2)), (b"data", samples[:-2])]),
        "big-endian": b"RIFX" + wav_bytes([(b"fmt ", fmt_chunk()), (b"data", samples)])[4:],
        "extensible tag": wav_bytes([(b"fmt ", fmt_chunk(tag=0xFFFE)), (b"data", samples)]),
        "no data": wav_bytes([(b"fmt ", fmt_chunk())]),
        "empty": b"",
    }
    for what, content in cases.items():
        path = content if not isinstance(content, bytes) else tmp_path / f"{what}.wav"
        if isinstance(content, bytes):
            path.write_bytes(content)
        assert read_pcm16(str(path)) is None, what


def test_a_file_that_cannot_be_read_keeps_soundfiles_message(tmp_path):
    with pytest.raises(AudioError, match="audio file missing"):
        load_audio(tmp_path / "gone.wav", 16000)
    with pytest.raises(AudioError, match="a folder where an audio file belongs"):
        load_audio(tmp_path, 16000)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(wav_bytes([(b"fmt ", fmt_chunk()), (b"data", noise(100, 1).tobytes())])[:-10])
    # soundfile reads the whole frames that are there without a word; sergen names the cut (stop-32 hostile pass)
    with pytest.raises(AudioError, match=r"audio file cut short: its header declares 100 samples, the file holds 95 "
                                         r"\(truncated, or still being copied\)"):
        load_audio(cut, 16000)
    with pytest.raises(AudioError, match="audio file cut short"):
        read_info(cut)


def test_resampled_plain_file_equals_the_soundfile_path(tmp_path, monkeypatch):
    path = tmp_path / "48k.wav"
    sf.write(path, noise(48000 * 2 + 7, 2), 48000, subtype="PCM_16")
    fast = load_audio(path, 16000)
    monkeypatch.setattr("sergen.audio.read_pcm16", lambda p: None)
    np.testing.assert_array_equal(fast, load_audio(path, 16000))

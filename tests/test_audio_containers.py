"""Audio read from video, WebM and compressed containers (PyAV): lengths recorded by the header read are the
lengths extraction decodes, exact samples for lossless ones, and a clear error for no audio."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from sergen.audio import AudioError, load_audio, read_info, resampled_length
from tests.containers import CONTAINERS, LOSSLESS, tone, write_container

N = 12345


@pytest.mark.parametrize("suffix", LOSSLESS)
def test_lossless_containers_give_back_the_exact_samples(tmp_path, suffix):
    x = tone(N)
    path = write_container(tmp_path / f"a{suffix}", x)
    info = read_info(path)
    assert (info.num_samples, info.sample_rate, info.channels) == (N, 16000, 1)
    assert np.array_equal(load_audio(path, 16000), x.astype(np.float32) / 32768)
    assert len(load_audio(path, 8000)) == resampled_length(N, 16000, 8000) == 6173


@pytest.mark.parametrize("suffix", sorted(set(CONTAINERS) - set(LOSSLESS)))
def test_compressed_containers_record_the_length_they_decode_to(tmp_path, suffix):
    """A codec pads and delays (aac by up to a frame), so the header read decodes and counts: extraction,
    decoding again, must find exactly that count, at the stream's own rate (opus is always 48 kHz)."""
    path = write_container(tmp_path / f"a{suffix}", tone(N))
    info = read_info(path)
    assert info.channels == 1
    native = load_audio(path, info.sample_rate)
    assert len(native) == info.num_samples
    expected = N * info.sample_rate // 16000
    assert expected <= info.num_samples <= expected + 2048 + info.sample_rate // 100  # at most padding added
    assert len(load_audio(path, 16000)) == resampled_length(info.num_samples, info.sample_rate, 16000)
    energy = np.sum(native.astype(float) ** 2) / expected
    assert 0.0035 < energy < 0.0046  # the tone's (amplitude 3000/32768: mean square 0.00419), not silence or noise


@pytest.mark.parametrize("suffix", [".mp4", ".webm", ".avi"])
def test_a_video_without_an_audio_stream(tmp_path, suffix):
    path = write_container(tmp_path / f"v{suffix}", None)
    for read in (read_info, lambda p: load_audio(p, 16000)):
        with pytest.raises(AudioError, match=r"^the container holds no audio stream \(only video\)$"):
            read(path)


@pytest.mark.parametrize("suffix", [".avi", ".webm"])
def test_a_container_decoding_to_zero_samples(tmp_path, suffix):
    """A video whose audio stream holds no packet (a muted track)."""
    path = write_container(tmp_path / f"muted{suffix}", np.zeros(0, np.int16))
    for read in (read_info, lambda p: load_audio(p, 16000)):
        with pytest.raises(AudioError, match="^the container's audio stream decodes to zero samples$"):
            read(path)


def test_a_file_that_is_no_container(tmp_path):
    path = tmp_path / "junk.mp4"
    path.write_bytes(b"not a video at all" * 10)
    with pytest.raises(AudioError, match=r"^cannot decode the container \("):
        read_info(path)


def test_a_segment_is_the_same_samples_as_the_file_cut(tmp_path):
    x = tone(N).astype(np.float32) / 32768
    sf.write(tmp_path / "long.flac", x, 16000, subtype="PCM_16")
    cut = load_audio(tmp_path / "long.flac", 16000, offset=1000, frames=4000)
    assert np.array_equal(cut, x[1000:5000])
    container = write_container(tmp_path / "long.avi", tone(N))
    assert np.array_equal(load_audio(container, 16000, offset=1000, frames=4000), x[1000:5000])
    assert len(load_audio(tmp_path / "long.flac", 8000, offset=1000, frames=4000)) == 2000


@pytest.mark.parametrize("offset, frames, message", [
    (N - 100, 101, f"segment [{N - 100}, {N + 1}) ends past the file's end ({N} samples)"),
    (0, 0, "segment of 0 samples at offset 0 is empty or starts before the file"),
])
def test_a_segment_past_the_end_of_its_file(tmp_path, offset, frames, message):
    sf.write(tmp_path / "long.wav", tone(N), 16000)
    write_container(tmp_path / "long.mkv", tone(N))
    for name in ("long.wav", "long.mkv"):
        with pytest.raises(AudioError) as err:
            load_audio(tmp_path / name, 16000, offset=offset, frames=frames)
        assert str(err.value) == message

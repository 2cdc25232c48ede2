"""Compressed audio cut short (hostile pass, stop 35): a FLAC file cut short passed ``sergen manifest`` at its
header's length, then failed at extraction in libsndfile's words alone; an MP3 or Ogg file cut short was
accepted at its shorter length. Now each is named at manifest time, with what its header declares and its size."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sergen.audio import AudioError, load_audio, read_info
from sergen.audio_cut import cut_short_compressed

SAMPLES = 48000


def _tone() -> np.ndarray:
    return (0.3 * np.sin(np.arange(SAMPLES) / 10)).astype(np.float32)


def _encode(path: Path, codec: str, rate: int) -> Path:
    """An MP3 or Ogg file as FFmpeg writes it (through PyAV, which sergen decodes with)."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(_tone()[None, :], format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return path


def _cut(path: Path, fraction: float = 0.6) -> int:
    raw = path.read_bytes()
    path.write_bytes(raw[:int(len(raw) * fraction)])
    return int(len(raw) * fraction)


@pytest.fixture
def flac(tmp_path) -> Path:
    path = tmp_path / "a.flac"
    sf.write(path, _tone(), 16000, format="FLAC")
    return path


def test_a_whole_flac_file_is_read_as_before(flac):
    assert cut_short_compressed(str(flac)) is None
    info = read_info(flac)
    assert (info.num_samples, info.sample_rate) == (SAMPLES, 16000)
    np.testing.assert_array_equal(load_audio(flac, 16000), sf.read(flac, dtype="float32")[0])


def test_a_flac_file_cut_short_is_named_at_manifest_time_with_its_size(flac):
    size = _cut(flac)
    with pytest.raises(AudioError) as exc:
        read_info(flac)
    assert str(exc.value) == (f"audio file cut short: its header declares {SAMPLES:,} samples, but the file "
                              f"({size:,} bytes) ends before the last of them (truncated, or still being copied): "
                              f"{flac}; restore the whole file from the corpus's source")


def test_a_flac_file_cut_after_its_manifest_is_named_at_extraction_in_words(flac):
    _cut(flac)
    with pytest.raises(AudioError) as exc:
        load_audio(flac, 16000)
    assert str(exc.value).startswith("audio file cut short: its header declares 48,000 samples")
    assert "LibsndfileError" not in str(exc.value)


def test_other_decode_failures_lead_with_sergen_words_not_libsndfiles(tmp_path, monkeypatch):
    import sergen.audio as audio

    flac = tmp_path / "a.flac"
    sf.write(flac, _tone(), 16000, format="FLAC")
    monkeypatch.setattr(audio, "cut_short_compressed", lambda path: None)  # a damage the tail check cannot see
    _cut(flac)
    with pytest.raises(AudioError) as exc:
        load_audio(flac, 16000)
    assert str(exc.value).startswith(f"cannot decode the audio file {flac}: its samples are damaged, or the file "
                                     "changed since its manifest was written (the decoder, libsndfile, says: ")
    assert str(exc.value).endswith("rerun `sergen manifest` to list the corpus as it is now")


@pytest.mark.parametrize("name, codec, rate, why", [
    ("a.mp3", "libmp3lame", 16000, "its Xing/Info header declares "),
    ("a.opus", "libopus", 48000, "its last Ogg page is cut"),
])
def test_mp3_and_ogg_files_cut_short_are_named_not_read_shorter(tmp_path, name, codec, rate, why):
    path = _encode(tmp_path / name, codec, rate)
    whole = read_info(path).num_samples
    assert cut_short_compressed(str(path)) is None and whole >= SAMPLES
    _cut(path)
    with pytest.raises(AudioError) as exc:
        read_info(path)
    assert str(exc.value).startswith(f"audio file cut short: {why}") and str(path) in str(exc.value)


def test_an_ogg_file_cut_at_a_page_boundary_lacks_its_end_of_stream_flag(tmp_path):
    path = _encode(tmp_path / "a.opus", "libopus", 48000)
    raw = path.read_bytes()
    last = raw.rfind(b"OggS")
    path.write_bytes(raw[:last])  # whole pages only, the last one gone
    assert cut_short_compressed(str(path)).startswith("its last Ogg page does not end the stream")


def test_an_mp3_file_without_a_length_header_is_not_judged(tmp_path):
    """No Xing/Info/VBRI header, the file whole: its frames end where the file does (nothing said)."""
    path = _encode(tmp_path / "a.mp3", "libmp3lame", 16000)
    raw = bytearray(path.read_bytes())
    for tag in (b"Xing", b"Info"):
        at = raw.find(tag)
        if at >= 0:
            raw[at:at + 4] = b"XXXX"
    path.write_bytes(bytes(raw))
    assert cut_short_compressed(str(path)) is None


def test_a_flac_whose_header_records_no_length_is_named_so_not_as_cut(flac):
    """A streaming encoder writes STREAMINFO's total samples as 0; libsndfile then reports 2**63 - 1 frames, and
    sergen called the whole file cut before its 9,223,372,036,854,775,807th sample (hostile pass)."""
    data = bytearray(flac.read_bytes())
    data[21] &= 0xF0  # the 36-bit total sits in the low 4 bits of byte 21 and in bytes 22-25
    data[22:26] = b"\0\0\0\0"
    flac.write_bytes(bytes(data))
    assert cut_short_compressed(str(flac)) is None
    with pytest.raises(AudioError, match=r"header records no length \(a FLAC from a streaming encoder") as err:
        read_info(flac)
    assert "9,223,372" not in str(err.value)


def test_a_flac_without_a_recorded_length_swapped_in_after_the_manifest_is_named_at_extraction(flac):
    """``load_audio`` (extraction) gave libsndfile's "array is too big" for it (second hostile pass)."""
    data = bytearray(flac.read_bytes())
    data[21] &= 0xF0
    data[22:26] = b"\0\0\0\0"
    flac.write_bytes(bytes(data))
    with pytest.raises(AudioError, match=r"header records no length \(a FLAC from a streaming encoder"):
        load_audio(flac, 16000)


def _without_length_header(path: Path) -> bytes:
    raw = bytearray(path.read_bytes())
    for tag in (b"Xing", b"Info"):
        at = raw.find(tag)
        if at >= 0:
            raw[at:at + 4] = b"XXXX"
    return bytes(raw)


def test_an_mp3_without_a_length_header_cut_inside_a_frame_is_named_from_its_frames(tmp_path):
    """Stop 37: an MP3 without Xing/Info/VBRI was not judged at all; its frames' own headers give each frame's
    length, so a file that ends inside its last frame is a cut (a truncated download)."""
    from sergen.audio_cut import mp3_frame_bytes

    path = _encode(tmp_path / "a.mp3", "libmp3lame", 16000)
    raw = _without_length_header(path)
    first = raw.find(b"\xff\xf3")  # MPEG-2 layer III, no CRC: what libmp3lame writes at 16 kHz
    assert raw[first + 2] == 0x58 and mp3_frame_bytes(raw[first:first + 4]) == 180  # 40 kbit/s: 72 × 40,000 / 16,000
    path.write_bytes(raw)
    assert cut_short_compressed(str(path)) is None  # whole: its last frame ends where the file does
    starts, at = [], first
    while at < len(raw):  # the frames' boundaries, as the walk finds them
        starts.append(at)
        at += mp3_frame_bytes(raw[at:at + 4])
    last = len(raw) - starts[-1]  # the last frame's length (VBR: its own bit rate)
    assert at == len(raw) and last > 8
    path.write_bytes(raw[:-(last // 2)])
    assert cut_short_compressed(str(path)) == (f"its last MP3 frame (at byte {starts[-1]:,}, after {len(starts) - 1:,} "
                                               f"whole frames) declares {last} bytes, the file holds "
                                               f"{last - last // 2} of them")
    with pytest.raises(AudioError, match=r"^audio file cut short: its last MP3 frame"):
        read_info(path)


def test_an_mp3_without_a_length_header_cut_at_a_frame_boundary_or_with_a_tag_is_not_judged(tmp_path):
    from sergen.audio_cut import mp3_frame_bytes

    path = _encode(tmp_path / "a.mp3", "libmp3lame", 16000)
    raw = _without_length_header(path)
    at, ends = raw.find(b"\xff\xf3"), []
    while at < len(raw):
        at += mp3_frame_bytes(raw[at:at + 4])
        ends.append(at)
    path.write_bytes(raw[:ends[len(ends) // 2]])  # whole frames only: as a shorter recording would be
    assert cut_short_compressed(str(path)) is None
    path.write_bytes(raw + b"TAG" + bytes(125))  # an ID3v1 tag after the last frame: the walk stops there
    assert cut_short_compressed(str(path)) is None


def test_mp3_frame_lengths_follow_the_standards_tables():
    from sergen.audio_cut import mp3_frame_bytes

    assert mp3_frame_bytes(bytes([0xFF, 0xFB, 0x90, 0x00])) == 417  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz
    assert mp3_frame_bytes(bytes([0xFF, 0xFB, 0x92, 0x00])) == 418  # the same, padded
    assert mp3_frame_bytes(bytes([0xFF, 0xFD, 0x90, 0x00])) == 522  # layer II, index 9 (160 kbit/s): 144 × 160,000 / 44,100
    assert mp3_frame_bytes(bytes([0xFF, 0xFF, 0x90, 0x00])) == 312  # layer I, index 9 (288 kbit/s): (12 × 288,000 // 44,100) × 4
    assert mp3_frame_bytes(bytes([0xFF, 0xF3, 0x84, 0x00])) == 192  # MPEG-2 layer III, 64 kbit/s, 24 kHz: 72 × 64,000 / 24,000
    assert mp3_frame_bytes(bytes([0xFF, 0xFB, 0x00, 0x00])) is None  # free format: no length in the header
    assert mp3_frame_bytes(bytes([0xFF, 0xFB, 0xF0, 0x00])) is None  # bit-rate index 15: reserved
    assert mp3_frame_bytes(b"TAG\x00") is None

"""A WAV file cut inside its header (or empty) is named as such, not with libsndfile's "No 'data' chunk marker"
nor as a file that "holds no samples" (a hostile pass at stop 32)."""

import numpy as np
import pytest
import soundfile as sf

from sergen.audio import AudioError, load_audio, read_info


@pytest.fixture
def whole(tmp_path):
    path = tmp_path / "whole.wav"
    sf.write(path, np.zeros(1000, np.float32), 16000, subtype="PCM_16")
    return path


@pytest.mark.parametrize("read", [read_info, lambda p: load_audio(p, 16000)], ids=["manifest", "extract"])
@pytest.mark.parametrize("keep", [5, 12, 30, 36, 40, 41, 42, 43])
def test_wav_cut_inside_its_header_is_named_with_its_size(whole, tmp_path, keep, read):
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[:keep])
    with pytest.raises(AudioError) as exc:
        read(cut)
    assert str(exc.value) == (f"audio file cut short inside its WAV header: it ends after {keep} bytes, before its "
                              f"data chunk (truncated, or still being copied): {cut}; restore the whole file from "
                              "the corpus's source")


def test_empty_file_is_named_empty(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioError, match=r"^audio file is empty \(0 bytes\): "):
        read_info(empty)


def test_header_whole_and_no_samples_still_says_so(whole, tmp_path):
    raw = bytearray(whole.read_bytes()[:44])
    raw[40:44] = (0).to_bytes(4, "little")  # a data chunk that declares no samples: a whole, empty recording
    raw[4:8] = (36).to_bytes(4, "little")
    empty = tmp_path / "none.wav"
    empty.write_bytes(bytes(raw))
    with pytest.raises(AudioError, match="^audio file holds no samples$"):
        read_info(empty)


def test_cut_after_the_header_names_samples_declared_and_held(whole, tmp_path):
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[:44 + 200])
    with pytest.raises(AudioError, match=r"^audio file cut short: its header declares 1,000 samples, the file holds 100 "):
        read_info(cut)


def test_other_files_are_not_called_cut_wav_headers(tmp_path):
    flac = tmp_path / "a.flac"
    sf.write(flac, np.zeros(1000, np.float32), 16000, format="FLAC")
    text = tmp_path / "b.wav"
    text.write_text("not audio at all\n")
    for path, raw in ((flac, flac.read_bytes()[:20]), (text, None)):
        if raw is not None:
            path.write_bytes(raw)
        with pytest.raises(AudioError) as exc:
            read_info(path)
        assert "WAV header" not in str(exc.value) and str(exc.value).startswith("unreadable audio header (")

import pandas as pd
import pytest

from sergen.corpora import read_corpus
from sergen.corpora.base import random_split, seeded_speaker_split, split_counts
from sergen.errors import SergenError
from tests.conftest import write_wav


def test_missing_root_names_the_fix(tmp_path):
    with pytest.raises(SergenError) as exc:
        read_corpus("emodb", tmp_path / "nowhere")
    assert "emodb root does not exist" in exc.value.message
    assert "sergen config set-root emodb DIR" in exc.value.message


def test_wrong_layout(tmp_path):
    (tmp_path / "somewhere").mkdir()
    with pytest.raises(SergenError, match="does not look like cremad: missing AudioWAV"):
        read_corpus("cremad", tmp_path / "somewhere")


def test_zero_audio_files(tmp_path):
    (tmp_path / "wav").mkdir()
    with pytest.raises(SergenError, match="no emodb audio files found"):
        read_corpus("emodb", tmp_path)


def test_no_root_configured():
    with pytest.raises(SergenError, match="no root given for ravdess"):
        read_corpus("ravdess")


def test_unreadable_and_duplicate_files_are_excluded_and_reported(tmp_path):
    write_wav(tmp_path / "wav/03a01Fa.wav")
    write_wav(tmp_path / "wav/03a02Fa.wav")
    (tmp_path / "wav/03a04Fa.wav").write_bytes(b"RIFF not really a wav")
    (tmp_path / "wav/03a05Fa.wav").write_bytes(b"")
    result = read_corpus("emodb", tmp_path)
    assert result.manifest.utt_id.tolist() == ["03a01Fa", "03a02Fa"]
    assert len(result.problems) == 2
    assert all(m.startswith("unreadable audio") for _, m in result.problems.items)
    summary = result.problems.summary()
    assert summary.startswith("2 file(s) excluded: 2 × unreadable audio")


def test_duplicate_ids(tmp_path):
    (tmp_path / "labels.csv").write_text("path,label\na/x.wav,happy\na/x.wav,sad\n")
    write_wav(tmp_path / "a/x.wav")
    result = read_corpus("folder", tmp_path)
    assert len(result.manifest) == 1
    assert result.problems.items[0][1] == "duplicate utterance id: 'a__x' already used by a/x.wav"


def test_durations_from_headers(tmp_path):
    write_wav(tmp_path / "wav/03a01Fa.wav", seconds=0.5, sr=16000, channels=2)
    row = read_corpus("emodb", tmp_path).manifest.iloc[0]
    assert (row.num_samples, row.sample_rate, row.channels, row.duration_s) == (8000, 16000, 2, 0.5)


def test_split_helpers():
    assert split_counts(339, (192, 75, 72)) == (192, 75, 72)
    ids = pd.Series([f"u{i:03d}" for i in range(100)])
    a = random_split(ids, (70, 15, 15), seed=3)
    b = random_split(ids.iloc[::-1].reset_index(drop=True), (70, 15, 15), seed=3)
    assert dict(zip(ids, a)) == dict(zip(ids.iloc[::-1], b))  # row order does not matter
    speakers = pd.Series([f"s{i % 10}" for i in range(100)])
    split = seeded_speaker_split(speakers, 2, 2, seed=0)
    per_speaker = pd.DataFrame({"s": speakers, "split": split}).groupby("s").split.nunique()
    assert (per_speaker == 1).all()  # speaker-disjoint
    assert split.value_counts().to_dict() == {"train": 60, "valid": 20, "test": 20}


def test_zero_length_wav_is_excluded(tmp_path):
    write_wav(tmp_path / "wav/03a01Fa.wav")
    write_wav(tmp_path / "wav/03a02Fa.wav", seconds=0.0)  # a valid header, no samples
    result = read_corpus("emodb", tmp_path)
    assert result.manifest.utt_id.tolist() == ["03a01Fa"]
    assert result.problems.items == [("wav/03a02Fa.wav", "unreadable audio: audio file holds no samples")]

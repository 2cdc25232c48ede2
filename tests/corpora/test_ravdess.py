import itertools

from sergen.corpora import read_corpus
from tests.conftest import write_wav


def full_tree(root):
    """All 60 speech + 44 song names per actor, as in the real corpus (short silent files)."""
    for actor in range(1, 25):
        for emo, inten, stmt, rep in itertools.product(range(1, 9), (1, 2), (1, 2), (1, 2)):
            if emo == 1 and inten == 2:
                continue  # neutral has no strong intensity
            write_wav(root / f"Actor_{actor:02d}/03-01-{emo:02d}-{inten:02d}-{stmt:02d}-{rep:02d}-{actor:02d}.wav",
                      seconds=0.01, sr=48000)
        write_wav(root / f"Actor_{actor:02d}/03-02-03-01-01-01-{actor:02d}.wav", seconds=0.01, sr=48000)
    return root


def test_full_corpus_counts_and_split(tmp_path):
    result = read_corpus("ravdess", full_tree(tmp_path))
    df = result.manifest
    assert len(df) == 1440  # 60 speech files × 24 actors: every class kept for --labels native
    four = df[df.label != ""]
    assert len(four) == 864
    assert four["split"].value_counts().to_dict() == {"train": 576, "valid": 144, "test": 144}
    assert dict(result.dropped) == {"song": 24}
    assert df[df.label == ""].native_label.value_counts().to_dict() == {"fearful": 192, "disgust": 192, "surprised": 192}
    calm = df[df.native_label == "calm"]
    assert set(calm.label) == {"neu"} and len(calm) == 24 * 8
    assert df.groupby("split").speaker.nunique().to_dict() == {"test": 4, "train": 16, "valid": 4}
    assert set(df[df.split == "test"].speaker) == {f"Actor_{a}" for a in range(21, 25)}
    assert df.set_index("utt_id").loc["03-01-03-01-01-01-01", "gender"] == "M"
    assert df.set_index("utt_id").loc["03-01-03-01-01-01-02", "gender"] == "F"
    assert set(df.sample_rate) == {48000}


def test_misplaced_file_is_reported(tmp_path):
    write_wav(tmp_path / "Actor_01/03-01-03-01-01-01-01.wav")
    write_wav(tmp_path / "Actor_01/03-01-03-01-01-01-05.wav")
    write_wav(tmp_path / "Actor_01/notes.wav")
    result = read_corpus("ravdess", tmp_path)
    assert len(result.manifest) == 1
    msgs = sorted(m for _, m in result.problems.items)
    assert msgs[0].startswith("actor mismatch: file names actor 05 but sits in Actor_01")
    assert msgs[1].startswith("unparseable file name")

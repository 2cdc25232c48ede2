import itertools

from sergen.corpora import read_corpus
from tests.conftest import write_wav


def test_full_size_split_and_labels(tmp_path):
    # 339 four-class files like the real corpus, plus the dropped emotions
    names = [f"{spk}{text}{emo}a" for spk, text, emo in itertools.product(
        ["03", "08", "09", "10", "11", "12", "13", "14", "15", "16"],
        ["a01", "a02", "a04", "a05", "a07", "b01", "b02", "b03", "b09"], "FTNW")][:339]
    for name in names + ["03a01La", "08a01Ea", "09a01Aa"]:
        write_wav(tmp_path / "wav" / f"{name}.wav", seconds=0.05)
    write_wav(tmp_path / "wav" / "xx_bad.wav", seconds=0.05)
    result = read_corpus("emodb", tmp_path)
    df = result.manifest
    four = df[df.label != ""]  # L, E, A are kept for --labels native; the four classes keep the poster's split
    assert four["split"].value_counts().to_dict() == {"train": 192, "valid": 75, "test": 72}
    assert df[df.label == ""].native_label.tolist() == ["bored", "disgust", "fearful"]
    assert dict(result.dropped) == {}
    row = df.set_index("utt_id").loc["03a01Fa"]
    assert (row.label, row.speaker, row.gender, row.language) == ("hap", "03", "M", "de")
    assert df.set_index("utt_id").loc["08a01Wa", "label"] == "ang"
    assert df.set_index("utt_id").loc["08a01Ta", "gender"] == "F"
    assert result.problems.items[0][0] == "wav/xx_bad.wav"


def test_split_is_deterministic_and_seeded(demo_root):
    a = read_corpus("emodb", demo_root / "emodb").manifest
    b = read_corpus("emodb", demo_root / "emodb").manifest
    c = read_corpus("emodb", demo_root / "emodb", seed=1).manifest
    assert a["split"].tolist() == b["split"].tolist()
    assert a["split"].tolist() != c["split"].tolist()

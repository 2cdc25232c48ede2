import pytest

from sergen.corpora import read_corpus
from sergen.errors import SergenError
from tests.conftest import write_wav

TABLE = """FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set
MSP-PODCAST_0001_0001.wav,H,4,4,4,12,Female,Train
MSP-PODCAST_0001_0002.wav,N,4,4,4,12,Female,Development
MSP-PODCAST_0001_0003.wav,A,4,4,4,Unknown,Male,Test1
MSP-PODCAST_0001_0004.wav,S,4,4,4,13,Male,Test2
MSP-PODCAST_0001_0005.wav,C,4,4,4,13,Male,Train
MSP-PODCAST_0001_0006.wav,S,4,4,4,13,Male,Validation
"""


def make_tree(root, spelling="labels_consensus.csv"):
    for i in range(1, 7):
        write_wav(root / f"Audios/MSP-PODCAST_0001_000{i}.wav")
    (root / "Labels").mkdir()
    (root / "Labels" / spelling).write_text(TABLE)
    return root


@pytest.mark.parametrize("spelling", ["labels_consensus.csv", "labels_concensus.csv"])
def test_sets_classes_and_both_spellings(tmp_path, spelling):
    result = read_corpus("msp-podcast", make_tree(tmp_path, spelling))
    df = result.manifest.set_index("utt_id")
    assert df["split"].to_dict() == {"MSP-PODCAST_0001_0001": "train", "MSP-PODCAST_0001_0002": "valid",
                                     "MSP-PODCAST_0001_0003": "test", "MSP-PODCAST_0001_0005": "train",
                                     "MSP-PODCAST_0001_0006": "valid"}
    assert df["label"].tolist() == ["hap", "neu", "ang", "", "sad"]
    assert df["native_label"].tolist() == ["happy", "neutral", "angry", "contempt", "sad"]
    assert df.loc["MSP-PODCAST_0001_0003", "speaker"] == "unknown"
    assert df.loc["MSP-PODCAST_0001_0001", "gender"] == "F"
    assert dict(result.dropped) == {"set Test2": 1}


def test_test2_on_request(tmp_path):
    df = read_corpus("msp", make_tree(tmp_path), test_set="Test2").manifest
    assert df[df.split == "test"].utt_id.tolist() == ["MSP-PODCAST_0001_0004"]


def test_missing_label_file_and_columns(tmp_path):
    (tmp_path / "Audios").mkdir()
    with pytest.raises(SergenError, match="label file is missing"):
        read_corpus("msp", tmp_path)
    (tmp_path / "Labels").mkdir()
    (tmp_path / "Labels/labels_consensus.csv").write_text("FileName,EmoClass\nx.wav,H\n")
    with pytest.raises(SergenError, match="lacks the column\\(s\\) SpkrID, Gender, Split_Set"):
        read_corpus("msp", tmp_path)

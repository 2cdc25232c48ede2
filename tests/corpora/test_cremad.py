import pytest

from sergen.corpora import read_corpus
from sergen.errors import SergenError
from tests.conftest import write_wav

NAMES = ["1001_DFA_ANG_XX", "1001_IEO_HAP_HI", "1002_TIE_NEU_XX", "1002_IOM_SAD_XX", "1002_DFA_DIS_XX",
         "1001_ITH_FEA_XX", "1002_bad_name"]


def make_tree(root, votes=True):
    for name in NAMES:
        write_wav(root / "AudioWAV" / f"{name}.wav")
    (root / "VideoDemographics.csv").write_text("ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,NH\n1002,21,Female,Asian,NH\n")
    if votes:
        (root / "processedResults").mkdir()
        (root / "processedResults/summaryTable.csv").write_text(
            ",FileName,VoiceVote,FaceVote,MultiModalVote\n"
            "0,1001_DFA_ANG_XX,A,A,A\n1,1001_IEO_HAP_HI,N,H,H\n2,1002_TIE_NEU_XX,A:N,N,N\n3,1002_IOM_SAD_XX,S,S,S\n")
    return root


def test_intended_labels(tmp_path):
    result = read_corpus("crema-d", make_tree(tmp_path))
    df = result.manifest.set_index("utt_id")
    assert df["label"].to_dict() == {"1001_DFA_ANG_XX": "ang", "1001_IEO_HAP_HI": "hap", "1001_ITH_FEA_XX": "",
                                     "1002_DFA_DIS_XX": "", "1002_IOM_SAD_XX": "sad", "1002_TIE_NEU_XX": "neu"}
    assert df.loc["1002_DFA_DIS_XX", "native_label"] == "disgust"  # kept for --labels native
    assert df.loc["1002_TIE_NEU_XX", "gender"] == "F" and df.loc["1001_DFA_ANG_XX", "speaker"] == "1001"
    assert dict(result.dropped) == {}
    assert len(result.problems) == 1 and result.problems.items[0][0] == "AudioWAV/1002_bad_name.wav"
    assert result.problems.items[0][1].startswith("unparseable file name")


def test_perceived_labels_drop_ties(tmp_path):
    result = read_corpus("cremad", make_tree(tmp_path), labels="perceived")
    df = result.manifest.set_index("utt_id")
    assert df.loc["1001_IEO_HAP_HI", "label"] == "neu"  # raters heard neutral
    assert "1002_TIE_NEU_XX" not in df.index  # tie A:N
    assert result.dropped["label A:N"] == 1


def test_perceived_without_vote_table(tmp_path):
    with pytest.raises(SergenError, match="vote table is missing"):
        read_corpus("cremad", make_tree(tmp_path, votes=False), labels="perceived")


def test_random_split_follows_poster_proportions(demo_root):
    df = read_corpus("cremad", demo_root / "cremad").manifest
    four = df[df.label != ""]  # the four classes are split as if alone, in the poster's proportions
    counts = four["split"].value_counts()
    assert counts["valid"] == round(len(four) * 1413 / 6797) and counts["test"] == round(len(four) * 1424 / 6797)
    # each other class on its own, in the same proportions: 12 × 1413/6797 → 2, 12 × 1424/6797 → 3
    others = df[df.label == ""].groupby("native_label").split.value_counts().unstack().to_dict("index")
    assert others == {c: {"test": 3, "train": 7, "valid": 2} for c in ("disgust", "fearful")}

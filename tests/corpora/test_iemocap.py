from collections import Counter


from sergen.corpora import read_corpus
from sergen.corpora.base import Problems
from sergen.corpora.iemocap import IemocapReader
from tests.conftest import write_wav

LINES = """% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]

[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]
C-E2:\tNeutral state;\t()

[10.0100 - 11.3925]\tSes01F_impro01_M003\texc\t[3.0000, 3.5000, 3.0000]
[12.0 - 13.0]\tSes01F_impro01_F001\tfru\t[2.0000, 3.5000, 3.0000]
[13.0 - 14.0]\tSes01F_impro01_F002\txxx\t[2.0000, 3.5000, 3.0000]
[14.0 - 15.0]\tSes01F_impro01_M004\tang\t[1.5000, 4.0000, 4.0000]
[15.0 - 16.0]\tSes01F_impro01_M005\tsad\t[1.5000, 2.0000, 2.0000]
[15.0 - broken line
[17.0 - 18.0]\tSes01F_impro01_F009\thap\t[4.0000, 3.0000, 3.0000]
"""


def make_tree(root):
    (root / "Session1/dialog/EmoEvaluation").mkdir(parents=True)
    (root / "Session1/dialog/EmoEvaluation/Ses01F_impro01.txt").write_text(LINES)
    for utt in ["Ses01F_impro01_F000", "Ses01F_impro01_M003", "Ses01F_impro01_F001", "Ses01F_impro01_M004",
                "Ses01F_impro01_M005"]:  # F009 is missing on purpose
        write_wav(root / f"Session1/sentences/wav/Ses01F_impro01/{utt}.wav")
    return root


def test_labels_speakers_and_problems(tmp_path):
    result = read_corpus("iemo", make_tree(tmp_path))
    df = result.manifest.set_index("utt_id")
    assert sorted(df.index) == ["Ses01F_impro01_F000", "Ses01F_impro01_F001", "Ses01F_impro01_M003",
                                "Ses01F_impro01_M004", "Ses01F_impro01_M005"]
    assert df.loc["Ses01F_impro01_F001", ["native_label", "label"]].tolist() == ["frustrated", ""]
    assert df.loc["Ses01F_impro01_M003", "label"] == "hap"  # exc merged
    assert df.loc["Ses01F_impro01_M003", "native_label"] == "excited"
    assert df.loc["Ses01F_impro01_M003", "speaker"] == "Ses01M"  # not the dialog prefix
    assert df.loc["Ses01F_impro01_F000", "speaker"] == "Ses01F"
    assert df.loc["Ses01F_impro01_M004", "path"] == "Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_M004.wav"
    assert result.dropped == Counter({"label xxx": 1})  # no majority: no class
    messages = [m for _, m in result.problems.items]
    assert any(m.startswith("label line does not parse") for m in messages)
    assert any(m.startswith("missing audio") for m in messages)
    assert len(result.problems) == 2
    assert set(df["fold"]) == {1}


def test_excited_kept_apart(tmp_path):
    result = read_corpus("iemocap", make_tree(tmp_path), merge_excited=False)
    row = result.manifest.set_index("utt_id").loc["Ses01F_impro01_M003"]
    assert (row.native_label, row.label) == ("excited", "")  # kept for --labels native, not in the four
    assert result.dropped == Counter({"label xxx": 1})


def test_split_is_per_speaker(demo_root):
    df = read_corpus("iemocap", demo_root / "iemocap").manifest
    assert set(df[df.split == "valid"].speaker) == {"Ses05F"}
    assert set(df[df.split == "test"].speaker) == {"Ses05M"}
    assert set(df[df.split == "train"].fold) == {1, 2, 3, 4}


def test_scan_ignores_annotator_lines(tmp_path):
    rows = IemocapReader(make_tree(tmp_path)).scan(Problems(), Counter())
    # six lines with a class (xxx has none); F009's missing wav is caught later, at the header read
    assert [r["utt_id"][-4:] for r in rows] == ["F000", "M003", "F001", "M004", "M005", "F009"]

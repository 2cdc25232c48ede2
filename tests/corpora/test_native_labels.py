"""Every utterance with an emotion class of its own is kept (``native_label`` a readable class name, ``label``
its 4-class name or "" outside the four), for ``--labels native``; what has no class is dropped and counted.
Manifests with "" labels round-trip through CSV and into a store; any other label is still refused."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

import sergen
from sergen.corpora import load_manifest, read_corpus, write_manifest
from sergen.corpora.base import check_label
from sergen.errors import SergenError
from sergen.extract import extract
from tests.conftest import write_wav


def classes(df) -> dict[str, str]:
    """native class → 4-class label ("" outside the four), one entry per native class."""
    pairs = set(zip(df.native_label, df.label))
    assert len(pairs) == df.native_label.nunique(), "a native class maps to two labels"
    return dict(sorted(pairs))


# --- each reader on a small tree of its own layout ----------------------------------------------------------

def ravdess_tree(root):
    for emo in range(1, 9):
        write_wav(root / f"Actor_01/03-01-{emo:02d}-01-01-01-01.wav", seconds=0.1, sr=48000)
    write_wav(root / "Actor_01/03-02-06-01-01-01-01.wav", seconds=0.1, sr=48000)  # song: not speech
    return root


def test_ravdess_keeps_its_eight_classes_and_drops_song(tmp_path):
    result = read_corpus("ravdess", ravdess_tree(tmp_path))
    assert classes(result.manifest) == {"angry": "ang", "calm": "neu", "disgust": "", "fearful": "", "happy": "hap",
                                        "neutral": "neu", "sad": "sad", "surprised": ""}
    assert result.dropped == {"song": 1} and result.outside_four == 3
    assert result.manifest.set_index("utt_id").loc["03-01-07-01-01-01-01", "native_label"] == "disgust"


def test_cremad_intended_and_perceived_native_classes(tmp_path):
    names = {"1001_DFA_ANG_XX": "A", "1001_DFA_DIS_XX": "D", "1001_DFA_FEA_XX": "F", "1001_DFA_HAP_XX": "H",
             "1001_DFA_NEU_XX": "A:N", "1001_DFA_SAD_XX": "F"}
    for name in names:
        write_wav(tmp_path / "AudioWAV" / f"{name}.wav")
    (tmp_path / "processedResults").mkdir()
    (tmp_path / "processedResults/summaryTable.csv").write_text(
        "FileName,VoiceVote\n" + "".join(f"{k},{v}\n" for k, v in names.items()))
    intended = read_corpus("cremad", tmp_path)
    assert classes(intended.manifest) == {"angry": "ang", "disgust": "", "fearful": "", "happy": "hap",
                                          "neutral": "neu", "sad": "sad"}
    assert intended.dropped == {}
    perceived = read_corpus("cremad", tmp_path, labels="perceived")
    df = perceived.manifest.set_index("utt_id")
    assert df.loc["1001_DFA_SAD_XX", ["native_label", "label"]].tolist() == ["fearful", ""]  # raters heard fear
    assert "1001_DFA_NEU_XX" not in df.index and perceived.dropped == {"label A:N": 1}  # a tie: no class


def test_emodb_keeps_its_seven_classes(tmp_path):
    for letter in "WLEAFTN":
        write_wav(tmp_path / f"wav/03a01{letter}a.wav")
    result = read_corpus("emodb", tmp_path)
    assert classes(result.manifest) == {"angry": "ang", "bored": "", "disgust": "", "fearful": "", "happy": "hap",
                                        "neutral": "neu", "sad": "sad"}
    assert result.dropped == {} and result.outside_four == 3


IEMOCAP_CODES = ["neu", "hap", "exc", "sad", "ang", "fru", "sur", "fea", "dis", "oth", "xxx", "zzz"]


def iemocap_tree(root):
    lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
    for i, code in enumerate(IEMOCAP_CODES):
        utt = f"Ses01F_impro01_F{i:03d}"
        lines.append(f"[{i}.0 - {i}.5]\t{utt}\t{code}\t[2.5000, 2.5000, 2.5000]")
        write_wav(root / f"Session1/sentences/wav/Ses01F_impro01/{utt}.wav")
    (root / "Session1/dialog/EmoEvaluation").mkdir(parents=True)
    (root / "Session1/dialog/EmoEvaluation/Ses01F_impro01.txt").write_text("\n".join(lines) + "\n")
    return root


@pytest.mark.parametrize("merge_excited, excited", [(True, "hap"), (False, "")])
def test_iemocap_keeps_ten_classes_and_drops_no_majority(tmp_path, merge_excited, excited):
    result = read_corpus("iemocap", iemocap_tree(tmp_path), merge_excited=merge_excited)
    assert classes(result.manifest) == {"angry": "ang", "disgust": "", "excited": excited, "fearful": "",
                                        "frustrated": "", "happy": "hap", "neutral": "neu", "other": "", "sad": "sad",
                                        "surprised": ""}
    assert result.dropped == Counter({"label xxx": 1, "label zzz": 1})  # no majority; a code IEMOCAP never uses
    assert result.outside_four == (5 if merge_excited else 6)


def test_msp_keeps_its_emoclasses_and_drops_no_agreement(tmp_path):
    codes = "AHNSCDFUOX"
    rows = ["FileName,EmoClass,SpkrID,Gender,Split_Set"]
    for i, code in enumerate(codes):
        write_wav(tmp_path / f"Audios/MSP-PODCAST_0001_{i:04d}.wav")
        rows.append(f"MSP-PODCAST_0001_{i:04d}.wav,{code},12,Female,{'Test1' if code == 'A' else 'Train'}")
    (tmp_path / "Labels").mkdir()
    (tmp_path / "Labels/labels_consensus.csv").write_text("\n".join(rows) + "\n")
    result = read_corpus("msp", tmp_path)
    assert classes(result.manifest) == {"angry": "ang", "contempt": "", "disgust": "", "fearful": "", "happy": "hap",
                                        "neutral": "neu", "other": "", "sad": "sad", "surprised": ""}
    assert result.dropped == {"label X": 1} and len(result.manifest) == 9


def test_folder_keeps_a_users_own_classes_as_written(tmp_path):
    for i in range(5):
        write_wav(tmp_path / f"clips/c{i}.wav")
    (tmp_path / "labels.csv").write_text("path,label\nclips/c0.wav,happy\nclips/c1.wav, Fear \nclips/c2.wav,\n"
                                         "clips/c3.wav,boredom\nclips/c4.wav,calm\n")
    result = read_corpus("folder", tmp_path, name="mine")
    assert classes(result.manifest) == {"Fear": "", "boredom": "", "calm": "neu", "happy": "hap"}
    assert result.dropped == {"no label": 1}


def test_only_classes_outside_the_four_still_make_a_manifest_with_warnings(tmp_path):
    for i in range(2):
        write_wav(tmp_path / f"clips/c{i}.wav")
    (tmp_path / "labels.csv").write_text("path,label\nclips/c0.wav,fear\nclips/c1.wav,boredom\n")
    result = read_corpus("folder", tmp_path, name="mine")
    assert result.outside_four == 2
    assert result.warnings[0] == ("class hap is empty in mine: no utterance maps to it (left out: boredom "
                                  "(1, kept for --labels native), fear (1, kept for --labels native))")
    assert len(result.warnings) == 4


def test_the_four_class_random_split_does_not_move_when_other_classes_are_kept(tmp_path):
    for spk in ("03", "08", "09"):
        for text in ("a01", "a02", "a04", "a05"):
            for letter in "FTNW":
                write_wav(tmp_path / f"wav/{spk}{text}{letter}a.wav", seconds=0.02)
    four = read_corpus("emodb", tmp_path, seed=3).manifest
    for spk in ("03", "08", "09"):
        for letter in "LEA":
            write_wav(tmp_path / f"wav/{spk}a01{letter}a.wav", seconds=0.02)
    every = read_corpus("emodb", tmp_path, seed=3).manifest
    kept = every[every.label != ""].reset_index(drop=True)
    assert kept[["utt_id", "split"]].equals(four[["utt_id", "split"]])
    # each other class is split on its own, in the same proportions (3 × 75/339 and 3 × 72/339 round to 1 each)
    others = every[every.label == ""]
    assert others.groupby("native_label").split.apply(lambda s: sorted(s)).to_dict() == {
        c: ["test", "train", "valid"] for c in ("bored", "disgust", "fearful")}


# --- the demo corpora carry each corpus's own classes -------------------------------------------------------

DEMO_NATIVE = {
    "iemocap": {"angry": 60, "disgust": 10, "excited": 40, "fearful": 10, "frustrated": 20, "happy": 40,
                "neutral": 80, "other": 10, "sad": 60, "surprised": 10},
    "cremad": {"angry": 48, "disgust": 12, "fearful": 12, "happy": 48, "neutral": 48, "sad": 48},
    "msp": {"angry": 45, "contempt": 19, "disgust": 11, "fearful": 11, "happy": 64, "neutral": 78, "other": 11,
            "sad": 44, "surprised": 19},
    "emodb": {"angry": 40, "bored": 10, "disgust": 10, "fearful": 10, "happy": 40, "neutral": 40, "sad": 40},
    "ravdess": {"angry": 48, "calm": 24, "disgust": 24, "fearful": 24, "happy": 48, "neutral": 24, "sad": 48,
                "surprised": 24},
}
# the four classes as the demo made them before the other classes were kept: the same files, labels and splits
DEMO_FOUR = {"iemocap": {"hap": 80, "sad": 60, "neu": 80, "ang": 60}, "cremad": {"hap": 48, "sad": 48, "neu": 48, "ang": 48},
             "msp": {"hap": 64, "sad": 44, "neu": 78, "ang": 45}, "emodb": {"hap": 40, "sad": 40, "neu": 40, "ang": 40},
             "ravdess": {"hap": 48, "sad": 48, "neu": 48, "ang": 48}}
DEMO_DROPPED = {"iemocap": {"label xxx": 20}, "cremad": {}, "msp": {"label X": 6, "set Test2": 22}, "emodb": {},
                "ravdess": {"song": 24}}


@pytest.mark.parametrize("corpus", list(DEMO_NATIVE))
def test_demo_corpora_have_their_real_corpus_native_classes(demo_root, corpus):
    result = read_corpus(corpus, demo_root / corpus)
    df = result.manifest
    assert df.native_label.value_counts().to_dict() == DEMO_NATIVE[corpus]
    assert len(DEMO_NATIVE[corpus]) == {"iemocap": 10, "cremad": 6, "msp": 9, "emodb": 7, "ravdess": 8}[corpus]
    assert df[df.label != ""].label.value_counts().to_dict() == DEMO_FOUR[corpus]
    assert dict(result.dropped) == DEMO_DROPPED[corpus]
    assert result.warnings == []
    # every native class is in every split, so a native protocol can train and score each
    assert (df.groupby("native_label").split.nunique() == 3).all()


# --- manifests with "" labels: CSV round trip, store, refusal of any other label ---------------------------

def test_empty_labels_round_trip_through_the_manifest_and_into_a_store(tmp_path):
    result = read_corpus("ravdess", ravdess_tree(tmp_path / "ravdess"))
    path = write_manifest(result)
    raw = path.read_text().splitlines()
    assert sum(",disgust," in line and ",,disgust," in line for line in raw) == 1  # "" is an empty CSV field
    df, _ = load_manifest("ravdess")
    assert df.label.tolist() == result.manifest.label.tolist()
    assert (df.label == "").sum() == 3 and not df.label.isna().any() and "nan" not in set(df.label)
    report = extract("melspec", "ravdess", show_progress=False)
    assert report.complete and report.written == 8  # extracted like any other utterance
    ds = sergen.open_store("melspec", "ravdess")
    stored = dict(zip(ds.utt_id.values, zip(ds.label.values, ds.native_label.values)))
    assert stored["03-01-06-01-01-01-01"] == ("", "fearful") and stored["03-01-08-01-01-01-01"] == ("", "surprised")
    assert stored["03-01-02-01-01-01-01"] == ("neu", "calm")
    assert "nan" not in set(ds.label.values) and sorted(set(ds.label.values)) == ["", "ang", "hap", "neu", "sad"]


@pytest.mark.parametrize("bad", ["fear", "nan", "NA", "Hap"])
def test_a_label_outside_the_four_that_is_not_empty_is_refused_by_line(tmp_path, bad):
    path = write_manifest(read_corpus("ravdess", ravdess_tree(tmp_path / "ravdess")))
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[4, "label"] = bad
    df.to_csv(path, index=False)
    with pytest.raises(SergenError) as err:
        load_manifest("ravdess")
    assert err.value.what == ("the ravdess manifest has labels other than hap, sad, neu, ang or empty (a class "
                              "outside the four) (line(s) 6)")
    assert err.value.fix == "correct those rows, or rebuild it with `sergen manifest ravdess --root DIR`"


def test_a_row_with_neither_label_nor_native_class_is_refused_by_line(tmp_path):
    path = write_manifest(read_corpus("ravdess", ravdess_tree(tmp_path / "ravdess")))
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[[0, 6], "label"] = ""
    df.loc[[0, 6], "native_label"] = ""
    df.to_csv(path, index=False)
    with pytest.raises(SergenError) as err:
        load_manifest("ravdess")
    assert err.value.what == ("the ravdess manifest has rows with neither a label nor a native_label (an utterance "
                              "without a class) (line(s) 2, 8)")


def test_check_label():
    assert check_label("") == "" and check_label("ang") == "ang"
    with pytest.raises(ValueError, match="'fear' is neither one of"):
        check_label("fear")


def test_manifest_prints_the_outside_column_native_classes_and_the_count_within_80_columns(tmp_path):
    import os
    import subprocess
    import sys

    root = iemocap_tree(tmp_path / "iemocap")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}  # a pipe: rich's width is 80
    proc = subprocess.run([sys.executable, "-c", "from sergen.cli import main; main()", "manifest", "iemocap",
                           "--root", str(root)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "┃ split ┃ hap ┃ sad ┃ neu ┃ ang ┃ outside ┃ total ┃" in lines
    assert "│ all   │   2 │   1 │   1 │   1 │       5 │    10 │" in lines  # exc merged into hap
    assert "│ excited    │ hap     │     1 │     0 │    0 │   1 │" in lines
    assert "│ frustrated │ -       │     1 │     0 │    0 │   1 │" in lines
    assert "5 utterances outside the four classes (column outside) kept for --labels native" in lines
    assert "left out (no emotion class of their own, song, or another set): label xxx (1), label zzz (1)" in lines
    assert max(len(line) for line in lines if line[:1] in "┃│┏┡└") <= 80

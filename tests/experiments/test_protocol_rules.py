"""The protocol rules on hand-made tables: label sets, label maps, folds, validation carving, leaks, shared
classes (no stores: ``sergen.protocols.protocol`` works on a manifest's columns alone)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sergen.errors import SergenError
from sergen.protocols.protocol import (class_labels, fold_splits, n_folds, parse_folds, parse_labels, read_label_map,
                                       run_classes, table_from)


def corpus_table(n_speakers=10, per_speaker=6, corpus="toy", **columns):
    speakers = np.repeat([f"spk{i:02d}" for i in range(n_speakers)], per_speaker)
    natives = np.tile(["neutral", "happy", "sad", "angry", "calm", "fearful"], n_speakers)[: len(speakers)]
    four = pd.Series(natives).map({"neutral": "neu", "happy": "hap", "sad": "sad", "angry": "ang"}).fillna("")
    df = pd.DataFrame({"utt_id": [f"u{i:03d}" for i in range(len(speakers))], "path": "a.wav",
                       "speaker": speakers, "native_label": natives, "label": four,
                       "split": np.where(np.arange(len(speakers)) % 5 == 0, "test", "train"), **columns})
    return table_from(df, corpus, f"{corpus}.csv")


def test_label_sets_four_native_and_a_map_file(tmp_path):
    pt = corpus_table()
    assert class_labels(pt, "4").value_counts().to_dict() == {"": 20, "neu": 10, "hap": 10, "sad": 10, "ang": 10}
    assert sorted(set(class_labels(pt, "native"))) == ["angry", "calm", "fearful", "happy", "neutral", "sad"]
    mapping = tmp_path / "arousal.csv"
    mapping.write_text("native,label,corpus\nangry,high,\nhappy,high,\nfearful,high,\nsad,low,\ncalm,low,\n"
                       "neutral,,\nsad,high,iemocap\n")
    labels = parse_labels(str(mapping))
    assert labels == f"map:{mapping.resolve()}"
    mapped = class_labels(pt, labels)
    assert mapped.value_counts().to_dict() == {"high": 30, "low": 20, "": 10}  # neutral mapped to nothing: left out
    assert (mapped[pt.table.native_label == "sad"] == "low").all()  # the line for corpus iemocap does not apply


@pytest.mark.parametrize("text, message", [
    ("native,label\n,hap\n", "line 2 of the label map has no native class"),
    ("from,to\nangry,ang\n", "it needs native and label"),
    ("native,label\nangry,ang\nangry,hap\n", "maps the same native class twice (lines 2, 3)"),
    ("native,label\nangry,\nsad,\n", "maps every class to nothing"),
    ("native,label,corpus\nangry,ang,\nsad,sad,iemocapp\n", "line 3 of the label map names corpus 'iemocapp', which is "
                                                            "not a corpus sergen knows"),
])
def test_bad_label_maps_are_refused_with_the_line(tmp_path, text, message):
    mapping = tmp_path / "map.csv"
    mapping.write_text(text)
    with pytest.raises(SergenError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        parse_labels(str(mapping))
    assert info.value.where == str(mapping.resolve())


def test_a_label_maps_corpus_column_takes_aliases(tmp_path):
    """``crema-d`` in the corpus column is CREMA-D (``cremad``): its lines apply to it, not to nothing."""
    mapping = tmp_path / "map.csv"
    mapping.write_text("native,label,corpus\nangry,ang,crema-d\nsad,sad,\n")
    assert read_label_map(str(mapping), 0)["corpus"].tolist() == ["cremad", ""]


def test_a_map_that_maps_nothing_of_a_corpus_is_refused(tmp_path):
    mapping = tmp_path / "map.csv"
    mapping.write_text("native,label\nW,ang\n")
    with pytest.raises(SergenError, match="maps no utterance of toy to a class"):
        class_labels(corpus_table(), parse_labels(str(mapping)))


def test_unknown_label_sets_and_fold_schemes_are_refused():
    with pytest.raises(SergenError, match="neither 4, native nor a mapping file"):
        parse_labels("five")
    for bad in ("speaker:1", "speaker:x", "speaker:101"):
        with pytest.raises(SergenError, match="whole number from 2 to 100"):
            parse_folds(bad)
    with pytest.raises(SergenError, match="is not a fold scheme"):
        parse_folds("loso")
    for missing in ("MISSING.CSV", "folds/mine.txt", "file:gone"):  # meant as a file: named as missing (hostile 36)
        with pytest.raises(SergenError, match=f"--folds '{missing}': no such fold file") as refused:
            parse_folds(missing)
        assert refused.value.where == str(Path(missing.removeprefix("file:")).expanduser())
    assert parse_folds("speaker:04") == "speaker:4" and parse_folds("") == "" and parse_folds("corpus") == "corpus"


def test_speaker_folds_test_every_utterance_once_and_never_share_a_speaker():
    pt = corpus_table(n_speakers=10)
    splits = [fold_splits(pt, "speaker:4", k) for k in range(1, 5)]
    tested = pd.concat([s[s == "test"] for s in splits])
    assert sorted(tested.index) == sorted(pt.table.index)  # each utterance tested in exactly one fold
    speaker = pt.table.speaker
    for split in splits:
        sides = {part: set(speaker[split == part]) for part in ("train", "valid", "test")}
        assert not (sides["train"] & sides["test"]) and not (sides["valid"] & sides["test"])
        assert not (sides["train"] & sides["valid"])  # validation speakers are held out from training
        n_train_speakers = len(sides["train"]) + len(sides["valid"])
        assert len(sides["valid"]) == max(1, round(0.2 * n_train_speakers))
        assert (split != "").all()
    assert fold_splits(pt, "speaker:4", 2).equals(splits[1])  # fixed: the same folds every time
    assert [len(set(speaker[s == "test"])) for s in splits] == [3, 3, 2, 2]


def test_speaker_folds_need_speakers():
    with pytest.raises(SergenError, match="has 4 speakers: too few for 4 speaker folds"):
        fold_splits(corpus_table(n_speakers=4), "speaker:4", 1)
    pt = corpus_table()
    pt.table.loc["u000", "speaker"] = ""
    with pytest.raises(SergenError, match="1 utterance\\(s\\) of toy have no speaker"):
        fold_splits(pt, "speaker:4", 1)


def test_the_corpus_own_folds_leave_one_session_out():
    sessions = np.repeat([1, 2, 3, 4, 5], 12)
    pt = corpus_table(n_speakers=10, fold=sessions.astype(str))  # two speakers per session, as IEMOCAP
    assert n_folds(pt, "corpus") == 5
    for k in range(1, 6):
        split = fold_splits(pt, "corpus", k)
        assert (split[sessions == k] == "test").all() and not (split[sessions != k] == "test").any()
        assert (split == "valid").sum() == 12  # 20 % of the 8 training speakers → 2 speakers × 6
    utterance_wise = fold_splits(pt, "corpus", 1, valid_by="utterance")  # SUPERB: 20 % of training utterances
    assert (utterance_wise == "valid").sum() == round(0.2 * 48)


def test_emobox_fold_roles_are_taken_as_written():
    roles = ["train|test", "test|train", "valid|valid", "train|-"] * 15
    pt = corpus_table(emobox_folds=roles[:60], speaker=[""] * 60)
    assert n_folds(pt, "corpus") == 2
    first, second = fold_splits(pt, "corpus", 1), fold_splits(pt, "corpus", 2)
    assert first.value_counts().to_dict() == {"train": 30, "test": 15, "valid": 15}
    assert second.value_counts().to_dict() == {"train": 15, "test": 15, "valid": 15, "": 15}


def test_a_fold_file_and_its_leaks(tmp_path):
    pt = corpus_table(n_speakers=6)
    ids = list(pt.table.index)
    good = tmp_path / "folds.csv"
    good.write_text("utt_id,fold\n" + "".join(f"{u},{1 + i // 12}\n" for i, u in enumerate(ids)))
    folds = parse_folds(str(good))
    assert n_folds(pt, folds) == 3
    assert (fold_splits(pt, folds, 2)[ids[12:24]] == "test").all()
    leaky = tmp_path / "leaky.csv"
    leaky.write_text("utt_id,fold\n" + "".join(f"{u},{1 + i % 3}\n" for i, u in enumerate(ids)))
    with pytest.raises(SergenError, match="fold 1 of --folds file:.* puts speaker\\(s\\) spk00, spk01"):
        fold_splits(pt, parse_folds(str(leaky)), 1)
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("utt_id,fold\nu000,1\nnot-there,2\n")
    with pytest.raises(SergenError, match="names 1 utterance\\(s\\) that toy does not have \\(e.g. 'not-there'\\)"):
        fold_splits(pt, parse_folds(str(unknown)), 1)
    for text, message in (("utt_id,fold\nu000,0\n", "line 2 of the fold file has fold '0'"),
                          ("utt,fold\nu000,1\n", "it needs utt_id and fold"),
                          ("utt_id,fold\nu000,1\nu000,2\n", "'u000' is in the fold file twice")):
        bad = tmp_path / "bad.csv"
        bad.write_text(text)
        with pytest.raises(SergenError, match=message):
            parse_folds(str(bad))


def test_cross_corpus_runs_keep_the_shared_classes_and_count_the_rest():
    a = pd.Series(["angry", "happy", "sad", "calm", "calm", ""])
    b = pd.Series(["angry", "happy", "sad", "bored", "neutral", "sad"])
    classes, left_out = run_classes({"a": a, "b": b}, "native", ("a",), ("a", "b"))
    assert classes == ("angry", "happy", "sad")
    assert left_out == {"a": {"calm": 2}, "b": {"bored": 1, "neutral": 1}}
    with pytest.raises(SergenError, match="share 1 class\\(es\\) under --labels native \\(angry\\); a head needs two"):
        run_classes({"a": a, "c": pd.Series(["angry", "disgust"])}, "native", ("a",), ("c",))
    four, none_left = run_classes({"a": a, "b": b}, "4", ("a",), ("b",))
    assert four == ("hap", "sad", "neu", "ang") and none_left == {}

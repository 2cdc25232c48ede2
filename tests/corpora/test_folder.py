from sergen.corpora import read_corpus
from tests.conftest import write_wav


def test_csv_with_synonyms_and_splits(tmp_path):
    for i in range(4):
        write_wav(tmp_path / f"clips/c{i}.wav")
    (tmp_path / "labels.csv").write_text(
        "path,label,speaker,split\nclips/c0.wav,happy,s1,train\nclips/c1.wav,Anger,s1,dev\n"
        "clips/c2.wav,surprise,s2,test\nclips/c3.wav,calm,s2,holdout\n")
    result = read_corpus("folder", tmp_path, name="mine")
    df = result.manifest
    assert df[["utt_id", "label", "native_label", "split"]].values.tolist() == [
        ["clips__c0", "hap", "happy", "train"], ["clips__c1", "ang", "Anger", "valid"], ["clips__c2", "", "surprise", "test"]]
    assert set(df.corpus) == {"mine"}
    assert result.dropped == {}
    assert "unknown split: 'holdout'" in result.problems.items[0][1]


# --- --csv is read where the user typed it, and recorded -------------------------------------------------

import json  # noqa: E402

import pytest  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from sergen.cli import app  # noqa: E402
from sergen.errors import SergenError  # noqa: E402


def corpus_with_csv(root):
    for i in range(3):
        write_wav(root / f"clips/c{i}.wav")
    (root / "labels.csv").write_text("path,label,split\nclips/c0.wav,happy,train\nclips/c1.wav,sad,valid\n"
                                     "clips/c2.wav,angry,test\n")


def test_relative_csv_is_read_from_the_working_directory_and_recorded(tmp_path, monkeypatch):
    corpus_with_csv(tmp_path / "corpus")
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists/mine.csv").write_text("path,label,split\nclips/c0.wav,neutral,train\n")
    monkeypatch.chdir(tmp_path / "lists")
    result = CliRunner().invoke(app, ["manifest", "folder", "--root", "../corpus", "--csv", "mine.csv", "--name", "mine"])
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "manifests/mine.json").read_text())
    assert meta["options"]["csv"] == str(tmp_path / "lists/mine.csv")
    assert meta["rows"] == 1  # the typed CSV, not the corpus's own labels.csv (3 rows)


def test_missing_relative_csv_points_at_the_copy_in_the_root(tmp_path, monkeypatch):
    corpus_with_csv(tmp_path / "corpus")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SergenError) as err:
        read_corpus("folder", tmp_path / "corpus", csv="labels.csv")
    assert err.value.what == "label CSV is missing (a relative --csv is read from the working directory)"
    assert err.value.where == str(tmp_path / "labels.csv")
    assert err.value.fix.endswith(f"there is one in the corpus root: pass --csv {tmp_path / 'corpus/labels.csv'}")


@pytest.mark.parametrize("content, what", [
    (b"", "the label CSV is empty"),
    (b"path,label\nclips/c0.wav,caf\xe9\n", "the label CSV is not UTF-8 text (line 2, byte 0xe9)"),
    (b'path,label\n"clips/c0.wav,happy\n', "the label CSV is not a well-formed CSV"),
])
def test_unreadable_label_csv(tmp_path, content, what):
    corpus_with_csv(tmp_path)
    (tmp_path / "labels.csv").write_bytes(content)
    with pytest.raises(SergenError) as err:
        read_corpus("folder", tmp_path)
    assert err.value.what.startswith(what)
    assert err.value.where == str(tmp_path / "labels.csv")

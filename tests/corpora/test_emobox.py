"""EmoBox's metadata read into a sergen manifest: exact utterances, classes and folds of files written in
EmoBox's format by the test, over tiny wavs; and every bad input as one clear error, nothing written."""

from __future__ import annotations

import json
import sys

import pytest

from sergen.cli import main
from sergen.corpora import read_corpus
from sergen.corpora.manifest import load_manifest
from sergen.errors import SergenError
from sergen.protocols.emobox import read_dataset, relative_audio_path
from tests.emobox_files import record, toy_crema, toy_ravdess, write_dataset, write_jsonl
from tests.conftest import write_wav


@pytest.fixture
def box(tmp_path):
    """An EmoBox checkout with two datasets, and each dataset's audio in its own folder."""
    checkout = tmp_path / "EmoBox"
    toy_ravdess(checkout, tmp_path / "ravdess_audio")
    toy_crema(checkout, tmp_path / "crema_audio")
    return tmp_path


@pytest.fixture
def cli(capsys, monkeypatch):
    """``cli(*args)`` → (exit code, stdout + stderr on one line) of ``sergen ARGS`` run in this process."""
    import typer.rich_utils

    from sergen.console import console, err_console

    for con in (console, err_console):
        monkeypatch.setattr(con, "width", 4000)
    monkeypatch.setattr(typer.rich_utils, "MAX_WIDTH", 4000)  # click's usage errors on one line too
    box_chars = str.maketrans({c: " " for c in "│╭╮╰╯─"})

    def run(*args) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["sergen", *map(str, args)])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_:
            main()
        out = capsys.readouterr()
        assert "Traceback" not in out.out + out.err
        return (exit_.value.code or 0), " ".join((out.out + out.err).translate(box_chars).split())

    return run


def read_ravdess(box, **options):
    return read_corpus("emobox", box / "ravdess_audio", dataset="toyravdess", emobox=box / "EmoBox", **options)


def by_speaker(df, column):
    return df.groupby("speaker")[column].agg(lambda s: sorted(set(s))).to_dict()


# --- what the manifest holds --------------------------------------------------------------------------------

def test_speaker_folds_classes_and_split(box):
    result = read_ravdess(box)
    df = result.manifest
    assert len(df) == 20 and result.dropped == {}  # EmoBox's Calm is not one of the four: kept, label ""
    assert set(df.corpus) == {"emobox-toyravdess"}
    row = df.set_index("utt_id").loc["toyravdess-s2_happy"]
    assert (row.path, row.native_label, row.emobox_emo, row.label) == ("Actor_s2/s2_happy.wav", "Happy", "happy", "hap")
    assert sorted(set(zip(df.native_label, df.label))) == [("Angry", "ang"), ("Calm", ""), ("Happy", "hap"),
                                                           ("Neutral", "neu"), ("Sad", "sad")]
    assert by_speaker(df, "emobox_folds") == {"s1": ["test|train"], "s2": ["test|train"], "s3": ["train|test"],
                                              "s4": ["train|test"]}
    assert by_speaker(df, "fold") == {"s1": [1], "s2": [1], "s3": [2], "s4": [2]}
    # split = fold 1: s1, s2 test; one of fold 1's two training speakers (20 %, at least one) validates
    splits = by_speaker(df, "split")
    assert splits["s1"] == splits["s2"] == ["test"]
    assert sorted([splits["s3"], splits["s4"]]) == [["train"], ["valid"]]
    assert result.meta["options"] == {"seed": 0, "emobox": str(box / "EmoBox"), "dataset": "toyravdess", "folds": 2,
                                      "speaker_independent": True, "valid": "20% of fold 1's training speakers (seeded)"}
    assert not [w for w in result.warnings if "speaker-independent" in w]
    assert read_ravdess(box).manifest.equals(df)  # seeded: the same split again


def test_official_valid_file_raw_codes_and_unknown_speakers(box):
    result = read_corpus("emobox", box / "crema_audio", dataset="toycrema", emobox=box / "EmoBox")
    df = result.manifest
    assert result.dropped == {}
    assert df.loc[df.label == "", "native_label"].tolist() == ["dis", "dis"]  # raw codes: no label map
    assert df.split.tolist() == df.emobox_folds.tolist() == ["train"] * 6 + ["valid"] * 2 + ["test"] * 2
    assert df.fold.tolist() == [0] * 8 + [1] * 2
    assert set(df.speaker) == {"unknown"} and set(df.language) == {"en"}
    assert result.meta["options"]["valid"] == "EmoBox's valid file of fold 1"
    assert any("not speaker-independent (one random fold)" in w for w in result.warnings)


def test_random_fold_with_speakers_carves_valid_by_utterance(box):
    records = [record("onefold", f"onefold-{i:02d}", ["hap", "sad"][i % 2], f"w/{i:02d}.wav") for i in range(12)]
    for r in records:
        write_wav(box / "one_audio" / r["wav"].split("/", 2)[2])
    keys = [r["key"] for r in records]
    write_dataset(box / "EmoBox", "onefold", records, [{"train": keys[:10], "test": keys[10:]}],
                  speakers={k: f"spk{i % 3}" for i, k in enumerate(keys)})
    result = read_corpus("emobox", box / "one_audio", dataset="onefold", emobox=box / "EmoBox", seed=3)
    counts = result.manifest.split.value_counts().to_dict()
    assert counts == {"train": 8, "valid": 2, "test": 2}  # EmoBox's 80/20 of fold 1's 10 training utterances
    assert result.meta["options"]["valid"] == "20% of fold 1's training utterances (seeded)"


def test_three_folds_with_an_utterance_some_folds_leave_out(box):
    records = [record("three", f"three-{s}{i}", "neu", f"{s}/{i}.wav") for s in "abc" for i in range(2)]
    records.append(record("three", "three-extra", "neu", "x/extra.wav"))
    for r in records:
        write_wav(box / "three_audio" / r["wav"].split("/", 2)[2])
    spk = {r["key"]: r["key"][6] if r["key"] != "three-extra" else "x" for r in records}
    of = {s: [k for k in spk if spk[k] == s] for s in "abcx"}
    folds = [{"train": of["b"] + of["c"], "test": of["a"]}, {"train": of["a"] + of["c"], "test": of["b"]},
             {"train": of["a"] + of["b"] + of["x"], "test": of["c"]}]
    write_dataset(box / "EmoBox", "three", records, folds, speakers=spk)
    result = read_corpus("emobox", box / "three_audio", dataset="three", emobox=box / "EmoBox")
    df = result.manifest.set_index("utt_id")
    assert df.loc["three-a0", "emobox_folds"] == "test|train|train" and df.loc["three-a0", "fold"] == 1
    assert df.loc["three-c1", "emobox_folds"] == "train|train|test" and df.loc["three-c1", "fold"] == 3
    assert df.loc["three-extra", "emobox_folds"] == "-|-|train" and df.loc["three-extra", "fold"] == 0
    assert df.loc["three-extra", "split"] == "valid"  # not in fold 1: never fold 1's train or test
    assert any("1 utterance(s) are not in EmoBox's fold 1" in w for w in result.warnings)
    assert read_dataset(box / "EmoBox", "three").n_folds == 3


def one_unfolded_utterance(box, name: str) -> list[dict]:
    """Dataset ``name``: four utterances, fold 1 trains on two and tests on one; the fourth is in no fold file."""
    records = [record(name, f"{name}-{i}", "sad", f"{i}.wav") for i in range(4)]
    for r in records:
        write_wav(box / f"{name}_audio" / r["wav"].split("/", 2)[2])
    keys = [r["key"] for r in records]
    write_dataset(box / "EmoBox", name, records, [{"train": keys[:2], "test": keys[2:3]}])
    return records


def test_utterances_in_no_fold_are_counted_not_kept(box):
    one_unfolded_utterance(box, "nofold")
    result = read_corpus("emobox", box / "nofold_audio", dataset="nofold", emobox=box / "EmoBox")
    assert len(result.manifest) == 3 and result.dropped == {"in no EmoBox fold": 1}
    assert "1 utterance(s) of EmoBox's nofold are left out: in no EmoBox fold" in result.warnings


def test_utterances_only_in_extra_fold_files_are_left_out_by_name(box):
    """mer2023 ships test1..test3 beside each fold's train/valid/test: EmoBox's folds do not read them."""
    records = one_unfolded_utterance(box, "extra")
    (box / "EmoBox/data/extra/fold_1/extra_test2_fold_1.jsonl").write_text(json.dumps(records[3]) + "\n")
    result = read_corpus("emobox", box / "extra_audio", dataset="extra", emobox=box / "EmoBox")
    why = ("in no train/valid/test fold file (only in fold_1/extra_test2_fold_1.jsonl, which EmoBox's folds do "
           "not read)")
    assert len(result.manifest) == 3 and result.dropped == {why: 1}
    assert f"1 utterance(s) of EmoBox's extra are left out: {why}" in result.warnings


@pytest.mark.parametrize("wav, path", [
    ("downloads/iemocap/Session1/sentences/wav/Ses01F_impro04/Ses01F_impro04_F000.wav",
     "Session1/sentences/wav/Ses01F_impro04/Ses01F_impro04_F000.wav"),
    ("downloads/cafe/CaFE_48k/Peur/Fort/08-P-2-1.wav", "CaFE_48k/Peur/Fort/08-P-2-1.wav"),
    ("Actor_01/03-01-01-01-01-01-01.wav", "Actor_01/03-01-01-01-01-01-01.wav"),
])
def test_wav_paths_lose_the_downloads_prefix(wav, path):
    assert relative_audio_path(wav) == path


def test_checkout_root_or_its_data_folder(box):
    a = read_dataset(box / "EmoBox", "toyravdess")
    b = read_dataset(box / "EmoBox" / "data", "TOYRAVDESS")
    assert a.folds == b.folds and len(a.utterances) == 20 and a.speaker_independent


def test_cli_writes_the_manifest_and_it_loads(box, cli, workspace):
    code, out = cli("manifest", "emobox:toyravdess", "--root", box / "ravdess_audio", "--emobox", box / "EmoBox")
    assert code == 0, out
    assert "emobox-toyravdess: 20 utterances" in out
    assert "4 utterances outside the four classes (column outside) kept for --labels native" in out
    path = workspace / "manifests" / "emobox-toyravdess.csv"
    df, meta = load_manifest("emobox-toyravdess", path)
    assert len(df) == 20 and meta["options"]["folds"] == 2 and meta["dropped"] == {}
    assert df.loc[df.native_label == "Calm", "label"].tolist() == [""] * 4  # read back as "", not NaN
    assert df.emobox_folds.str.split("|").str[1].value_counts().to_dict() == {"train": 10, "test": 10}


def test_an_emobox_manifest_is_extracted_under_its_own_name(box, cli, workspace):
    """The user's next step: `extract --corpus emobox-<dataset>` reads the manifest written under that name
    (it is no registered corpus); a misspelt name still lists the corpora sergen reads."""
    assert cli("manifest", "emobox:toyravdess", "--root", box / "ravdess_audio", "--emobox", box / "EmoBox")[0] == 0
    code, out = cli("extract", "--model", "melspec", "--corpus", "emobox-toyravdess")
    assert code == 0, out
    from sergen import open_store

    assert open_store("melspec", "emobox-toyravdess").sizes["utt"] == 20
    code, out = cli("extract", "--model", "melspec", "--corpus", "emobox-toyravdes")
    assert code == 2 and "unknown corpus 'emobox-toyravdes'" in out


# --- bad input: one SergenError each, naming what, where and the fix; nothing written ---------------------

def corrupt_line(box, line_no, text):
    path = box / "EmoBox/data/toyravdess/toyravdess.jsonl"
    lines = path.read_text().splitlines()
    lines[line_no - 1] = text
    path.write_text("\n".join(lines) + "\n")
    return path


def fold_file(box, k, role):
    return box / f"EmoBox/data/toyravdess/fold_{k}/toyravdess_{role}_fold_{k}.jsonl"


def move_key(box, key, k, source, target):
    records = {role: [json.loads(line) for line in fold_file(box, k, role).read_text().splitlines()]
               for role in (source, target)}
    moved = [r for r in records[source] if r["key"] == key]
    write_jsonl(fold_file(box, k, source), [r for r in records[source] if r["key"] != key])
    write_jsonl(fold_file(box, k, target), records[target] + moved)


def error_of(box, **options) -> SergenError:
    with pytest.raises(SergenError) as err:
        read_ravdess(box, **options)
    return err.value


def test_a_line_that_is_not_json_is_named(box):
    path = corrupt_line(box, 3, '{"key": "toyravdess-s1_happy", "wav": ')
    err = error_of(box)
    assert err.what.startswith("line 3 of toyravdess.jsonl is not JSON (Expecting value, column")
    assert err.where == f"{path}:3" and "git -C" in err.fix and "checkout -- data/toyravdess" in err.fix


def test_a_line_without_emo_is_named(box):
    corrupt_line(box, 2, json.dumps({"key": "toyravdess-s1_calm", "wav": "downloads/toyravdess/Actor_s1/s1_calm.wav"}))
    assert error_of(box).what.startswith("line 2 of toyravdess.jsonl lacks emo")


def test_an_emotion_outside_the_label_map(box):
    corrupt_line(box, 1, json.dumps(record("toyravdess", "toyravdess-s1_neutral", "bored", "Actor_s1/s1_neutral.wav")))
    assert error_of(box).what == ("line 1 of toyravdess.jsonl: emotion 'bored' is not in label_map.json "
                                  "(angry, calm, happy, neutral, sad)")


def test_a_missing_fold_file(box):
    fold_file(box, 2, "test").unlink()
    err = error_of(box)
    assert err.what == "fold 2 of EmoBox's toyravdess has no test file" and err.where == str(fold_file(box, 2, "test"))


def test_a_fold_naming_a_key_the_dataset_does_not_list(box):
    records = [json.loads(line) for line in fold_file(box, 1, "test").read_text().splitlines()]
    write_jsonl(fold_file(box, 1, "test"), records + [dict(records[0], key="toyravdess-ghost")])
    err = error_of(box)
    assert err.what == ("toyravdess_test_fold_1.jsonl names 1 key(s) that toyravdess.jsonl does not list, "
                        "e.g. 'toyravdess-ghost' (line 11)")


def test_folds_sharing_a_speaker_are_read_as_emobox_ships_them_with_one_warning(box):
    move_key(box, "toyravdess-s1_happy", 1, "test", "train")  # EmoBox's own emodb folds share every speaker
    result = read_ravdess(box)
    leaks = [w for w in result.warnings if "put speakers in both training and test" in w]
    assert leaks == [f"1 of EmoBox's 2 folds of toyravdess put speakers in both training and test (fold 1: 1 "
                     f"speaker(s), e.g. s1 (1 train/valid, 4 test); speakers from "
                     f"{box / 'EmoBox/data/toyravdess/data.seg.wrd.stm'}): read as EmoBox ships them, so these "
                     "numbers, like EmoBox's, are not speaker-independent"]
    assert not [w for w in result.warnings if "protocol is not speaker-independent" in w]  # said once
    assert len(result.manifest) == len(read_ravdess(box, **{}).manifest) > 0


def test_a_key_in_train_and_test_of_one_fold(box):
    records = [json.loads(line) for line in fold_file(box, 2, "test").read_text().splitlines()]
    write_jsonl(fold_file(box, 2, "train"), [json.loads(x) for x in fold_file(box, 2, "train").read_text().splitlines()]
                + records[:1])
    assert error_of(box).what == "fold 2 of EmoBox's toyravdess puts 'toyravdess-s3_neutral' in both train and test"


def test_fold_utterances_missing_from_the_audio_root(box):
    (box / "ravdess_audio/Actor_s1/s1_angry.wav").unlink()
    (box / "ravdess_audio/Actor_s4/s4_calm.wav").unlink()
    err = error_of(box)
    assert err.what == ("2 of 20 utterances in EmoBox's toyravdess folds have no audio under the root, e.g. "
                        "Actor_s1/s1_angry.wav (toyravdess-s1_angry), Actor_s4/s4_calm.wav (toyravdess-s4_calm)")
    assert err.where == str(box / "ravdess_audio") and "downloads/toyravdess/" in err.fix


def test_a_root_holding_none_of_the_audio(box):
    (box / "elsewhere").mkdir()
    with pytest.raises(SergenError) as err:
        read_corpus("emobox", box / "elsewhere", dataset="toyravdess", emobox=box / "EmoBox")
    assert err.value.what.startswith("20 of 20 utterances in EmoBox's toyravdess folds have no audio under the root "
                                     "(none was found: is this the right folder?)")


def test_segmented_datasets_are_read_by_segment(box):
    """A segment (start_time/end_time, as pavoque's) is one row cut out of its file (see test_emobox_failures)."""
    corrupt_line(box, 1, json.dumps(dict(record("toyravdess", "toyravdess-s1_neutral", "neutral", "Actor_s1/s1_neutral.wav"),
                                         start_time=0.05, end_time=0.1)))
    df = read_ravdess(box).manifest.set_index("utt_id")
    assert (df.loc["toyravdess-s1_neutral", "segment_offset"], df.loc["toyravdess-s1_neutral", "num_samples"]) == (800, 800)
    assert df["segment_offset"].isna().sum() == 19


@pytest.mark.parametrize("args, message", [
    (["emobox:tess", "--root", "{a}", "--emobox", "{b}"],
     "error: EmoBox has no dataset 'tess'; found in {b}/data: toycrema, toyravdess"),
    (["emobox:", "--root", "{a}", "--emobox", "{b}"], "error: no EmoBox dataset named; found in {b}/data: toycrema, toyravdess"),
    (["emobox:toyravdess", "--root", "{a}", "--emobox", "{a}"], "error: {a} is not an EmoBox checkout: it holds no "
                                                                 "data/<dataset>/<dataset>.jsonl"),
    (["emobox:toyravdess", "--root", "{a}"], "error: emobox:<dataset> reads EmoBox's folds from an EmoBox checkout: "
                                              "--emobox DIR is missing"),
    (["emobox", "--root", "{a}", "--emobox", "{b}"], "error: EmoBox datasets are named emobox:<dataset>, and --emobox "
                                                      "goes only with them"),
    (["ravdess", "--root", "{a}", "--emobox", "{b}"], "error: EmoBox datasets are named emobox:<dataset>"),
    (["emobox:toyravdess", "--root", "{a}", "--emobox", "{a}/nowhere"], "the folder {a}/nowhere does not exist"),
])
def test_cli_bad_names_and_folders_exit_2_and_write_nothing(box, cli, workspace, args, message):
    a, b = box / "ravdess_audio", box / "EmoBox"
    code, out = cli("manifest", *[x.format(a=a, b=b) for x in args])
    assert code == 2 and message.format(a=a, b=b) in out
    assert not (workspace / "manifests").exists()


def test_a_rerun_needs_neither_root_nor_checkout(box, cli, workspace):
    assert cli("manifest", "emobox:toyravdess", "--root", box / "ravdess_audio", "--emobox", box / "EmoBox")[0] == 0
    (workspace / "manifests/emobox-toyravdess.csv").unlink()
    code, out = cli("manifest", "emobox:toyravdess")
    assert code == 0 and "emobox-toyravdess: 20 utterances" in out
    assert (workspace / "manifests/emobox-toyravdess.csv").exists()


def test_an_audio_root_that_does_not_exist(box):
    with pytest.raises(SergenError) as err:
        read_corpus("emobox", box / "nowhere", dataset="toyravdess", emobox=box / "EmoBox")
    assert err.value.what == "the audio folder of EmoBox's toyravdess does not exist"
    assert err.value.fix == "pass --root with the folder EmoBox calls downloads/toyravdess/"


def test_a_gap_in_the_folds(box):
    folder = box / "EmoBox/data/toyravdess"
    (folder / "fold_2").rename(folder / "fold_3")
    err = error_of(box)
    assert err.what == "EmoBox's toyravdess lacks fold_2 (found fold_1, fold_3)" and err.where == str(folder)


def test_a_key_listed_twice(box):
    path = box / "EmoBox/data/toyravdess/toyravdess.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines + lines[:1]) + "\n")
    assert error_of(box).what == "toyravdess.jsonl lists the key 'toyravdess-s1_neutral' twice (lines 1 and 21)"


def test_several_folds_without_speakers_are_not_checked_for_leaks(box):
    (box / "EmoBox/data/toyravdess/data.seg.wrd.stm").unlink()
    move_key(box, "toyravdess-s1_happy", 1, "test", "train")  # would leak s1, but no one knows the speakers
    result = read_ravdess(box)
    assert result.meta["options"]["speaker_independent"] is False
    assert result.meta["options"]["valid"] == "20% of fold 1's training utterances (seeded)"
    assert any("not speaker-independent (no speakers in data.seg.wrd.stm)" in w for w in result.warnings)
    assert result.manifest.split.value_counts().to_dict() == {"test": 9, "train": 9, "valid": 2}


def test_a_dataset_folder_without_its_metadata_files_names_what_is_missing(box):
    from sergen.protocols.emobox import dataset_folder

    folder = box / "EmoBox/data/toyesd"
    (folder / "fold_1").mkdir(parents=True)
    (folder / "fold_1" / "toyesd_test_fold_1.jsonl").write_text("")  # a clone without its large files
    with pytest.raises(SergenError) as err:
        dataset_folder(box / "EmoBox", "toyesd")
    assert err.value.what == ("EmoBox's toyesd folder holds neither toyesd.jsonl nor fold_1/toyesd_train_fold_1.jsonl: "
                              "its metadata is incomplete in this checkout")
    assert err.value.where == str(folder) and "checkout -- data/toyesd" in err.value.fix

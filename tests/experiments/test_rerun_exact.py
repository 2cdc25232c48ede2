"""A saved run is repeated exactly or not at all, and a run's labels and splits are what its rows say: fold
files and label maps are keyed by content, what they leave out is counted, and a changed file, an edited
record or moved audio is named as such — never a traceback, never a silent overwrite."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from sergen.cli import app

from tests.test_bad_input import cli, private_ws  # noqa: F401 (fixtures)

PROBE = ["probe", "--model", "melspec", "--train", "emodb", "--test", "emodb", "--head", "linear",
         "--set", "training.max_steps=300", "--set", "n_boot=20"]


def fold_file(ws, name="folds.csv", folder="a", drop_speaker=False, swap=False):
    """Two speaker-disjoint folds of the emodb demo manifest (optionally leaving one speaker's lines out)."""
    df = pd.read_csv(ws / "manifests/emodb.csv", dtype=str, keep_default_na=False)
    speakers = sorted(df.speaker.unique())
    fold = {s: (i % 2 + 1 if not swap else 2 - i % 2) for i, s in enumerate(speakers)}
    if drop_speaker:
        df = df[df.speaker != speakers[0]]
    path = ws / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("utt_id,fold\n" + "".join(f"{u},{fold[s]}\n" for u, s in zip(df.utt_id, df.speaker)))
    return path


def run_json(*args) -> dict:
    """``sergen ARGS --json``'s stdout, parsed (notes go to stderr)."""
    result = CliRunner().invoke(app, [*map(str, args), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def run_folds(cli, path) -> list[dict]:
    return run_json(*PROBE, "--folds", path)["folds"]


def record_of(ws, run_id) -> tuple[dict, bytes]:
    path = ws / "results/runs" / f"{run_id}.json"
    return json.loads(path.read_text()), path.read_bytes()


def test_rerun_refuses_a_deleted_or_changed_fold_file_and_keeps_the_record(cli, private_ws):
    path = fold_file(private_ws)
    run = run_folds(cli, path)[0]
    record_file = private_ws / "results/runs" / f"{run['run_id']}.json"
    before = record_file.read_bytes()
    path.rename(path.with_suffix(".bak"))
    code, text = cli("probe", "--rerun", record_file)
    assert code == 2 and f"the fold file this run used, {path}, is gone: the rerun could not be exact" in text
    fold_file(private_ws, swap=True)  # the same name, other folds
    code, text = cli("probe", "--rerun", record_file)
    assert code == 2 and f"the run cannot be repeated exactly: the fold file {path} changed since the run" in text
    assert record_file.read_bytes() == before  # the saved run is kept
    path.unlink()
    path.with_suffix(".bak").rename(path)  # restored: the rerun is exact again
    code, text = cli("probe", "--rerun", record_file)
    assert code == 0, text
    assert "±nan" not in text and "mean ± std over" not in text  # one fold: no spread to show


def test_report_names_a_changed_fold_file_as_the_reason_a_run_is_stale(cli, private_ws):
    path = fold_file(private_ws)
    run_folds(cli, path)
    fold_file(private_ws, swap=True)
    code, text = cli("report")
    assert code == 2  # every run is stale: nothing fresh to report
    assert f"2 run(s): the fold file {path} changed since the run" in text
    assert "manifest was edited" not in text and "cannot be read now" not in text
    path.unlink()
    code, text = cli("report")
    assert f"2 run(s): the fold file it used, {path}, is gone" in text


def test_two_fold_files_of_one_name_are_two_protocols_in_the_rows(cli, private_ws):
    first = run_folds(cli, fold_file(private_ws, folder="a"))
    second = run_folds(cli, fold_file(private_ws, folder="b", swap=True))
    digest = {f: hashlib.sha256((private_ws / f / "folds.csv").read_bytes()).hexdigest()[:8] for f in "ab"}
    assert {r["folds"] for r in first[0]["rows"]} == {f"file:folds.csv@{digest['a']}"}
    assert {r["folds"] for r in second[0]["rows"]} == {f"file:folds.csv@{digest['b']}"}
    assert digest["a"] != digest["b"]


def test_a_fold_file_that_omits_utterances_counts_them(cli, private_ws):
    df = pd.read_csv(private_ws / "manifests/emodb.csv", dtype=str, keep_default_na=False)
    first = sorted(df.speaker.unique())[0]
    omitted = df[(df.speaker == first) & df.label.isin(["hap", "sad", "neu", "ang"])]
    runs = run_folds(cli, fold_file(private_ws, drop_speaker=True))
    (key, count), = runs[0]["left_out"]["emodb"].items()
    assert count == len(omitted) and key == f"not in the fold file (e.g. {sorted(omitted.utt_id)[0]})"


def test_native_classes_a_label_map_does_not_list_are_counted_as_left_out(cli, private_ws):
    mapping = private_ws / "map.csv"
    mapping.write_text("native,label\nangry,high\nhappy,high\nsad,low\nneutral,low\n")
    out = run_json(*PROBE, "--labels", mapping)
    natives = pd.read_csv(private_ws / "manifests/emodb.csv", dtype=str, keep_default_na=False).native_label
    expected = {f"{k}, not in the map": int(n) for k, n in natives.value_counts().sort_index().items()
                if k not in ("angry", "happy", "sad", "neutral", "")}
    assert expected and out["left_out"] == {"emodb": expected}


def test_report_says_stale_after_a_manifest_points_at_other_audio(cli, private_ws):
    code, text = cli(*PROBE)
    assert code == 0, text
    path = private_ws / "manifests/emodb.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[0, "path"], df.loc[1, "path"] = df.loc[1, "path"], df.loc[0, "path"]
    df.to_csv(path, index=False)
    code, text = cli(*PROBE)
    assert code == 2 and "2 utterance id(s) of emodb name other audio files" in text  # probe refuses…
    code, text = cli("report")
    assert code == 2  # …and the report no longer calls the run fresh
    assert "1 run(s): 2 utterance id(s) of emodb name other audio files in its manifest than the melspec/emodb store was made from" in text


@pytest.mark.parametrize("edit, message", [
    (lambda r: r.pop("spec"), "not a run record sergen can repeat: the record lacks its spec"),
    (lambda r: r["spec"].update(bogus=1), "the record's spec has setting(s) bogus that this sergen does not know: "
                                          "it was edited, or written by another sergen"),
    (lambda r: r["spec"]["training"].update(max_steps=301), "gives run id"),
])
def test_an_edited_record_is_refused_saying_what_is_wrong(cli, private_ws, edit, message):
    run_id = run_json(*PROBE)["run_id"]
    record, _ = record_of(private_ws, run_id)
    edit(record)
    edited = private_ws / "edited.json"
    edited.write_text(json.dumps(record))
    code, text = cli("probe", "--rerun", edited)
    assert code == 2 and message in text
    assert "unexpected keyword" not in text
    if "run id" in message:
        assert "it was edited, or written by another sergen" in text


def test_rerun_of_a_folder_says_it_is_a_folder(cli, private_ws):
    code, text = cli("probe", "--rerun", private_ws)
    assert code == 2 and "--rerun takes a run record (a .json file), not a folder" in text and "Errno" not in text


def test_test_corpora_in_another_order_are_the_same_run(cli, private_ws):
    ids = []
    for test in ("emodb,ravdess", "ravdess,emodb"):
        ids.append(run_json(*PROBE[:6], test, *PROBE[7:])["run_id"])
    assert ids[0] == ids[1]


def test_equal_settings_spelt_differently_are_one_run(cli, private_ws):
    base = run_json(*PROBE)["run_id"]
    assert run_json(*PROBE, "--set", "sampler.window_s=[1,3]", "--set", "sampler.mix_prob=0.2")["run_id"] == base
    assert run_json(*PROBE, "--set", "training.lr=0.001")["run_id"] == base
    both = [run_json(*PROBE[:4], train, *PROBE[5:])["run_id"] for train in ("emodb+ravdess", "ravdess+emodb")]
    assert both[0] == both[1]


@pytest.mark.parametrize("setting, message", [
    ("training.batch_size=99999999999999999999", "batch_size must be at most 65,536"),
    ("sampler.noise_std=inf", "noise_std must lie from 0 to 10.0"),
    ("sampler.noise_std=nan", "noise_std must lie from 0 to 10.0"),
])
def test_values_that_would_crash_training_are_refused(cli, private_ws, setting, message):
    code, text = cli(*PROBE, "--set", setting)
    assert code == 2 and message in text and not (private_ws / "results/runs").exists()


@pytest.mark.parametrize("key, value, message", [
    ("pool", "median", "unknown --pool 'median'"), ("seed", "0", "seed = '0' is not a whole number"),
    ("head", "mlpp", "head 'mlpp' is not one of"), ("norm", "corpora", "unknown --norm 'corpora'"),
])
def test_a_rerun_of_an_edited_record_with_a_bad_value_is_refused(cli, private_ws, key, value, message):
    """Even with its run id recomputed to match, a value the command line would refuse is refused."""
    record, _ = record_of(private_ws, run_json(*PROBE)["run_id"])
    record["spec"][key] = value
    record["run_id"] = hashlib.sha1(json.dumps(record["spec"], sort_keys=True, default=str).encode()).hexdigest()[:16]
    edited = private_ws / "edited.json"
    edited.write_text(json.dumps(record))
    code, text = cli("probe", "--rerun", edited)
    assert code == 2 and "the record's spec does not fit this sergen's settings" in text and message in text
    assert not (private_ws / "results/runs" / f"{record['run_id']}.json").exists()

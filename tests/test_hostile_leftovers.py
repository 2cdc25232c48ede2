"""What a second hostile-user pass still broke: each case ends as a clear message (what, where, fix) with
exit code 2 (or 1 for a verify that finds problems), no traceback, and nothing of the user's lost."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import zarr

from sergen.cli import main
from sergen.errors import SergenError
from tests.fake_stores import tiny_store
from tests.report.test_report import fixture_results
from tests.test_bad_input import cli, emodb_store, normalised, private_ws, tree_hash  # noqa: F401 (fixtures)
from tests.test_cli_output import sergen
from tests.chunk_files import chunk_file, chunk_files


@pytest.fixture
def run_split(capsys, monkeypatch):
    """``run_split(*args)`` → (exit code, stdout, stderr) of ``sergen ARGS`` in this process, kept apart."""
    from sergen.console import console, err_console

    for con in (console, err_console):
        monkeypatch.setattr(con, "width", 4000)

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["sergen", *map(str, args)])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_:
            main()
        out = capsys.readouterr()
        assert "Traceback" not in out.out + out.err
        return exit_.value.code or 0, out.out, out.err

    return run


PROBE = ["probe", "--model", "melspec", "--train", "emodb", "--test", "emodb", "--head", "linear"]
GRID = ["grid", "--models", "melspec", "--train", "emodb", "--test", "emodb", "--heads", "linear"]


# -- 1. SERGEN_CACHE pointing at a file -----------------------------------------------------------

@pytest.mark.parametrize("below", [False, True], ids=["the-file", "below-the-file"])
@pytest.mark.parametrize("command", [PROBE, GRID], ids=["probe", "grid"])
def test_cache_variable_pointing_at_a_file(cli, private_ws, monkeypatch, command, below):
    blocker = private_ws / "cache-file"
    blocker.write_text("mine")
    value = blocker / "banks" if below else blocker
    monkeypatch.setenv("SERGEN_CACHE", str(value))
    code, text = cli(*command)
    assert code == 2
    what = "lies under a file" if below else "is a file, not a folder"
    assert f"the store-bank cache folder {what} (chosen by SERGEN_CACHE)" in text
    assert f"where: {blocker} (SERGEN_CACHE={value})" in text and "set SERGEN_CACHE to a folder, or unset it" in text
    assert blocker.read_text() == "mine" and not (private_ws / "results").exists()  # refused before any work


def test_cache_table_entry_pointing_at_a_file(cli, private_ws, monkeypatch):
    blocker = private_ws / "cache-file"
    blocker.write_text("mine")
    (private_ws / "sergen.toml").write_text(f'[dirs]\ncache = "{blocker}"\n')
    monkeypatch.delenv("SERGEN_CACHE", raising=False)
    code, text = cli(*PROBE)
    assert code == 2 and "(chosen by [dirs] cache)" in text and f"[dirs] cache = '{blocker}' in" in text


# -- 2. an array folder deleted by hand ---------------------------------------------------------------

@pytest.mark.parametrize("array", ["frames", "offsets", "utt/label", "std"])
def test_deleted_array_folder_is_damage_everywhere(cli, private_ws, array):
    import shutil

    store = emodb_store(private_ws)
    shutil.rmtree(store / array)
    before = tree_hash(store)
    gone = f"the store's {array} array is missing (its folder was deleted)"
    code, text = cli(*PROBE)
    assert code == 2 and f"store melspec/emodb is damaged: {gone}" in text
    assert "fix: rebuild it: `sergen extract --model melspec --corpus emodb --overwrite`" in text
    code, text = cli(*GRID)
    assert code == 2 and gone in text
    code, text = cli("stores", "verify", "melspec", "emodb")
    assert code == 1 and f"{gone}: rebuild the store with `sergen extract --model melspec --corpus emodb --overwrite`" in text
    code, text = cli("stores", "ls")
    assert code == 0 and " melspec emodb " in text and "damaged" in text
    assert f"melspec/emodb: damaged, unusable ({gone})" in text
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")  # never "already complete"
    assert code == 2 and f"cannot be repaired without: {array}" in text and "--overwrite" in text
    with pytest.raises(SergenError, match="is missing"):
        import sergen

        sergen.open_store("melspec", "emodb")
    assert tree_hash(store) == before


def test_a_group_with_attributes_only_lacks_every_array(tmp_path):
    from sergen.store.verify import REQUIRED, chunk_damage

    group = zarr.open_group(str(tmp_path / "s.zarr"), mode="w")
    group.attrs["sergen"] = {"complete": True}
    damage = chunk_damage(group)
    assert damage.missing == list(REQUIRED) and damage.needs_rebuild
    assert not chunk_damage(zarr.open_group(str(tiny_store(tmp_path / "t.zarr")), mode="r"))


def test_stores_ls_json_marks_a_deleted_array(private_ws, run_split):
    import shutil

    shutil.rmtree(emodb_store(private_ws) / "frames")
    code, out, _ = run_split("stores", "ls", "--json")
    stores = {s["corpus"]: s for s in json.loads(out)["stores"]}
    assert code == 0 and stores["emodb"]["damaged"] and not stores["emodb"]["complete"]
    assert stores["emodb"]["needs_rebuild"] and not stores["ravdess"]["damaged"]


# -- extra: corrupt metadata and chunks of the structural arrays ------------------------------------

def test_store_whose_metadata_is_not_json(cli, private_ws):
    (emodb_store(private_ws) / "zarr.json").write_text("garbage{")
    code, text = cli("stores", "ls")
    assert code == 0 and " melspec emodb " in text and "the store's metadata cannot be read (JSONDecodeError" in text
    code, text = cli(*PROBE)
    assert code == 2 and "the store's metadata cannot be read" in text
    assert f"where: {emodb_store(private_ws) / 'zarr.json'}" in text and "--overwrite" in text


def test_corrupt_offsets_chunk_is_reported_not_raised(cli, private_ws):
    chunk_file(emodb_store(private_ws), "offsets").write_bytes(b"xx")
    code, text = cli(*PROBE)
    # new stores checksum their chunks (crc32c): the checksum, not the decompressor, finds the bad bytes
    assert code == 2 and "the store's offsets array cannot be read (its chunk file fails its checksum: its bytes changed " \
        "since sergen wrote it)" in text
    assert "--overwrite" in text
    code, text = cli("stores", "verify", "melspec", "emodb")
    assert code == 1 and "the store's offsets array cannot be read" in text


def test_corrupt_utterance_id_chunk_is_damage_not_already_complete(cli, private_ws):
    store = emodb_store(private_ws)
    chunk_file(store, "utt/utt_id").write_bytes(b"xx")
    before = tree_hash(store)
    code, text = cli("stores", "verify", "melspec", "emodb")
    assert code == 1 and "the store's utt/utt_id array cannot be read (RuntimeError" in text
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 2 and "cannot be repaired without: utt/utt_id" in text and "--overwrite" in text
    assert cli("stores", "ls")[1].count("damaged") >= 1 and tree_hash(store) == before


def test_corrupt_metadata_chunk_is_named_by_open_store(cli, private_ws):
    chunk_file(emodb_store(private_ws), "utt/speaker").write_bytes(b"xx")
    code, text = cli(*PROBE)
    assert code == 2 and "store melspec/emodb is damaged: the store's utt/speaker array cannot be read" in text
    assert "fix: rebuild it: `sergen extract --model melspec --corpus emodb --overwrite`" in text


def test_corrupt_frame_chunk_stops_the_probe_with_the_fix(cli, private_ws):
    store = emodb_store(private_ws)
    chunk = chunk_files(store, "frames")[0]
    chunk.write_bytes(b"xx")
    before = tree_hash(store)
    code, text = cli(*PROBE)
    # a chunk whose size is not its header's is named before anything decodes it (a cut Blosc chunk segfaulted)
    assert code == 2 and "frame chunk 0 (frames 0–4096) is cut short" in text
    assert "sergen stores verify melspec emodb" in text and "sergen extract --model melspec --corpus emodb" in text
    assert tree_hash(store) == before


# -- 3. SERGEN_CONFIG into a missing folder ------------------------------------------------------------

def test_config_variable_into_a_missing_folder_makes_no_folder(cli, workspace, monkeypatch, tmp_path):
    config = tmp_path / "no" / "such" / "config.toml"
    monkeypatch.setenv("SERGEN_CONFIG", str(config))
    (tmp_path / "corpus").mkdir()
    for args in (["config", "show"], ["stores", "ls"], ["models", "ls"]):  # reading never makes it
        assert cli(*args)[0] == 0
    assert not (tmp_path / "no").exists()
    code, text = cli("config", "set-root", "emodb", str(tmp_path / "corpus"))
    assert code == 2 and "the folder of the config file does not exist" in text
    assert f"where: SERGEN_CONFIG={config} (folder {config.parent})" in text and f"mkdir -p {config.parent}" in text
    assert not (tmp_path / "no").exists()
    config.parent.mkdir(parents=True)  # the user makes it: then it is written
    assert cli("config", "set-root", "emodb", str(tmp_path / "corpus"))[0] == 0 and config.is_file()


def test_default_user_config_folder_is_made_by_sergen_config_only(cli, workspace, monkeypatch, tmp_path):
    monkeypatch.delenv("SERGEN_CONFIG")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "corpus").mkdir()
    assert cli("stores", "ls")[0] == 0 and not (tmp_path / "home").exists()
    assert cli("config", "set-root", "emodb", str(tmp_path / "corpus"))[0] == 0
    assert (tmp_path / "home/.config/sergen/config.toml").is_file()


# -- 4. report --confusion with a typo -----------------------------------------------------------------

@pytest.mark.parametrize("cell", ["iemocap:msq", "emodb:iemocap", "iemocap+cremad:ravdess"])
def test_report_confusion_cell_without_runs_is_refused_before_writing(cli, workspace, cell):
    fixture_results(workspace / "results")
    out = workspace / "out"
    code, text = cli("report", "--confusion", cell, "--out", out)
    assert code == 2 and f"--confusion {cell}: no fresh baseline run trained on that and tested there" in text
    assert "nothing was written" in text and f"where: {workspace / 'results' / 'runs'}" in text
    assert "choose among cremad:cremad, cremad:iemocap, cremad:msp, iemocap:cremad" in text
    assert not out.exists()
    code, text = cli("report", "--confusion", "iemo:msp", "--out", out)  # an alias of a valid pair works
    assert code == 0 and "train iemocap → test msp" in (out / "report.md").read_text()


# -- 5. --aug-share without augmented views ------------------------------------------------------------

@pytest.mark.parametrize("command", [GRID + ["--aug-share", "0,0.5"], PROBE + ["--aug-share", "0.5"]],
                         ids=["grid", "probe"])
def test_aug_share_without_views_is_refused_before_anything_runs(cli, private_ws, command):
    code, text = cli(*command)
    assert code == 2
    assert ("--aug-share 0.5 draws augmented views, but the training stores of melspec/emodb hold none "
            "(no complete <corpus>@<view> store beside them); nothing was run") in text
    assert "`sergen extract --model melspec --corpus emodb --view pink-noise`" in text and "--aug-share 0" in text
    assert not list((private_ws / "results").rglob("*.csv"))


# -- 6. tables in a pipe -------------------------------------------------------------------------------

def test_models_ls_in_a_pipe_cuts_no_word():
    proc = sergen("models", "ls")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    table = [line for line in lines if line[:1] in "┃│┏┡└"]
    assert max(len(line) for line in table) <= 80
    cells = {c.strip() for line in table for c in line.split("│")}
    for whole in ("cdpam-acoustic", "encodec-24khz", "86.1328", "1.04167", "22050", "1024", "egemapsv02,",
                  "phi4-audio", "convolutions"):
        assert whole in cells, whole  # used to read "encode / c-24kh / z", "86.132 / 8"
    assert "│ model          │" in proc.stdout.replace("┃", "│") or "model" in cells
    assert "source and revision of each model:" in proc.stdout
    assert max(len(line) for line in lines) <= 80
    below = " ".join(lines[lines.index("source and revision of each model:"):])
    assert ("phi4: source transformers Phi4MultimodalAudioModel, microsoft/Phi-4-multimodal-instruct (refs/pr/70); "
            "revision refs/pr/70") in " ".join(below.split())  # hub ids whole, lines folded at spaces only


def test_stores_ls_in_a_pipe_keeps_headers_and_numbers_whole(tmp_path):
    from tests.test_cli_output import fake_store

    fake_store(tmp_path / "stores", "melspec", "emodb", n_utts=339, n_frames=12345678)
    proc = sergen("stores", "ls")
    assert proc.returncode == 0, proc.stderr
    assert "┃ model   ┃ corpus ┃ utterances ┃ frames   ┃ dim  ┃ size (MiB) ┃ complete ┃" in proc.stdout
    assert re.search(r"│ melspec │ emodb  │ 339        │ 12345678 │ 1024 │ \d+\.\d      +│ yes      │", proc.stdout)
    assert "(synthetic left out to fit 80 columns; `stores ls --json` has every field)" in proc.stdout
    fake_store(tmp_path / "stores", "cdpam-acoustic", "iemocap@time-stretch", n_frames=12345678)
    proc = sergen("stores", "ls")
    assert max(len(line) for line in proc.stdout.splitlines() if line[:1] in "┃│") <= 80
    assert "│ cdpam-acoustic │ iemocap@time-stretch │ 12         │ 12345678 │" in proc.stdout
    assert max(len(line) for line in proc.stdout.splitlines()) <= 80  # the note too, folded at a space
    assert ("(synthetic, dim, size (MiB) left out to fit 80 columns; `stores ls --json` has every field)"
            in " ".join(proc.stdout.split()))


# -- 7. --csv given a folder ---------------------------------------------------------------------------

def test_folder_csv_given_a_folder(cli, tmp_path):
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "mine.csv").write_text("path,label\n")
    code, text = cli("manifest", "folder", "--root", tmp_path, "--csv", tmp_path / "labels", "--name", "mine")
    assert code == 2
    assert (f"Invalid value for '--csv': {tmp_path / 'labels'} is a folder, not a CSV file: give the label CSV "
            f"itself, with columns path,label[,speaker,split], e.g. {tmp_path / 'labels' / 'mine.csv'} "
            "(CSV files in it: mine.csv)") in text


# -- 8. --json errors on stdout ------------------------------------------------------------------------

@pytest.mark.parametrize("args,error,where", [
    (["probe", "--model", "melspec", "--train", "emodb", "--aug-share", "2", "--json"],
     "Invalid value for '--aug-share': 2.0 is out of range: give a probability from 0 to 1", "option --aug-share"),
    (["probe", "--model", "nope", "--train", "emodb", "--json"], "unknown model 'nope'", "stores"),
    (["grid", "--models", "melspec", "--train", "emodb", "--json"], "no stores for model 'melspec'", "stores"),
    (["stores", "ls", "--json", "--root", "{file}"], "Invalid value for '--root'", "option --root"),
    (["models", "ls", "--json", "--bogus"], "No such option: --bogus", None),
], ids=["probe-option", "probe-model", "grid-no-stores", "stores-ls-root", "models-ls-option"])
def test_json_errors_are_json_on_stdout(run_split, tmp_path, args, error, where):
    (tmp_path / "a-file").write_text("x")
    code, out, err = run_split(*[a.format(file=tmp_path / "a-file") for a in args])
    assert code == 2 and err  # the person still reads it on stderr
    obj = json.loads(out)
    assert set(obj) == {"error", "where", "fix"} and obj["error"].startswith(error) and obj["fix"]
    assert (obj["where"] is None) if where is None else where in obj["where"]


def test_without_json_errors_stay_off_stdout(run_split):
    code, out, err = run_split("probe", "--model", "nope", "--train", "emodb")
    assert code == 2 and out == "" and "unknown model 'nope'" in err


# -- 9. result records that are not objects ------------------------------------------------------------

def test_non_object_records_and_orphans_are_named(cli, workspace):
    from sergen.experiments.grid import plan_grid
    from sergen.results import load_runs

    fixture_results(workspace / "results")
    runs = workspace / "results" / "runs"
    (runs / "iemocap-False-0.0-0.json").write_text("[]")
    (runs / "cremad-False-0.0-0.json").write_text("42")
    (runs / "lonely.json").write_text("{}")
    code, text = cli("report")
    assert code == 0
    assert (f"left out result file {runs / 'iemocap-False-0.0-0.json'}: unreadable (holds a list ([]), "
            "not a run record (a JSON object))") in text
    assert f"{runs / 'cremad-False-0.0-0.json'}: unreadable (holds a number (42)" in text
    assert f"{runs / 'lonely.json'}: a run record without its rows (lonely.csv is missing" in text
    assert len(load_runs(workspace / "results").skipped) == 3
    report = (workspace / "reports/latest/report.md").read_text()
    assert "**Left out: 3 result file(s) that cannot be used**" in report and "lonely.json" in report


def test_grid_names_each_unreadable_file_it_redoes(cli, private_ws):
    assert cli(*GRID)[0] == 0
    record = next((private_ws / "results" / "runs").glob("*.json"))
    record.write_text("[]")
    code, text = cli(*GRID)
    assert code == 0 and "1 unreadable file(s) redone" in text
    assert f"unreadable result file {record}: unreadable (holds a list ([]), not a run record" in text


# -- 10. the demo deletes only what it wrote -----------------------------------------------------------

def _demo_results(results: Path) -> None:
    from sergen.results import ROW_COLUMNS

    (results / "runs").mkdir(parents=True)
    (results / "matrices").mkdir()
    (results / "fragmentation/melspec").mkdir(parents=True)
    (results / "runs/0123456789abcdef.csv").write_text(",".join(ROW_COLUMNS) + "\n")
    (results / "runs/0123456789abcdef.json").write_text(json.dumps({"run_id": "0123456789abcdef", "format": 2}))
    (results / "runs/.0123456789abcdef.csv.partial").write_text("half")
    (results / "matrices/.written.json").write_text('["auroc_melspec_linear_true_aug0"]')
    (results / "matrices/auroc_melspec_linear_true_aug0.csv").write_text("train\n")
    (results / "fragmentation/melspec/projection.png").write_bytes(b"png")


def test_demo_results_removal_takes_only_sergens_files(tmp_path):
    from sergen.demo import _remove_results, demo_results_files

    results = tmp_path / "results"
    _demo_results(results)
    files = demo_results_files(results)
    assert len(files) == 6
    _remove_results(results, files)
    assert not results.exists() or not list(results.rglob("*"))


@pytest.mark.parametrize("foreign,content", [
    ("runs/notes.txt", "mine"),
    ("runs/fedcba9876543210.csv", "my,own,table\n"),  # named like a run, not one sergen wrote
    ("runs/fedcba9876543210.json", "[]"),
    ("matrices/auroc_mine.csv", "train\n"),  # a matrix sergen never listed
    ("fragmentation/melspec/notes.md", "mine"),
])
def test_demo_rerun_refuses_a_foreign_file_in_its_results(tmp_path, monkeypatch, foreign, content):
    from typer.testing import CliRunner

    from sergen.cli import app
    from sergen.demo import WORKSPACE_MARKER
    from tests.test_demo_command import digest

    out = tmp_path / "d"
    out.mkdir()
    (out / WORKSPACE_MARKER).write_text('{"note": "sergen demo workspace"}')
    _demo_results(out / "results")
    (out / "results" / foreign).write_text(content)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    before = digest(tmp_path)
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--scale", "0.05"])
    assert isinstance(result.exception, SergenError), result.output
    assert f"holds 1 file(s) sergen did not write ({foreign})" in result.exception.what
    assert result.exception.where == str(out / "results" / foreign)
    assert digest(tmp_path) == before  # nothing written, nothing deleted, the marker untouched


# -- 11. fresh runs over a store damaged or relabelled since -------------------------------------------

def test_report_and_grid_name_fresh_runs_over_a_damaged_store(cli, private_ws):
    assert cli(*GRID)[0] == 0
    chunk_file(emodb_store(private_ws), "frames").unlink()
    code, text = cli("report")
    assert code == 0
    assert "warning: 1 run(s) in this report read 1 store(s) that changed without being rebuilt" in text
    assert ("melspec/emodb: damaged since the run: frame chunk 0 (frames 0–4096) is missing (1 run(s); fix: "
            "`sergen extract --model melspec --corpus emodb` (rewrites what was lost))") in text
    report = (private_ws / "reports/latest/report.md").read_text()
    assert "**Warning: 1 of these run(s) read 1 store(s) that changed without being rebuilt**" in report
    assert "none is damaged" not in report
    code, text = cli(*GRID)  # the run is reused, and said to be over a damaged store
    assert code == 0 and "warning: 1 reused run(s) read store(s) that changed without being rebuilt" in text


def test_runs_over_a_relabelled_manifest_are_stale_and_rerun(cli, private_ws):
    """The labels are the manifest's, joined at probe time: a run made before an edit is stale (never shown
    with the labels it did not use), and the same grid reruns it on the new labels without re-extraction."""
    assert cli(*GRID)[0] == 0
    path = private_ws / "manifests" / "emodb.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[df.label == "sad", "label"] = "neu"
    df.to_csv(path, index=False)
    code, text = cli("report")
    assert code == 2
    assert "1 run(s): the labels or splits of emodb changed since the run (the emodb manifest changed)" in text
    code, text = cli(*GRID)
    assert code == 0 and "1 of them stale (stores or labels changed since)" in text
    code, text = cli("report")
    assert code == 0 and "stale" not in text


def test_report_of_intact_stores_says_they_are_fine(cli, private_ws):
    assert cli(*GRID)[0] == 0
    code, text = cli("report")
    assert code == 0 and "warning" not in text
    assert "none is damaged, no manifest was edited since" in (private_ws / "reports/latest/report.md").read_text()


# -- 7. third pass: stores that are files, layers a model does not have ------------------------------------

def test_probe_names_a_store_path_that_is_a_file_never_no_stores(cli, private_ws):
    import shutil

    shutil.rmtree(emodb_store(private_ws))
    emodb_store(private_ws).write_text("a file")
    code, text = cli("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb")
    assert code == 2 and "error: the store's path is a file, not a store" in text
    assert f"where: {emodb_store(private_ws)}" in text and "no stores for model" not in text


def test_weighted_layers_on_a_model_without_layers_never_suggests_extracting_layers(cli, private_ws):
    code, text = cli("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb", "--layer", "weighted")
    assert code == 2
    assert ("--layer weighted learns a weighted sum of stored layers, but the melspec/emodb store holds a single "
            "layer") in text
    assert "leave --layer out: melspec has one vector per frame and no layers to weigh" in text
    assert "--layers 6,12,18,24" not in text


def test_stdout_on_a_full_device_is_one_clear_line_never_a_traceback(tmp_path):
    import os
    import subprocess

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "sergen.cli", "models", "ls"], stdout=full, stderr=subprocess.PIPE,
                              text=True, env={**os.environ, "SERGEN_HOME": str(tmp_path)})
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: the output could not be written (No space left on device): stdout was "
                                  "closed, and the command carried on to its end")


def test_stderr_piped_into_a_reader_that_stops_early_never_stops_the_command(tmp_path):
    """`sergen … 2>&1 | head -1`: both streams close after a line; the command still does all its work."""
    import os
    import subprocess

    proc = subprocess.Popen([sys.executable, "-m", "sergen.cli", "demo-data", "--out", str(tmp_path / "C"),
                             "--scale", "0.05"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "SERGEN_HOME": str(tmp_path), "SERGEN_PROGRESS": "1"})
    proc.stdout.readline()
    proc.stdout.close()  # the reader is gone: every later write to either stream is a broken pipe
    assert proc.wait(timeout=300) == 0
    made = {p.name for p in (tmp_path / "C").iterdir()}
    assert {"iemocap", "cremad", "msp", "emodb", "ravdess"} <= made


def test_a_deleted_manifest_is_said_when_the_store_copy_stands_in(cli, private_ws):
    from sergen.experiments import protocol_join

    protocol_join._say_store_copy.cache_clear()
    (private_ws / "manifests" / "emodb.csv").unlink()
    code, text = cli("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb",
                     "--set", "training.max_steps=50", "--set", "n_boot=10")
    assert code == 0
    assert (f"warning: no manifest for emodb ({private_ws / 'manifests' / 'emodb.csv'}): its labels and splits are "
            "the copy its store made at extraction") in text


def test_a_runs_scores_file_is_the_demos_own_and_a_foreign_npz_is_not(tmp_path):
    """A rerun of `make demo` into its workspace was refused: the runs' ``.scores.npz`` files (added after the
    demo's list of its own files) counted as the user's (hostile pass 5)."""
    import numpy as np

    from sergen.demo import demo_results_files
    from sergen.experiments.run_scores import UtteranceScores, write_scores
    from sergen.errors import SergenError

    results = tmp_path / "results"
    _demo_results(results)
    write_scores("0123456789abcdef", {"emodb": UtteranceScores(np.array(["a", "b"]), np.array([0, 1]),
                                                                np.full((2, 4), 0.25, np.float32))}, results)
    (results / "runs/.fedcba9876543210.scores.npz.partial").write_bytes(b"half")
    assert len(demo_results_files(results)) == 8
    with open(results / "runs/fedcba9876543210.scores.npz", "wb") as fh:
        np.savez(fh, my_array=np.zeros(3))  # named like a run's scores, holding the user's own arrays
    with pytest.raises(SergenError, match="fedcba9876543210.scores.npz"):
        demo_results_files(results)
    (results / "runs/fedcba9876543210.scores.npz").write_bytes(b"not a zip")
    with pytest.raises(SergenError, match="fedcba9876543210.scores.npz"):
        demo_results_files(results)

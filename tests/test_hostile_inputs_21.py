"""Issue 21, the CLI side: the tracebacks and unclear answers of the third hostile-user pass, each ended as a
clear message (or a note) that names what was wrong, with the bound from one table (``sergen.bounds``)."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest
import typer

from sergen.bounds import MAX_SEED, MAX_WINDOW_S
from sergen.errors import SergenError
from tests.test_bad_input import cli, private_ws  # noqa: F401 (fixtures)

PROBE = ["probe", "--model", "melspec", "--train", "emodb", "--test", "emodb", "--head", "linear"]


# -- bounds at the boundary: the CLI, --set and experiment files read one table -----------------------------

@pytest.mark.parametrize("args, message", [
    (["probe", "--model", "melspec", "--train", "emodb", "--seed", "99999999999999999999"],
     "Invalid value for '--seed': 99999999999999999999 is out of range: give a whole number from 0 to 4294967295"),
    (["grid", "--models", "melspec", "--seeds", "0,4294967296"], "in '0,4294967296': 4294967296 is out of range"),
    (["grid", "--models", "melspec", "--set", "seeds=[0,99999999999999999999]"],
     "99999999999999999999 is out of range: give a whole number from 0 to 4294967295"),
    (["probe", "--model", "melspec", "--train", "emodb", "--set", "sampler.window_s=[1,1e308]"],
     "[sampler] window_s = [1, 1e+308] is out of range: window_s must be two lengths in seconds of at most 600 "
     "(longer than any utterance), got max 1e+308"),
], ids=["probe seed", "grid seeds", "--set seeds", "--set window_s"])
def test_values_past_what_the_libraries_take_are_refused_first(cli, workspace, args, message):
    code, text = cli(*args)
    assert code == 2 and message in text
    assert not (workspace / "results").exists()


def test_window_in_an_experiment_file_is_bounded_with_its_line(cli, workspace):
    (workspace / "exp.toml").write_text("[sampler]\nwindow_s = [1, 1e308]\n")
    code, text = cli("grid", "--models", "melspec", "--config", workspace / "exp.toml")
    assert code == 2 and "window_s = [1, 1e+308] is out of range" in text and "exp.toml, line 2" in text


def test_the_bounds_are_the_ones_the_libraries_take():
    import numpy as np
    import torch

    torch.manual_seed(MAX_SEED)
    np.random.seed(MAX_SEED)  # the legacy generator's limit, the tighter one
    from sergen.train.sampler import SamplerConfig

    assert SamplerConfig(window_s=(1, MAX_WINDOW_S)).window_s == (1.0, MAX_WINDOW_S)
    for bad in ((1, MAX_WINDOW_S * 2), (1, float("inf")), (float("nan"), 2)):
        with pytest.raises(ValueError, match="window_s must be two lengths"):
            SamplerConfig(window_s=bad)


@pytest.mark.parametrize("value", ["inf", "nan", "1e400", "-5"])
def test_ram_budget_that_is_no_size_is_refused(monkeypatch, value):
    from sergen.config import ram_budget_mib

    monkeypatch.setenv("SERGEN_RAM_MIB", value)
    with pytest.raises(SergenError) as err:
        ram_budget_mib()
    assert err.value.what == (f"SERGEN_RAM_MIB={value!r} is not a memory size in MiB of at least 64 (a finite number "
                              "below 2**40)")


# -- workspace variables ---------------------------------------------------------------------------------

def test_sergen_home_that_is_a_file(cli, workspace, monkeypatch):
    (workspace / "home-file").write_text("mine")
    monkeypatch.setenv("SERGEN_HOME", str(workspace / "home-file"))
    monkeypatch.delenv("SERGEN_STORES")
    code, text = cli("stores", "ls")
    assert code == 2 and "SERGEN_HOME is a file, not a folder" in text and "config init " + str(workspace) not in text
    assert (workspace / "home-file").read_text() == "mine"


@pytest.mark.parametrize("kind", ["file", "missing"])
def test_manifests_variable_that_is_no_folder_is_refused_not_ignored(cli, private_ws, monkeypatch, kind):
    target = private_ws / ("mfile" if kind == "file" else "nowhere")
    if kind == "file":
        target.write_text("mine")
    monkeypatch.setenv("SERGEN_MANIFESTS", str(target))
    code, text = cli(*PROBE)
    what = "is a file, not a folder" if kind == "file" else "does not exist"
    assert code == 2 and f"the manifests folder {what}: the labels and splits are read from the manifests" in text
    assert f"where: {target} (set by SERGEN_MANIFESTS)" in text
    assert not (private_ws / "results" / "runs").exists() or not list((private_ws / "results" / "runs").iterdir())


# -- all / each, repeated items, empty names ---------------------------------------------------------------

def test_report_refuses_a_manifests_variable_that_is_a_file(cli, workspace, monkeypatch):
    (workspace / "mfile").write_text("mine")
    monkeypatch.setenv("SERGEN_MANIFESTS", str(workspace / "mfile"))
    code, text = cli("report")
    assert code == 2 and "the manifests folder is a file, not a folder" in text and "cannot be read now" not in text


def test_train_with_an_empty_corpus_name(cli, private_ws):
    code, text = cli("probe", "--model", "melspec", "--train", "emodb+")
    assert code == 2 and "'emodb+' has an empty corpus name (a '+' or ',' with nothing beside it)" in text
    assert "corpus ''" not in text


@pytest.mark.parametrize("name", ["all", "each", "ALL"])
def test_a_corpus_may_not_be_named_all_or_each(name):
    from sergen.cli.validate import corpus_name

    with pytest.raises(typer.BadParameter, match="read .* as every corpus with a store"):
        corpus_name(name)


def test_test_all_says_when_it_is_not_the_five():
    from sergen.cli.scope import test_scope_note

    assert test_scope_note("all", "melspec", ["iemocap", "cremad", "msp", "emodb", "ravdess"]) is None
    assert test_scope_note("emodb", "melspec", ["emodb"]) is None
    assert test_scope_note("all", "melspec", ["emodb", "ravdess"]) == (
        "--test all means every corpus with a melspec store: emodb, ravdess; none for iemocap, cremad, msp, so not "
        "tested (`sergen extract --model melspec --corpus iemocap,cremad,msp` adds them)")
    assert test_scope_note("all", "melspec", ["iemocap", "cremad", "msp", "emodb", "ravdess", "mine"]) == (
        "--test all means every corpus with a melspec store: iemocap, cremad, msp, emodb, ravdess, mine")
    assert test_scope_note("all", "melspec", ["iemocap"], "superb-er") == (
        "--test all with --protocol superb-er: tested on that protocol's corpora only (iemocap)")


def test_grid_runs_repeated_items_once_and_says_so(cli, private_ws):
    code, text = cli("grid", "--models", "melspec,melspec", "--train", "emodb+ravdess,ravdess+emodb",
                     "--test", "emodb", "--heads", "linear", "--seeds", "0,0", "--set", "training.max_steps=20")
    assert code == 0, text
    assert "1 combinations: 0 done, 1 to run" in text
    assert "note: --models lists melspec more than once: each is run once" in text
    assert "note: --seeds lists 0 more than once: each is run once" in text
    assert "note: 1 combination(s) repeat another's run id" in text
    assert len(list((private_ws / "results" / "runs").glob("*.csv"))) == 1
    code, text = cli("grid", "--models", "melspec", "--train", "emodb", "--heads", "linear",
                     "--set", "training.max_steps=20")
    assert code == 0 and "--test all means every corpus with a melspec store: emodb, ravdess; none for" in text


# -- label maps and fold files ---------------------------------------------------------------------------

def test_label_map_matches_native_classes_ignoring_case_and_spaces(tmp_path):
    from sergen.protocols.protocol import class_labels, table_from

    path = tmp_path / "map.csv"
    path.write_text("native,label\nAngry,ang\nhappy ,hap\n SAD,sad\n")
    table = table_from(pd.DataFrame({"utt_id": ["a", "b", "c", "d"], "native_label": ["angry", "happy", "Sad", "neutral"],
                                     "label": ["ang", "hap", "sad", "neu"]}), "emodb", "test")
    assert class_labels(table, f"map:{path}").tolist() == ["ang", "hap", "sad", ""]


def test_label_map_with_one_class_twice_by_case_is_refused(tmp_path):
    from sergen.protocols.protocol import read_label_map

    path = tmp_path / "map.csv"
    path.write_text("native,label\nangry,ang\nAngry,ang\n")
    with pytest.raises(SergenError, match=r"maps the same native class twice \(lines 2, 3\)"):
        read_label_map(str(path), path.stat().st_mtime_ns)


def test_fold_file_with_a_single_fold_says_what_is_wrong(tmp_path):
    from sergen.protocols.protocol import read_fold_file

    path = tmp_path / "folds.csv"
    path.write_text("utt_id,fold\na,1\nb,1\nc,1\n")
    with pytest.raises(SergenError) as err:
        read_fold_file(str(path), path.stat().st_mtime_ns)
    assert err.value.what == ("the fold file has a single fold (1): each run tests on one fold and trains on the "
                              "others, so it needs at least 2")


# -- a closed output pipe ------------------------------------------------------------------------------------

def _with_stdout_closed(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python whose stdout is a pipe nobody reads any more (``| head`` that ended)."""
    prelude = "import os\nr, w = os.pipe()\nos.close(r)\nos.dup2(w, 1)\n"
    return subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200"})


def test_a_closed_pipe_stops_printing_not_the_command():
    proc = _with_stdout_closed("from sergen.console import console\nconsole.print('a')\nconsole.print('b')\n"
                               "import sys\nsys.stderr.write(f'went on {console.pipe_closed}')\n")
    assert proc.returncode == 0 and proc.stderr.endswith("went on True")


def test_main_says_the_pipe_closed_and_that_it_carried_on():
    proc = _with_stdout_closed("import sys\nsys.argv = ['sergen', 'views']\nfrom sergen.cli import main\nmain()\n")
    assert proc.returncode == 0, proc.stderr
    assert "note: the output pipe closed early (e.g. `| head`)" in proc.stderr and "Traceback" not in proc.stderr

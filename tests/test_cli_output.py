"""Output for people and scripts, and the bad inputs around probes and results: tables in a pipe keep
whole names, --json parses, an unwritable results folder is refused before training, a manifest edited
after extraction is caught, an unknown model gets a command that works, missing classes are named."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import zarr
from typer.testing import CliRunner

from sergen import LABELS
from sergen.cli import app
from sergen.errors import SergenError
from sergen.train.metrics import METRICS

runner = CliRunner()


def sergen(*args, cwd=None, env=None) -> subprocess.CompletedProcess:
    """The command as a user runs it, its stdout a pipe (so rich's width is 80, unless ``env`` sets COLUMNS)."""
    env = {**{k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}, **(env or {})}
    return subprocess.run([sys.executable, "-c", "from sergen.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, cwd=cwd)


@pytest.fixture(scope="module")
def small_workspace(tmp_path_factory) -> Path:
    """The demo at scale 0.3 (its cremad test split has no ang, emodb's no hap): manifests and melspec
    stores of emodb and cremad."""
    from sergen.corpora import read_corpus, write_manifest
    from sergen.corpora.demo import make_demo
    from sergen.extract import extract

    ws = tmp_path_factory.mktemp("small")
    roots = make_demo(ws / "audio", seed=0, scale=0.3, corpora=("emodb", "cremad"))
    for corpus in ("emodb", "cremad"):
        write_manifest(read_corpus(corpus, roots[corpus]), ws / "manifests" / f"{corpus}.csv")
        extract("melspec", corpus, stores_root=ws / "stores", manifest_file=ws / "manifests" / f"{corpus}.csv",
                show_progress=False)
    return ws


@pytest.fixture
def in_small_workspace(small_workspace, tmp_path, monkeypatch) -> Path:
    """Manifests copied per test (tests edit them); stores shared; results per test."""
    shutil.copytree(small_workspace / "manifests", tmp_path / "manifests", dirs_exist_ok=True)
    monkeypatch.setenv("SERGEN_MANIFESTS", str(tmp_path / "manifests"))
    monkeypatch.setenv("SERGEN_STORES", str(small_workspace / "stores"))
    return tmp_path


def fake_store(root: Path, model: str, corpus: str, n_utts: int = 12, n_frames: int = 3456, dim: int = 1024,
               complete: bool = True) -> None:
    """A store whose listing shows these counts, true to its arrays' shapes (``stores ls`` checks them: stop 36):
    laid out without frames, every utterance failed, so no frame chunk is expected."""
    import numpy as np

    from sergen.store.layout import FAILED
    from sergen.store.writer import StoreWriter, create_store

    per = np.full(n_utts, n_frames // n_utts)
    per[:n_frames % n_utts] += 1
    plan = pd.DataFrame({"utt_id": [f"u{i}" for i in range(n_utts)], "label": "hap", "split": "train",
                         "duration_s": 1.0, "n_frames": per})
    group = create_store(root / model / f"{corpus}.zarr", plan, {"model": model, "corpus": corpus}, dim)
    group["status"][:] = np.full(n_utts, FAILED, np.uint8)
    writer = StoreWriter(group)
    writer.set_failures({f"u{i}": "a fake store holds no frames" for i in range(n_utts)})
    if complete:
        writer.mark_complete()


# ---------------------------------------------------------------- tables and JSON

def test_piped_tables_keep_whole_names(tmp_path):
    from sergen.extractors import EXTRACTORS

    proc = sergen("models", "ls")
    assert proc.returncode == 0, proc.stderr
    assert max(len(line) for line in proc.stdout.splitlines()) <= 80  # the pipe's width, columns folded
    for name in EXTRACTORS.names():
        assert f"│ {name} " in proc.stdout, name  # cut names used to read "cdpam-…", "dac-44…", "clap-2…"
    assert "…" not in proc.stdout.split("│")[1]  # first cell of the first row: nothing cut
    fake_store(tmp_path / "stores", "dac-44khz", "iemocap@time-stretch")
    fake_store(tmp_path / "stores", "cdpam-content", "ravdess", complete=False)
    proc = sergen("stores", "ls")
    assert proc.returncode == 0, proc.stderr
    assert "│ dac-44khz " in proc.stdout and "│ iemocap@time-stretch " in proc.stdout
    assert "│ cdpam-content " in proc.stdout and "…" not in proc.stdout


def test_json_output_of_listings(tmp_path):
    from sergen.extractors import EXTRACTORS

    proc = sergen("models", "ls", "--json")
    assert proc.returncode == 0, proc.stderr
    models = {m["model"]: m for m in json.loads(proc.stdout)["models"]}
    assert list(models) == EXTRACTORS.names()
    assert models["melspec"]["dim"] == 128 and models["melspec"]["weights_present"] is True
    assert models["cdpam-content"]["aliases"] == ["cdpam"] and models["melspec"]["sample_rate"] == 16000
    fake_store(tmp_path / "stores", "dac-44khz", "iemocap@time-stretch")
    fake_store(tmp_path / "stores", "cdpam-content", "ravdess", complete=False)
    proc = sergen("stores", "ls", "--json")
    assert proc.returncode == 0, proc.stderr
    stores = json.loads(proc.stdout)["stores"]
    assert [(s["model"], s["corpus"], s["complete"]) for s in stores] == [
        ("cdpam-content", "ravdess", False), ("dac-44khz", "iemocap@time-stretch", True)]
    assert stores[1]["utterances"] == 12 and stores[1]["frames"] == 3456 and stores[1]["dim"] == 1024
    assert stores[1]["path"] == str(tmp_path / "stores" / "dac-44khz" / "iemocap@time-stretch.zarr")


def test_probe_and_grid_json_and_absent_classes(in_small_workspace):
    proc = sergen("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb,cremad", "--head", "linear",
                  "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) >= {"run_id", "results", "spec", "stores", "absent_classes", "confusion", "rows"}
    assert out["absent_classes"] == {"emodb": ["hap"], "cremad": ["ang"]}
    assert set(out["stores"]) == {"melspec/emodb", "melspec/cremad"}
    assert len(out["rows"]) == 2 * len(METRICS) and {r["test"] for r in out["rows"]} == {"emodb", "cremad"}
    saved = pd.read_csv(out["results"])
    assert saved.value.tolist() == pytest.approx([r["value"] if r["value"] is not None else float("nan")
                                                  for r in out["rows"]], nan_ok=True)
    assert sum(map(sum, out["confusion"]["cremad"])) == saved.n_test[saved.test == "cremad"].iloc[0]
    assert "cremad has no ang in its test split" in proc.stderr  # said beside the numbers, on stderr for --json

    proc = sergen("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb,cremad", "--head", "linear")
    assert proc.returncode == 0, proc.stderr
    # in a pipe (80 columns) the absent classes are named by the warning below the table, not in a column
    assert "absent from test" not in proc.stdout
    assert "warning: cremad has no ang in its test split; emodb has no hap in its test split" in proc.stdout
    wide = sergen("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb,cremad", "--head", "linear",
                  env={"COLUMNS": "120"})
    rows = {line.split("│")[1].strip(): line for line in wide.stdout.splitlines() if line.startswith("│ ")
            and line.split("│")[1].strip()}
    assert rows["emodb *"].rstrip("│ ").endswith("hap") and rows["cremad"].rstrip("│ ").endswith("ang")

    proc = sergen("grid", "--models", "melspec", "--train", "each", "--test", "cremad", "--heads", "linear", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["combinations"] == 2 and out["ran"] == 2 and out["reused"] == 0 and out["stale_rerun"] == {}
    assert set(out["matrices"]) == {"auroc_melspec_linear_true_aug0"}
    matrix = pd.read_csv(out["matrices"]["auroc_melspec_linear_true_aug0"], index_col=0)
    assert list(matrix.index) == ["cremad", "emodb"] and list(matrix.columns) == ["cremad", "emodb"]
    assert out["absent_classes"] == {"cremad": ["ang"]}
    again = json.loads(sergen("grid", "--models", "melspec", "--train", "each", "--test", "cremad", "--heads",
                              "linear", "--json").stdout)
    assert again["ran"] == 0 and again["reused"] == 2


# ---------------------------------------------------------------- bad input

def test_unwritable_results_folder_is_refused_before_training(in_small_workspace, monkeypatch):
    blocker = in_small_workspace / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SERGEN_RESULTS", str(blocker / "results"))
    for args in (["probe", "--model", "melspec", "--train", "emodb", "--head", "linear"],
                 ["grid", "--models", "melspec", "--train", "emodb", "--heads", "linear"]):
        proc = sergen(*args)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "the results folder cannot be made: a file stands where a folder is needed" in proc.stderr
        assert str(blocker / "results" / "runs") in proc.stderr and "Traceback" not in proc.stderr
    assert blocker.read_text() == "not a folder"
    # and before any training: the training step is never reached
    import sergen.experiments.probe as probe

    monkeypatch.setattr(probe, "probe_run", lambda *a, **k: pytest.fail("trained before checking the results folder"))
    with pytest.raises(SergenError, match="results folder cannot be made"):
        runner.invoke(app, ["probe", "--model", "melspec", "--train", "emodb"], catch_exceptions=False)


def test_results_folder_without_write_permission(tmp_path, monkeypatch):
    """Root ignores chmod, so the permission check is tested through os.access."""
    import sergen.results as results

    real = os.access
    monkeypatch.setattr(results.os, "access", lambda p, mode: False if Path(p) == tmp_path / "r" / "runs" else real(p, mode))
    with pytest.raises(SergenError, match="the results folder is not writable") as info:
        results.ensure_writable(tmp_path / "r")
    assert info.value.where == str(tmp_path / "r" / "runs") and "SERGEN_RESULTS" in info.value.fix
    assert not list((tmp_path / "r" / "runs").iterdir())  # nothing left behind
    monkeypatch.setattr(results.os, "access", real)
    assert results.ensure_writable(tmp_path / "r") == tmp_path / "r" / "runs"
    assert not list((tmp_path / "r" / "runs").iterdir())


def test_a_relabelled_manifest_is_used_at_once_and_makes_older_runs_stale(in_small_workspace, small_workspace):
    """Labels are a protocol joined at probe time: editing them needs no extraction, and a run made with the
    old labels stops counting (it is stale), instead of the probe refusing the store."""
    store = small_workspace / "stores" / "melspec" / "emodb.zarr"
    before = {p: p.stat().st_mtime_ns for p in store.rglob("*") if p.is_file()}
    first = json.loads(sergen("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb", "--head", "linear",
                              "--json").stdout)
    assert sum(first["confusion"]["emodb"][1]) > 0  # sad test items, before the edit
    path = in_small_workspace / "manifests" / "emodb.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[df.label == "sad", "label"] = "neu"  # the user merges sad into neu after extraction
    df.to_csv(path, index=False)
    proc = sergen("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb", "--head", "linear", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["run_id"] == first["run_id"]  # the same spec …
    absent_before = first["absent_classes"].get("emodb", [])
    assert "sad" not in absent_before
    assert out["absent_classes"]["emodb"] == sorted(absent_before + ["sad"], key=LABELS.index)  # the manifest's labels
    assert sum(out["confusion"]["emodb"][1]) == 0
    assert sum(map(sum, out["confusion"]["emodb"])) == sum(map(sum, first["confusion"]["emodb"]))
    assert {p: p.stat().st_mtime_ns for p in store.rglob("*") if p.is_file()} == before  # nothing re-extracted
    df.loc[df.index[:3], "label"] = "ang"
    df.to_csv(path, index=False)
    proc = sergen("report")  # the one run is stale now: nothing fresh to report, and the reason is named
    assert proc.returncode == 2 and "no fresh results to report (1 stale run(s)" in proc.stderr
    assert "the labels or splits of emodb changed since the run (the emodb manifest changed): it used the old ones" \
        in proc.stderr


def test_unknown_model_suggests_what_works(in_small_workspace):
    proc = sergen("probe", "--model", "wavlm-tiny", "--train", "emodb")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "unknown model 'wavlm-tiny'; extractors: " in proc.stderr and "wavlm-large" in proc.stderr
    assert "models with stores here: melspec" in proc.stderr
    assert "extract --model wavlm-tiny" not in proc.stderr  # that command would fail too
    proc = sergen("probe", "--model", "encodec", "--train", "emodb")  # known, but nothing extracted
    assert proc.returncode == 2
    assert "no stores for model 'encodec'" in proc.stderr
    assert "run `sergen extract --model encodec --corpus all` (manifests present: cremad, emodb)" in proc.stderr
    proc = sergen("probe", "--model", "melspec", "--train", "tess")
    assert proc.returncode == 2 and "no melspec store for corpus 'tess'; stores exist for: cremad, emodb" in proc.stderr

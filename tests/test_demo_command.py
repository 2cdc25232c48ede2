"""`sergen demo` end to end, small: synthesise, manifests, extract with a view, grid, fragmentation, report —
all inside the demo's own workspace, leaving the user's manifests, stores, results and config untouched."""

import hashlib
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from sergen.cli import app
from sergen.errors import SergenError

USER_CONFIG = '# my settings\n[roots]\niemocap = "/data/IEMOCAP"\n\n[lab]\ngpus = 4\n'


def digest(root, skip=()):
    """Every file's bytes, except under ``skip`` and the home folder's caches (matplotlib's font list)."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.relative_to(root).parts[0] not in skip
            and not p.relative_to(root).as_posix().startswith("home/.cache/")}


def sentinel_workspace(ws, monkeypatch):
    """A user's workspace with real-looking work under the demo's corpus names, pointed at by every
    variable the demo could follow, and a user-level config as well."""
    files = {
        "manifests/iemocap.csv": "utt_id,corpus\nSes01F_impro01_F000,iemocap\n",
        "manifests/iemocap.json": '{"root": "/data/IEMOCAP"}',
        "stores/melspec/iemocap.zarr/zarr.json": '{"zarr_format": 3, "node_type": "group"}',
        "stores/egemaps/emodb.zarr/zarr.json": '{"zarr_format": 3}',
        "stores/.banks/melspec-emodb.npy": "bank",
        "results/runs/0123abcd.csv": "run_id,metric,value\n0123abcd,auroc,0.81\n",
        "results/matrices/auroc_melspec_linear_true_aug0.csv": "train,emodb\nemodb,0.9\n",
        "reports/latest/report.md": "# weeks of work\n",
        "sergen.toml": USER_CONFIG,
        "home/.config/sergen/config.toml": USER_CONFIG,
        "corpora/emodb/wav/03a01Fa.wav": "a real recording",
    }
    for name, text in files.items():
        (ws / name).parent.mkdir(parents=True, exist_ok=True)
        (ws / name).write_text(text)
    monkeypatch.setenv("HOME", str(ws / "home"))
    monkeypatch.setenv("SERGEN_CACHE", str(ws / "stores/.banks"))
    monkeypatch.setenv("SERGEN_ROOT_EMODB", str(ws / "corpora/emodb"))
    return digest(ws)


def test_demo_runs_the_whole_pipeline_in_its_own_workspace(tmp_path, monkeypatch):
    before = sentinel_workspace(tmp_path, monkeypatch)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["demo", "--out", "demo", "--scale", "0.5", "--models", "melspec",
                                      "--views", "pink-noise", "--seeds", "0", "--no-sequence-heads"])  # theirs: test_demo_plan
    assert result.exit_code == 0, result.output
    # the user's manifests, stores, bank cache, results, reports, configs and corpus: byte-identical
    assert digest(tmp_path, skip=("demo",)) == before
    demo = tmp_path / "demo"
    report = (demo / "reports/latest/report.md").read_text()
    assert "Synthetic data" in report and "## Fragmentation" in report and "trained on iemocap+cremad+msp+emodb+ravdess" in report
    assert (demo / "stores/melspec/msp@pink-noise.zarr").exists()
    # the remedy against its baseline, in the report and on the console, with the transductive note
    remedy = "melspec · mlp · trained on iemocap+cremad+msp+emodb+ravdess: --norm corpus against --norm global"
    assert f"### {remedy}" in report and "**Verdict:** fragmentation" in report and "transductive" in report
    assert re.search(r"corpus-ID accuracy of the hidden features, held out \(chance 0\.20\) \| +0\.\d{3} \(n=1\) \| "
                     r"+0\.\d{3} \(n=1\) \|", report)
    assert "  verdict: fragmentation" in result.output and "(transductive)" in result.output
    assert sorted(p.name for p in (demo / "corpora").iterdir()) == ["cremad", "emodb", "iemocap", "msp", "ravdess"]
    assert (demo / "manifests/emodb.json").read_text().count(str(demo / "corpora/emodb")) == 1
    runs = list((demo / "results/runs").glob("*.csv"))
    # 7 train sets × 2 heads, the 5D sweep (its first cell shared), and the remedy: 5D with --norm corpus,
    # true and scrambled labels, both heads
    assert len(runs) == 7 * 2 + 2 * 5 * 2 - 2 + 2 * 2
    norms = pd.concat([pd.read_csv(r, usecols=["norm", "scramble"]) for r in runs])
    assert sorted(norms[norms.norm == "corpus"].drop_duplicates().scramble.tolist()) == [False, True]
    # the demo workspace is a workspace: from inside it, the grid part resumes with nothing to redo
    monkeypatch.chdir(demo / "corpora")
    for name in ("SERGEN_HOME", "SERGEN_CONFIG", "SERGEN_MANIFESTS", "SERGEN_STORES", "SERGEN_RESULTS",
                 "SERGEN_REPORTS", "SERGEN_CACHE", "SERGEN_ROOT_EMODB"):
        monkeypatch.delenv(name)
    result = CliRunner().invoke(app, ["grid", "--models", "melspec", "--train", "each,iemocap+cremad"])
    assert result.exit_code == 0 and "12 combinations" in result.output, result.output
    assert digest(tmp_path, skip=("demo",)) == before


@pytest.mark.parametrize("args, what", [
    (["--out", "."], "is not a demo workspace sergen made (no SERGEN_DEMO_WORKSPACE.json) and holds corpora, home, "
                     "manifests, reports, results …; the demo writes only into its own folder, so nothing was written"),
    (["--out", "sergen.toml"], "the demo's folder is a file"),
    (["--seeds", "0,x"], "--seeds must be whole numbers separated by commas, not '0,x'"),
    (["--seeds", "-1"], "--seeds must be whole numbers ≥ 0, not [-1]"),
    (["--models", "nosuchmodel"], "unknown model 'nosuchmodel'"),
    (["--views", "pink-noize"], "unknown view 'pink-noize'"),
])
def test_bad_demo_arguments_are_refused_before_anything_is_written(tmp_path, monkeypatch, args, what):
    before = sentinel_workspace(tmp_path, monkeypatch)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["demo", *args])
    assert isinstance(result.exception, SergenError), result.output
    assert what in result.exception.what
    assert digest(tmp_path) == before


def test_a_demo_scale_out_of_range_is_a_usage_error_naming_the_bound(tmp_path, monkeypatch):
    before = sentinel_workspace(tmp_path, monkeypatch)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["demo", "--scale", "20"])
    assert result.exit_code == 2
    assert "20.0 is out of range: give a scale from 0.01 to 10" in " ".join(result.output.replace("│", " ").split())
    assert digest(tmp_path) == before


def test_a_file_added_inside_the_demos_corpora_stops_a_rerun_before_anything_is_written(tmp_path, monkeypatch):
    from sergen.corpora.demo import make_demo
    from sergen.demo import WORKSPACE_MARKER

    out = tmp_path / "d2"
    make_demo(out / "corpora", seed=0, scale=0.05, corpora=["emodb"])  # as a previous `sergen demo` left it
    (out / WORKSPACE_MARKER).write_text('{"note": "sergen demo workspace"}')
    (out / "corpora/emodb/mine_notes.txt").write_text("mine")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    before = digest(tmp_path)
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--scale", "0.05"])
    assert isinstance(result.exception, SergenError), result.output
    assert "holds files sergen did not write (mine_notes.txt)" in result.exception.what
    assert digest(tmp_path) == before  # the workspace marker, config and corpora untouched

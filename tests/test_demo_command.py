"""`sergen demo` end to end, small: synthesise, manifests, extract with a view, grid, fragmentation, report —
all inside the demo's own workspace."""

from typer.testing import CliRunner

from sergen.cli import app


def test_demo_runs_the_whole_pipeline_in_its_own_workspace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["demo", "--out", "demo", "--scale", "0.5", "--models", "melspec",
                                      "--views", "pink-noise", "--seeds", "0"])
    assert result.exit_code == 0, result.output
    demo = tmp_path / "demo"
    report = (demo / "reports/latest/report.md").read_text()
    assert "Synthetic data" in report and "## Fragmentation" in report and "trained on iemocap+cremad+msp+emodb+ravdess" in report
    assert (demo / "stores/melspec/msp@pink-noise.zarr").exists()
    assert sorted(p.name for p in (demo / "corpora").iterdir()) == ["cremad", "emodb", "iemocap", "msp", "ravdess"]
    runs = list((demo / "results/runs").glob("*.csv"))
    assert len(runs) == 7 * 2 + 2 * 5 * 2 - 2  # 7 train sets × 2 heads, plus the 5D sweep (its first cell shared)
    # nothing outside the demo workspace: the test's own workspace (SERGEN_* folders) stays empty
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]
    # the demo workspace is a workspace: from inside it, the grid part resumes with nothing to redo
    monkeypatch.chdir(demo / "corpora")
    for name in ("SERGEN_HOME", "SERGEN_CONFIG", "SERGEN_MANIFESTS", "SERGEN_STORES", "SERGEN_RESULTS", "SERGEN_REPORTS"):
        monkeypatch.delenv(name)
    result = CliRunner().invoke(app, ["grid", "--models", "melspec", "--train", "each,iemocap+cremad"])
    assert result.exit_code == 0 and "12 combinations" in result.output, result.output

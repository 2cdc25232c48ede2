"""`sergen demo` end to end, small: synthesise, manifests, extract with a view, grid, fragmentation, report."""

from typer.testing import CliRunner

from sergen.cli import app


def test_demo_runs_the_whole_pipeline(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["demo", "--out", "demo", "--scale", "0.5", "--models", "melspec",
                                      "--views", "pink-noise"])
    assert result.exit_code == 0, result.output
    report = (tmp_path / "reports/demo/report.md").read_text()
    assert "Synthetic data" in report and "## Fragmentation" in report and "trained on iemocap+cremad+msp+emodb+ravdess" in report
    assert (tmp_path / "stores/melspec/msp@pink-noise.zarr").exists()
    runs = list((tmp_path / "results/runs").glob("*.csv"))
    assert len(runs) == 7 * 2 + 2 * 5 * 2 - 2  # 7 train sets × 2 heads, plus the 5D sweep (its first cell shared)
    # a second run of the grid part resumes: nothing to redo
    result = CliRunner().invoke(app, ["grid", "--models", "melspec", "--train", "each,iemocap+cremad"])
    assert result.exit_code == 0 and "12 combinations" in result.output

"""The demo loads its results folder's runs once, for the AUROC matrices, the report and the console (issue
26: each load checks every run's freshness against the stores, seconds for the demo's 228 runs). What they
write from the runs handed over is what they write when they load the runs themselves, byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from sergen.config import data_dir
from sergen.experiments.grid import auroc_matrices, grid_specs, run_grid
from sergen.report.markdown import build_report
from sergen.results import load_runs
from sergen.train.loop import TrainConfig

FAST = TrainConfig(max_steps=60, eval_every=20, min_steps=20, lr_patience=1, stop_patience=2)


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def grid_results(in_demo_workspace):
    specs = grid_specs(["melspec"], "emodb,ravdess,emodb+ravdess", heads=("linear",), training=FAST, n_boot=10)
    assert run_grid(specs, workers=1, show_progress=False, load_results=False) is None
    return data_dir("results")


def test_matrices_from_runs_handed_over_equal_those_loaded(grid_results):
    loaded = auroc_matrices(grid_results)
    first = files_of(grid_results / "matrices")
    handed = auroc_matrices(grid_results, runs=load_runs(grid_results))
    assert handed == loaded and len(loaded) >= 1
    assert files_of(grid_results / "matrices") == first


def test_report_from_runs_handed_over_equals_the_one_loaded(grid_results, tmp_path):
    auroc_matrices(grid_results)
    loaded = build_report(grid_results, tmp_path / "loaded", title="t")
    handed = build_report(grid_results, tmp_path / "handed", title="t", runs=load_runs(grid_results))
    strip = lambda text: [line for line in text.splitlines() if not line.startswith("Made ")]  # noqa: E731 (the clock)
    assert strip(handed.read_text()) == strip(loaded.read_text())
    assert sorted(files_of(handed.parent)) == sorted(files_of(loaded.parent))

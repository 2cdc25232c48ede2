"""The grid's workers start before its memory plan is made (they spawn and import torch meanwhile) and get
their budget from it before any job; where the plan runs the grid in this process instead, they are stopped
at once, and the runs are those of a grid that never started them."""

import multiprocessing as mp

from sergen.experiments import grid_pool
from sergen.experiments.grid import grid_specs, run_grid
from sergen.train.loop import TrainConfig

FAST = TrainConfig(max_steps=150, eval_every=50)


def test_early_workers_are_stopped_when_the_plan_runs_the_grid_here(in_demo_workspace, tmp_path, monkeypatch):
    real_plan, real_start, started = grid_pool.plan_grid, grid_pool._start_workers, []
    monkeypatch.setattr(grid_pool, "plan_grid", lambda touched, workers, *a, **k: real_plan(touched, 1, *a, **k))

    def start(n, run_one):
        started.extend(real_start(n, run_one))
        return list(started)

    monkeypatch.setattr(grid_pool, "_start_workers", start)
    specs = grid_specs(["melspec"], "emodb", heads=("linear",), seeds=(0, 1), training=FAST, n_boot=10)
    here = run_grid(specs, results_dir=tmp_path / "here", workers=2, show_progress=False)
    assert len(started) == 2 and not any(w.proc.is_alive() for w in started)
    assert [p for p in mp.active_children() if p in {w.proc for w in started}] == []
    monkeypatch.setattr(grid_pool, "_start_workers", real_start)
    alone = run_grid(specs, results_dir=tmp_path / "alone", workers=1, show_progress=False)
    assert len(here) == 2 * 5 * 6
    key = ["run_id", "test", "metric"]
    assert here.drop(columns="seconds").sort_values(key).reset_index(drop=True).equals(
        alone.drop(columns="seconds").sort_values(key).reset_index(drop=True))

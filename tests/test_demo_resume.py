"""A demo killed part way and run again into the same folder resumes: the corpora synthesised at this scale
and the stores extracted from them are kept (extract checks and resumes them), the grid runs already saved are
not run again, and the results are value for value those of a demo that was never interrupted."""

from __future__ import annotations

import pandas as pd
import pytest

import sergen.demo as demo
import sergen.experiments.grid as grid
from sergen.errors import SergenError

SMALL = dict(scale=0.02, models=("melspec",), views=(), seeds=(0,), sequence_heads=False, workers=2)
RUNS = 4  # the first runs of the demo's grid: enough to stop in the middle of it


@pytest.fixture
def few_runs(monkeypatch):
    real = demo.demo_specs
    monkeypatch.setattr(demo, "demo_specs", lambda *a, **k: real(*a, **k)[:RUNS])


def _stamps(root, pattern="*", skip=(".lock",)):
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in sorted(root.rglob(pattern))
            if p.is_file() and not p.name.endswith(skip)}


def _rows(out):
    rows = pd.concat([pd.read_csv(p) for p in sorted((out / "results/runs").glob("*.csv"))])
    return rows.drop(columns=["seconds"]).sort_values(["run_id", "test", "metric"]).reset_index(drop=True)


def test_a_demo_stopped_in_its_grid_resumes_to_the_uninterrupted_results(tmp_path, monkeypatch, few_runs):
    whole = tmp_path / "whole"
    demo.run_demo(whole, **SMALL)

    stopped = tmp_path / "stopped"
    real_grid = grid.run_grid

    def grid_killed_halfway(specs, **kwargs):
        real_grid(specs[:RUNS // 2], **kwargs)
        raise KeyboardInterrupt  # as a kill between two runs: the finished ones are saved, the rest are not

    monkeypatch.setattr(grid, "run_grid", grid_killed_halfway)
    with pytest.raises(KeyboardInterrupt):
        demo.run_demo(stopped, **SMALL)
    monkeypatch.setattr(grid, "run_grid", real_grid)
    corpora, stores = _stamps(stopped / "corpora"), _stamps(stopped / "stores")
    saved = _stamps(stopped / "results/runs")
    assert len(saved) == 3 * (RUNS // 2)  # each run: rows, record, scores

    demo.run_demo(stopped, **SMALL)
    assert _stamps(stopped / "corpora") == corpora  # not synthesised again
    assert _stamps(stopped / "stores") == stores  # not extracted again
    after = _stamps(stopped / "results/runs")
    assert {name: after[name] for name in saved} == saved and len(after) == 3 * RUNS  # only the rest were run
    pd.testing.assert_frame_equal(_rows(stopped), _rows(whole))
    made = [[line for line in (out / "reports/latest/report.md").read_text().splitlines()
             if not line.startswith("Made ")] for out in (stopped, whole)]  # the line with the time and folder
    assert made[0] == made[1]


def test_another_scale_synthesises_again(tmp_path):
    from sergen.corpora.demo import make_demo

    make_demo(tmp_path, scale=0.01, corpora=["emodb"])
    assert demo.synthesised_before(tmp_path / "emodb", 0.01)
    assert not demo.synthesised_before(tmp_path / "emodb", 0.02)
    (tmp_path / "emodb/wav" / sorted((tmp_path / "emodb/wav").iterdir())[0].name).unlink()
    assert not demo.synthesised_before(tmp_path / "emodb", 0.01)  # a file gone: written again


def test_a_store_extract_will_not_resume_is_rebuilt(monkeypatch):
    import sergen.extract

    calls = []

    class Report:
        failures, wall_s = {}, 1.0

    def fake_extract(model, corpus, view=None, overwrite=False, show_progress=True):
        calls.append(overwrite)
        if not overwrite:
            raise SergenError("the emodb manifest changed since this store was made")
        return Report()

    monkeypatch.setattr(sergen.extract, "extract", fake_extract)
    assert demo._extract_one(("melspec", "emodb", None)) == ({}, 1.0)
    assert calls == [False, True]

"""The grid's order of runs (longest first, issue 26) decides only when a run happens, never its numbers: the
same grid run in the scheduler's order and in the opposite order, in one process (where the utterance
vectors made by one run are shared with the next), gives identical rows and records."""

import json

import pandas as pd

import sergen.experiments.grid_pool as grid_pool
from sergen.experiments.grid import grid_specs, run_grid
from sergen.results import load_runs
from sergen.train.loop import TrainConfig


def test_reversed_order_gives_identical_runs(in_demo_workspace, tmp_path, monkeypatch):
    specs = grid_specs(["melspec"], "emodb,emodb+ravdess", heads=("linear", "mlp"), seeds=(0, 1),
                       training=TrainConfig(max_steps=300), n_boot=10)
    order_runs, orders = grid_pool.order_runs, []

    def recorded(reverse):
        def order(todo, touched):
            ids = order_runs(todo, touched)[::-1 if reverse else 1]
            orders.append([todo[i].run_id for i in ids])
            return ids
        return order

    tables = []
    for name, reverse in (("scheduled", False), ("reversed", True)):
        monkeypatch.setattr(grid_pool, "order_runs", recorded(reverse))
        rows = run_grid(specs, results_dir=tmp_path / name, workers=1, show_progress=False)
        tables.append(rows.drop(columns="seconds").sort_values(["run_id", "test", "metric"]).reset_index(drop=True))
    assert len(specs) == 8 and orders[0] == orders[1][::-1] and orders[0] != orders[1]
    assert len(tables[0]) == 8 * 5 * 6
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)
    records = [load_runs(tmp_path / name, [s.run_id for s in specs]).records for name in ("scheduled", "reversed")]
    for run_id in records[0]:
        a, b = (json.loads(r[run_id].to_json()) for r in records)
        for timed in ("finished", "rows_sha256", "record_sha256"):  # digests of files holding the times
            a.pop(timed), b.pop(timed)
        assert a == b

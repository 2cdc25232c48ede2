"""The grid's order of runs (longest first, issue 26) decides only when a run happens, never its numbers: the
same grid run in the scheduler's order and in the opposite order, in one process (where the utterance
vectors made by one run are shared with the next), gives identical rows and records."""

import json

import pandas as pd

import sergen.experiments.grid_pool as grid_pool
from sergen.experiments.grid import grid_specs, run_grid
from sergen.results import load_runs
from sergen.train.loop import TrainConfig


def assert_orders_give_identical_runs(specs, tmp_path, monkeypatch, reorders: dict) -> list[list[str]]:
    """Run the grid once per named order (``reorders``: name → function of the todo list and the scheduler's
    order); assert identical rows and records (times and their digests aside); return the orders handed out."""
    order_runs, orders, tables = grid_pool.order_runs, [], []
    for name, reorder in reorders.items():
        def order(todo, touched, reorder=reorder):
            ids = reorder(todo, order_runs(todo, touched))
            orders.append([todo[i].run_id for i in ids])
            return ids
        monkeypatch.setattr(grid_pool, "order_runs", order)
        rows = run_grid(specs, results_dir=tmp_path / name, workers=1, show_progress=False)
        tables.append(rows.drop(columns="seconds").sort_values(["run_id", "test", "metric"]).reset_index(drop=True))
    assert len(tables[0]) == len(specs) * 5 * 6
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)
    records = [load_runs(tmp_path / name, [s.run_id for s in specs]).records for name in reorders]
    assert set(records[0]) == set(records[1]) == {s.run_id for s in specs}
    for run_id in records[0]:
        a, b = (json.loads(r[run_id].to_json()) for r in records)
        for timed in ("finished", "rows_sha256", "record_sha256"):  # digests of files holding the times
            a.pop(timed), b.pop(timed)
        assert a == b
    return orders


def test_reversed_order_gives_identical_runs(in_demo_workspace, tmp_path, monkeypatch):
    specs = grid_specs(["melspec"], "emodb,emodb+ravdess", heads=("linear", "mlp"), seeds=(0, 1),
                       training=TrainConfig(max_steps=300), n_boot=10)
    orders = assert_orders_give_identical_runs(specs, tmp_path, monkeypatch, {
        "scheduled": lambda todo, ids: ids, "reversed": lambda todo, ids: ids[::-1]})
    assert len(specs) == 8 and orders[0] == orders[1][::-1] and orders[0] != orders[1]

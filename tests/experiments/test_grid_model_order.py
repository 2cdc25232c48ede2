"""Where no training sets share bank files (the demo: every bank is built in a worker's RAM), the grid runs
each model's training sets side by side, so a worker reads and banks each store once rather than again after
its cache (32 stores) let it go; the order changes no number: the two-model grid run in the new order and in
the order of its specs gives identical rows and records."""

import sergen.experiments.grid_pool as grid_pool
from sergen.experiments.grid import grid_specs
from sergen.train.loop import TrainConfig
from tests.experiments.test_grid_order import assert_orders_give_identical_runs


def two_model_specs():
    """Specs in the demo's order of building: one model after the other for each kind of training set, so
    the specs alone interleave the models (melspec, egemaps, melspec, egemaps)."""
    training = TrainConfig(max_steps=200)
    specs = []
    for train in ("emodb", "emodb+ravdess"):
        specs += grid_specs(["melspec", "egemaps"], train, heads=("linear", "mlp"), seeds=(0,), training=training,
                            n_boot=10)
    return specs


def model_runs(specs, order) -> list[str]:
    """The models in the order their runs are handed out, one entry per change of model."""
    models = [specs[i].model for i in order]
    return [m for k, m in enumerate(models) if k == 0 or models[k - 1] != m]


def test_sets_of_one_model_run_side_by_side_when_no_bank_file_is_shared(in_demo_workspace):
    specs = two_model_specs()
    assert model_runs(specs, range(len(specs))) == ["melspec", "egemaps", "melspec", "egemaps"]
    order = grid_pool.order_runs(specs, [{} for _ in specs])
    assert sorted(order) == list(range(len(specs)))
    assert model_runs(specs, order) == ["melspec", "egemaps"]
    # each training set's runs still together, the sets in the order their specs came, model by model
    sets = [(specs[i].model, specs[i].train) for i in order]
    assert list(dict.fromkeys(sets)) == [("melspec", ("emodb",)), ("melspec", ("emodb", "ravdess")),
                                         ("egemaps", ("emodb",)), ("egemaps", ("emodb", "ravdess"))]


def test_shared_bank_bytes_still_decide_before_the_model():
    """A set that shares bank files with the last one comes next, whatever its model (the real-size grid's
    order is unchanged where banks are files)."""
    from types import SimpleNamespace

    specs = [SimpleNamespace(model=m, layer="-", train=t, head="linear")
             for m, t in (("a", ("x",)), ("b", ("x",)), ("a", ("y",)))]
    touched = [{"a-x": 10}, {"a-x": 5}, {"a-y": 8}]
    assert grid_pool.order_runs(specs, touched) == [0, 1, 2]


def test_model_by_model_order_gives_the_runs_of_the_spec_order(in_demo_workspace, tmp_path, monkeypatch):
    specs = two_model_specs()
    orders = assert_orders_give_identical_runs(specs, tmp_path, monkeypatch, {
        "by_model": lambda todo, ids: ids, "as_specs": lambda todo, ids: list(range(len(todo)))})
    assert len(specs) == 8 and sorted(orders[0]) == sorted(orders[1]) and orders[0] != orders[1]

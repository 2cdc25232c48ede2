"""Work shared between runs (issue 26) leaves every run's record and numbers as they were: utterance vectors
made once per process equal those made anew, a run on shared vectors equals the same run on fresh ones, and
a grid run in this process one run after another equals the same grid on two scheduled worker processes."""

import json

import numpy as np
import pandas as pd

import sergen.experiments.probe as probe
from sergen.experiments.data import split_rows, stores_root_key, utterance_std
from sergen.experiments.grid import grid_specs, run_grid
from sergen.experiments.probe import probe_run, resolve_spec, utterance_vectors
from sergen.experiments.protocol_join import corpus_protocols
from sergen.config import data_dir
from sergen.results import load_runs
from sergen.train.loop import TrainConfig

FAST = TrainConfig(max_steps=600)


def fresh_vectors(model, corpus, split, root, layer, key, pool):
    """How probe_run made them before they were shared: from the store's data, every time."""
    data, rows = split_rows(model, corpus, split, root, layer, key)
    x = data.pooled[rows]
    if pool == "mean+std":
        x = np.concatenate([x, utterance_std(data, rows)], axis=1)
    return x, data.label[rows], data.utt_id[rows]


def comparable(run) -> tuple[dict, pd.DataFrame]:
    record = json.loads(run.record.to_json())
    record.pop("finished", None)
    return record, run.rows.drop(columns="seconds")


def test_shared_vectors_equal_fresh_ones(in_demo_workspace):
    spec = resolve_spec("melspec", "emodb+ravdess", "all")
    root = stores_root_key(data_dir("stores"))
    keys, _, _ = corpus_protocols(spec.model, spec.train, spec.test, root, spec.protocol_spec)
    probe._utterance_vectors.cache_clear()
    for corpus in spec.test:
        for split in ("valid", "test"):
            for pool in ("mean", "mean+std"):
                x, y, ids = utterance_vectors(spec.model, corpus, split, root, "-", keys[corpus], pool)
                want_x, want_y, want_ids = fresh_vectors(spec.model, corpus, split, root, "-", keys[corpus], pool)
                assert x.shape == want_x.shape and len(y) > 0
                assert np.array_equal(x, want_x) and np.array_equal(y, want_y) and list(ids) == list(want_ids)
                again = utterance_vectors(spec.model, corpus, split, root, "-", keys[corpus], pool)
                assert again[0] is x  # made once, then shared
    assert probe._utterance_vectors.cache_info().misses == 5 * 2 * 2


def test_run_on_shared_vectors_equals_run_on_fresh_ones(in_demo_workspace, monkeypatch):
    for train, head, pool in (("emodb+ravdess", "mlp", "mean"), ("cremad", "linear", "mean+std")):
        spec = resolve_spec("melspec", train, "all", head=head, pool=pool, training=FAST, n_boot=30, seed=3)
        probe._utterance_vectors.cache_clear()
        probe_run(spec)  # fills the cache
        shared = comparable(probe_run(spec))  # every vector from the cache
        assert probe._utterance_vectors.cache_info().hits >= 5 + len(spec.train)
        with monkeypatch.context() as m:
            m.setattr(probe, "utterance_vectors", fresh_vectors)
            fresh = comparable(probe_run(spec))
        assert shared[0] == fresh[0]  # history, confusion counts, diagnostics: value for value
        pd.testing.assert_frame_equal(shared[1], fresh[1], check_exact=True)


def test_grid_in_one_process_equals_grid_on_two_scheduled_workers(in_demo_workspace, tmp_path):
    specs = grid_specs(["melspec"], "emodb,ravdess,emodb+ravdess", heads=("linear", "mlp"), training=FAST, n_boot=20)
    serial = run_grid(specs, results_dir=tmp_path / "serial", workers=1, show_progress=False)
    pooled = run_grid(specs, results_dir=tmp_path / "pooled", workers=2, show_progress=False)
    key = ["run_id", "test", "metric"]
    serial, pooled = (t.drop(columns="seconds").sort_values(key).reset_index(drop=True) for t in (serial, pooled))
    assert len(serial) == 6 * 5 * 6
    pd.testing.assert_frame_equal(serial, pooled, check_exact=True)
    records = [load_runs(tmp_path / name, [s.run_id for s in specs]).records for name in ("serial", "pooled")]
    assert records[0].keys() == records[1].keys() == {s.run_id for s in specs}
    for run_id in records[0]:
        a, b = (json.loads(r[run_id].to_json()) for r in records)
        for timed in ("finished", "rows_sha256", "record_sha256"):  # digests of files holding the times
            a.pop(timed), b.pop(timed)
        assert a == b


def test_validation_on_the_auroc_alone_keeps_history_and_record(in_demo_workspace, monkeypatch):
    import sergen.train.loop as loop
    from sergen.train.metrics import macro_auroc, point_metrics

    rng = np.random.default_rng(0)
    y = rng.integers(4, size=300)
    proba = rng.dirichlet(np.ones(4), size=300)
    assert macro_auroc(y, proba) == point_metrics(y, proba)["auroc"]
    assert np.isnan(macro_auroc(np.zeros(5, int), proba[:5]))
    spec = resolve_spec("melspec", "emodb+ravdess", "all", head="mlp", training=FAST, n_boot=10, seed=1)
    now = comparable(probe_run(spec))
    monkeypatch.setattr(loop, "macro_auroc", lambda y, p: point_metrics(y, p)["auroc"])  # validation as before
    before = comparable(probe_run(spec))
    assert now[0]["history"] == before[0]["history"] and len(now[0]["history"]) >= 10
    assert now[0] == before[0]
    pd.testing.assert_frame_equal(now[1], before[1], check_exact=True)

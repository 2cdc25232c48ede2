"""The demo's extraction (issue 26): every model's stores in one pool, the costliest first. Scheduling changes
only when a store is written, never what it holds: stores extracted in the pool's order on two workers equal,
array for array, those extracted one after another in this process in the opposite order."""

import numpy as np
import zarr

from sergen.corpora import read_corpus, write_manifest
from sergen.demo import EXTRACT_COST, audio_seconds, extract_stores, extraction_jobs
from sergen.extract import extract
from sergen.store.layout import store_path


def test_jobs_go_costliest_first():
    seconds = {"emodb": 10.0, "msp": 100.0}
    jobs = extraction_jobs(["melspec", "egemaps"], ["emodb", "msp"], ["reverb"], seconds)
    assert EXTRACT_COST["egemaps"] > 1 and "melspec" not in EXTRACT_COST  # melspec is the unit
    # audio seconds × cost: egemaps msp 1500, egemaps emodb 150, melspec msp 100, melspec emodb 10
    assert jobs == [("egemaps", "msp", None), ("egemaps", "msp", "reverb"), ("egemaps", "emodb", None),
                    ("egemaps", "emodb", "reverb"), ("melspec", "msp", None), ("melspec", "msp", "reverb"),
                    ("melspec", "emodb", None), ("melspec", "emodb", "reverb")]
    cheap = extraction_jobs(["melspec", "egemaps"], ["emodb", "msp"], [], {"emodb": 1.0, "msp": 100.0})
    assert cheap == [("egemaps", "msp", None), ("melspec", "msp", None), ("egemaps", "emodb", None),
                     ("melspec", "emodb", None)]  # melspec msp (100) before egemaps emodb (15)
    assert len(extraction_jobs(["melspec"], ["emodb"], [], seconds)) == 1


def arrays(path):
    group = zarr.open_group(str(path), mode="r")
    return {name: np.asarray(array[...]) for name, array in group.arrays()}


def test_pool_in_cost_order_equals_serial_in_reverse(demo_root, workspace, monkeypatch):
    corpora = ["emodb", "ravdess"]
    for corpus in corpora:
        write_manifest(read_corpus(corpus, demo_root / corpus))
    seconds = audio_seconds(corpora)
    assert seconds["ravdess"] > seconds["emodb"] > 0
    jobs = extraction_jobs(["melspec", "egemaps"], corpora, ["pink-noise"], seconds)
    assert len(jobs) == 8 and jobs[0] == ("egemaps", "ravdess", None)
    for model, corpus, view in reversed(jobs):
        extract(model, corpus, view=view, stores_root=workspace / "serial", show_progress=False)
    monkeypatch.setenv("SERGEN_STORES", str(workspace / "pooled"))  # the spawned workers read the environment
    took = extract_stores(jobs, workers=2)
    assert list(took) == jobs and all(s > 0 for s in took.values())
    for model, corpus, view in jobs:
        name = f"{corpus}@{view}" if view else corpus
        serial, pooled = (arrays(store_path(model, name, workspace / where)) for where in ("serial", "pooled"))
        assert serial.keys() == pooled.keys() and {"frames", "offsets", "status"} <= serial.keys()
        for key in serial:
            assert np.array_equal(serial[key], pooled[key]), (model, name, key)

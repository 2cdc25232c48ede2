"""Extraction and the grid on a 2-worker Dask LocalCluster equal their serial runs."""

import numpy as np
import pandas as pd
import zarr

from sergen.corpora import read_corpus, write_manifest
from sergen.experiments.grid import grid_specs, run_grid
from sergen.extract import extract
from sergen.store.verify import verify_store
from sergen.train.loop import TrainConfig
from sergen.config import data_dir


def test_extraction_on_a_local_cluster_equals_serial(demo_root, tmp_path):
    write_manifest(read_corpus("ravdess", demo_root / "ravdess"))
    serial = extract("melspec", "ravdess", stores_root=tmp_path / "serial", window_utts=16)
    parallel = extract("melspec", "ravdess", stores_root=tmp_path / "dask", window_utts=16, scheduler="local:2")
    assert parallel.complete and parallel.written == serial.written == 264  # 192 of the four, 72 outside
    a, b = zarr.open_group(str(serial.path)), zarr.open_group(str(parallel.path))
    for name in ("frames", "offsets", "mean", "std", "status"):
        np.testing.assert_array_equal(a[name][:], b[name][:], err_msg=name)
    assert verify_store(parallel.path).ok


def test_grid_as_dask_tasks_equals_local_workers(in_demo_workspace, tmp_path):
    specs = grid_specs(["melspec"], "emodb,ravdess", heads=("linear",), training=TrainConfig(max_steps=200),
                       n_boot=20)
    local = run_grid(specs, results_dir=tmp_path / "local", workers=1)
    dask = run_grid(specs, results_dir=tmp_path / "dask", scheduler="local:2")
    cols = ["train", "test", "metric", "value", "ci_low", "ci_high", "steps"]
    pd.testing.assert_frame_equal(local[cols].sort_values(cols[:3]).reset_index(drop=True),
                                  dask[cols].sort_values(cols[:3]).reset_index(drop=True))


def test_stores_at_an_fsspec_url(demo_root, monkeypatch):
    """Extract into memory://, open lazily from there, verify, list, and train a probe on it."""
    import fsspec

    import sergen
    from sergen.experiments.probe import resolve_spec, run_probe
    from sergen.store.reader import existing_stores
    from sergen.store.verify import verify_store

    root = "memory://sergen-test/stores"
    monkeypatch.setenv("SERGEN_STORES", root)
    write_manifest(read_corpus("emodb", demo_root / "emodb"))
    report = extract("melspec", "emodb", window_utts=32)
    assert report.complete and str(report.path) == f"{root}/melspec/emodb.zarr"
    assert existing_stores(data_dir("stores")) == [("melspec", "emodb")]
    ds = sergen.open_store("melspec", "emodb")
    assert ds.sizes["utt"] == 190 and ds["frames"].chunks is not None  # dask-backed, nothing read yet
    assert verify_store(report.path).ok
    result = run_probe(resolve_spec("melspec", "emodb", "emodb", head="linear",
                                    training=TrainConfig(max_steps=100), n_boot=10))
    assert result.query("metric == 'auroc'").value.iloc[0] > 0.5
    fsspec.filesystem("memory").rm("/sergen-test", recursive=True)


def test_workers_of_a_host_take_its_gpus_in_turn():
    """Worker k of a host takes GPU k mod n: two workers of one host never share a GPU while it has enough
    (the address hash used before could put both on one and leave the other idle)."""
    from sergen.scale import host_ranks, worker_gpu

    addresses = ["tcp://10.0.0.2:4100", "tcp://10.0.0.1:39001", "tcp://10.0.0.1:4100", "tcp://10.0.0.2:37000",
                 "tcp://10.0.0.1:41000"]
    ranks = host_ranks(addresses)
    assert ranks == {"tcp://10.0.0.1:39001": 0, "tcp://10.0.0.1:4100": 1, "tcp://10.0.0.1:41000": 2,
                     "tcp://10.0.0.2:37000": 0, "tcp://10.0.0.2:4100": 1}
    on_first_host = [worker_gpu(ranks[a], 2) for a in sorted(addresses) if "10.0.0.1" in a]
    assert on_first_host == ["cuda:0", "cuda:1", "cuda:0"]  # three workers, two GPUs: only then shared
    assert {worker_gpu(ranks[a], 2) for a in addresses if "10.0.0.2" in a} == {"cuda:0", "cuda:1"}

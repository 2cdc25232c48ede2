"""What a grid worker gives back between runs (issue 26: the real-size grid's peak memory), and proof that it
changes no number: bank pages unmapped after a run are the same values when the next run maps them again,
the head's statistics summed in blocks are the same bits as one sum, and a grid on mapped banks released
between runs gives the records and rows of the same grid on banks held in RAM."""

import gc
import json
import platform

import numpy as np
import pandas as pd
import pytest

import sergen.train.framebank as framebank
from sergen.experiments import data, mapped_pages
from sergen.experiments.grid import grid_specs, run_grid
from sergen.results import load_runs
from sergen.train.framebank import pooled_stats
from sergen.train.loop import TrainConfig

FAST = TrainConfig(max_steps=600)


def mapping_rss_kib(path) -> int:
    """Resident KiB of this process's mappings of ``path`` (/proc/self/smaps)."""
    total, inside = 0, False
    with open("/proc/self/smaps") as fh:
        for line in fh:
            head = line.split()
            if head and "-" in head[0] and not head[0].endswith(":"):
                inside = line.rstrip().endswith(str(path))
            elif inside and line.startswith("Rss:"):
                total += int(head[1])
    return total


linux_only = pytest.mark.skipif(platform.system() != "Linux", reason="reads /proc/self/smaps")


@linux_only
def test_release_unmaps_a_bank_and_keeps_its_values(tmp_path):
    path = tmp_path / "bank.prefix.npy"
    values = np.arange(4096 * 256, dtype=np.float32).reshape(-1, 256)  # 4 MiB: 1,024 pages
    np.save(path, values)
    bank = np.load(path, mmap_mode="r")
    mapped_pages.register("bank", bank)
    assert float(bank.sum(dtype=np.float64)) == float(values.sum(dtype=np.float64))  # every page touched
    assert mapping_rss_kib(path) >= 4096
    mapped_pages.release()
    assert mapping_rss_kib(path) == 0  # unmapped from this process ...
    assert "bank" in mapped_pages.mapped_names()  # ... still open: the next run maps the pages again
    assert np.array_equal(bank, values)
    assert mapping_rss_kib(path) >= 4096


def test_only_mapped_tables_are_registered_and_a_dropped_bank_is_forgotten(tmp_path):
    mapped_pages.register("in-ram", np.zeros((4, 4), np.float32))
    assert "in-ram" not in mapped_pages.mapped_names()
    np.save(tmp_path / "b.npy", np.ones((8, 4), np.float32))
    bank = np.load(tmp_path / "b.npy", mmap_mode="r")
    mapped_pages.register("dropped", bank)
    assert "dropped" in mapped_pages.mapped_names()
    del bank
    gc.collect()
    assert "dropped" not in mapped_pages.mapped_names()  # a weak reference: the registry keeps nothing open


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_heap_trim_runs_on_glibc():
    assert mapped_pages.trim_heap() is True


def one_sum_stats(means, stds, lengths):
    """``pooled_stats`` as it was before issue 26: N × D float64 arrays summed at once."""
    n = np.asarray(lengths, np.float64)[:, None]
    m, s = np.asarray(means, np.float64), np.asarray(stds, np.float64)
    mean = (n * m).sum(0) / max(n.sum(), 1.0)
    var = (n * (s**2 + m**2)).sum(0) / max(n.sum(), 1.0) - mean**2
    return mean.astype(np.float32), np.sqrt(np.maximum(var, 1e-12)).astype(np.float32)


@pytest.mark.parametrize("rows", [1, 2, 7, 4095, 4096, 4097, 9000])
def test_statistics_summed_in_blocks_are_the_bits_of_one_sum(rows):
    rng = np.random.default_rng(rows)
    means = (rng.standard_normal((rows, 64)) * 3 + 5).astype(np.float32)
    stds = np.abs(rng.standard_normal((rows, 64))).astype(np.float32)
    lengths = rng.integers(1, 400, rows)
    got, want = pooled_stats(means, stds, lengths), one_sum_stats(means, stds, lengths)
    assert got[0].dtype == np.float32 and got[0].shape == (64,)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_statistics_in_many_small_blocks_are_the_same_bits(monkeypatch):
    rng = np.random.default_rng(5)
    means, stds = rng.standard_normal((50, 16)).astype(np.float32), rng.random((50, 16)).astype(np.float32)
    lengths = rng.integers(1, 90, 50)
    monkeypatch.setattr(framebank, "STATS_ROWS", 3)  # 17 blocks
    got, want = pooled_stats(means, stds, lengths), one_sum_stats(means, stds, lengths)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


@pytest.fixture
def fresh_bank_caches():
    """Banks are cached per process: cleared before and after, so no test sees another's banks."""
    data._store_bank.cache_clear(), data._training_bank.cache_clear()
    yield
    data._store_bank.cache_clear(), data._training_bank.cache_clear()


def comparable_runs(results, specs) -> dict:
    records = load_runs(results, [s.run_id for s in specs]).records
    out = {}
    for run_id, record in records.items():
        record = json.loads(record.to_json())
        for timed in ("finished", "rows_sha256", "record_sha256"):  # digests of files holding the times
            record.pop(timed)
        out[run_id] = record
    return out


def test_grid_on_mapped_banks_released_between_runs_equals_grid_on_banks_in_ram(in_demo_workspace, tmp_path,
                                                                                  monkeypatch, fresh_bank_caches):
    specs = grid_specs(["melspec"], "emodb,emodb+ravdess", heads=("linear", "mlp"), training=FAST, n_boot=20)
    in_ram = run_grid(specs, results_dir=tmp_path / "ram", workers=1, show_progress=False)
    assert mapped_pages.mapped_names() == []  # demo banks are small: built in RAM
    monkeypatch.setenv("SERGEN_BANK_CACHE_MIB", "0")  # every bank a file, mapped, released after each run
    monkeypatch.setenv("SERGEN_CACHE", str(tmp_path / "banks"))
    data._store_bank.cache_clear(), data._training_bank.cache_clear()
    serial = run_grid(specs, results_dir=tmp_path / "serial", workers=1, show_progress=False)
    assert len(mapped_pages.mapped_names()) == 2  # emodb's and ravdess's bank files, mapped here
    pooled = run_grid(specs, results_dir=tmp_path / "pooled", workers=2, show_progress=False)
    key = ["run_id", "test", "metric"]
    frames = [t.drop(columns="seconds").sort_values(key).reset_index(drop=True) for t in (in_ram, serial, pooled)]
    assert len(frames[0]) == 4 * 5 * 6  # 4 runs × 5 test corpora × 6 metrics
    pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=True)
    pd.testing.assert_frame_equal(frames[0], frames[2], check_exact=True)
    records = [comparable_runs(tmp_path / name, specs) for name in ("ram", "serial", "pooled")]
    assert records[0].keys() == {s.run_id for s in specs}
    assert records[0] == records[1] == records[2]


def test_statistics_added_store_by_store_are_the_bits_of_the_concatenation():
    from sergen.train.framebank import StatsSum

    rng = np.random.default_rng(9)
    parts = [(rng.standard_normal((n, 32)).astype(np.float32), rng.random((n, 32)).astype(np.float32),
              rng.integers(1, 200, n)) for n in (5000, 1, 4096, 300)]
    summed = StatsSum()
    for part in parts:
        summed.add(*part)
    got = summed.result()
    want = one_sum_stats(*(np.concatenate(column) for column in zip(*parts)))
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])

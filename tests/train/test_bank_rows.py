"""Bank rows read from the file, not through the mapping (issue 26's memory target): the same bits as the
mapped gather in every path that reads a bank (window sums, sums of squares, frame units, a whole grid's
records and rows), with none of the file's pages mapped into the process."""

import platform

import numpy as np
import pandas as pd
import pytest

import sergen.train.bank_rows as bank_rows
from sergen.experiments import data, mapped_pages
from sergen.experiments.grid import grid_specs, run_grid
from sergen.train.bank_rows import gather, read_rows, reads_by_rows
from sergen.train.frame_stream import store_units
from sergen.train.framebank import build_store_bank
from sergen.train.loop import TrainConfig

from tests.experiments.test_memory_release import mapping_rss_kib

linux_only = pytest.mark.skipif(platform.system() != "Linux", reason="reads /proc/self/smaps")


def file_bank(tmp_path, squares=False, n_utts=40, dim=32, seed=0):
    """A store bank built in RAM and the same bank saved and mapped from ``.npy`` files."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 60, n_utts)
    frames = [rng.standard_normal((n, dim)).astype(np.float16) for n in lengths]
    in_ram = build_store_bank(frames, lengths, dim, squares=squares)
    np.save(tmp_path / "prefix.npy", in_ram.prefix)
    mapped = build_store_bank(frames, lengths, dim, squares=squares)
    mapped.prefix = np.load(tmp_path / "prefix.npy", mmap_mode="r")
    if squares:
        np.save(tmp_path / "squares.npy", in_ram.squares)
        mapped.squares = np.load(tmp_path / "squares.npy", mmap_mode="r")
    return in_ram, mapped


def queries(bank, n, seed=1):
    rng = np.random.default_rng(seed)
    units = (bank.length + 1) // 2
    utt = rng.integers(0, len(units), n)
    k1 = (rng.random(n) * (units[utt] + 1)).astype(np.int64)
    k0 = (rng.random(n) * (k1 + 1)).astype(np.int64)
    sign = np.where(rng.random(n) < 0.3, -1.0, 1.0).astype(np.float32) / rng.integers(1, 9, n)
    return utt, k0, k1, sign, rng.integers(0, n // 3, n), n // 3


def test_read_rows_equals_indexing_for_runs_single_rows_and_the_last_row(tmp_path):
    table = np.arange(50 * 7, dtype=np.float32).reshape(50, 7)
    np.save(tmp_path / "t.npy", table)
    mapped = np.load(tmp_path / "t.npy", mmap_mode="r")
    for rows in ([0], [49], [0, 1, 2, 3], [3, 4, 9, 10, 11, 30, 49], list(range(50))):
        got = read_rows(mapped, np.array(rows))
        assert got.dtype == np.float32 and np.array_equal(got, table[rows])


def test_read_rows_of_a_slice_of_a_mapped_table_read_that_slice(tmp_path):
    table = np.arange(3000 * 5, dtype=np.float32).reshape(3000, 5)  # past one allocation granule (4 KiB)
    np.save(tmp_path / "t.npy", table)
    mapped = np.load(tmp_path / "t.npy", mmap_mode="r")
    for lo in (1, 999, 2500):
        part = mapped[lo:]
        assert np.array_equal(read_rows(part, np.array([0, 1, 5, 6, 7, 400])), table[lo:][[0, 1, 5, 6, 7, 400]])


def test_read_rows_refuses_rows_past_the_table(tmp_path):
    np.save(tmp_path / "t.npy", np.zeros((5, 3), np.float32))
    with pytest.raises(IndexError, match="outside a table of 5 rows"):
        read_rows(np.load(tmp_path / "t.npy", mmap_mode="r"), np.array([2, 5]))


def test_gather_reads_each_distinct_row_once_in_order(tmp_path):
    table = np.random.default_rng(0).standard_normal((30, 4)).astype(np.float32)
    np.save(tmp_path / "t.npy", table)
    mapped = np.load(tmp_path / "t.npy", mmap_mode="r")
    rows = np.array([7, 0, 7, 29, 3, 0, 0, 12])
    compact, local = gather(mapped, rows)
    assert compact.shape == (5, 4) and not isinstance(compact, np.memmap)
    assert np.array_equal(compact, table[[0, 3, 7, 12, 29]])
    assert np.array_equal(compact[local], table[rows])
    same, same_rows = gather(table, rows)  # an in-RAM table: indexed as it is
    assert same is table and np.array_equal(same_rows, rows)


def test_only_mapped_c_ordered_tables_are_read_by_rows(tmp_path, monkeypatch):
    np.save(tmp_path / "t.npy", np.zeros((4, 3), np.float32))
    mapped = np.load(tmp_path / "t.npy", mmap_mode="r")
    assert reads_by_rows(mapped) and not reads_by_rows(np.zeros((4, 3), np.float32))
    monkeypatch.setattr(bank_rows, "READ_BY_ROWS", False)
    assert not reads_by_rows(mapped)


@pytest.mark.parametrize("squares", [False, True])
def test_window_sums_read_by_rows_are_the_bits_of_the_mapped_gather(tmp_path, monkeypatch, squares):
    in_ram, mapped = file_bank(tmp_path, squares)
    q = queries(in_ram, 3000)
    call = (lambda bank: bank.unit_moments(*q)) if squares else (lambda bank: (bank.unit_sum(*q),))
    by_rows = call(mapped)
    from_ram = call(in_ram)
    monkeypatch.setattr(bank_rows, "READ_BY_ROWS", False)
    through_mapping = call(mapped)
    assert len(by_rows) == (2 if squares else 1)
    for a, b, c in zip(by_rows, through_mapping, from_ram):
        assert a.shape == (1000, 32)
        assert np.array_equal(a, b) and np.array_equal(a, c)


def test_frame_units_read_by_rows_are_the_bits_of_the_mapped_gather(tmp_path, monkeypatch):
    in_ram, mapped = file_bank(tmp_path)
    utt, _, k, *_ = queries(in_ram, 500)
    k = np.minimum(k, (in_ram.length[utt] + 1) // 2 - 1)
    by_rows = store_units(mapped, utt, k)
    monkeypatch.setattr(bank_rows, "READ_BY_ROWS", False)
    assert np.array_equal(by_rows, store_units(mapped, utt, k))
    assert np.array_equal(by_rows, store_units(in_ram, utt, k))


@linux_only
def test_reading_by_rows_maps_no_page_of_the_bank(tmp_path, monkeypatch):
    _, mapped = file_bank(tmp_path, n_utts=400, dim=256)  # ~10 MiB of rows
    path = tmp_path / "prefix.npy"
    for seed in range(5):
        mapped.unit_sum(*queries(mapped, 3000, seed))
    assert mapping_rss_kib(path) == 0
    monkeypatch.setattr(bank_rows, "READ_BY_ROWS", False)  # the mapped gather, as before: pages mapped
    mapped.unit_sum(*queries(mapped, 3000, 9))
    assert mapping_rss_kib(path) > 0


from tests.experiments.test_memory_release import comparable_runs, fresh_bank_caches  # noqa: E402,F401


def test_grid_reading_bank_rows_equals_grid_through_the_mapping(in_demo_workspace, tmp_path, monkeypatch,
                                                                 fresh_bank_caches):
    specs = grid_specs(["melspec"], "emodb,emodb+ravdess", heads=("linear", "mlp"), training=TrainConfig(max_steps=600),
                       n_boot=20)
    monkeypatch.setenv("SERGEN_BANK_CACHE_MIB", "0")  # every bank a mapped file
    monkeypatch.setenv("SERGEN_CACHE", str(tmp_path / "banks"))
    by_rows = run_grid(specs, results_dir=tmp_path / "rows", workers=1, show_progress=False)
    assert len(mapped_pages.mapped_names()) == 2  # emodb's and ravdess's bank files
    monkeypatch.setattr(bank_rows, "READ_BY_ROWS", False)
    data._store_bank.cache_clear(), data._training_bank.cache_clear()
    mapped = run_grid(specs, results_dir=tmp_path / "mapped", workers=1, show_progress=False)
    key = ["run_id", "test", "metric"]
    frames = [t.drop(columns="seconds").sort_values(key).reset_index(drop=True) for t in (by_rows, mapped)]
    assert len(frames[0]) == 4 * 5 * 6  # 4 runs × 5 test corpora × 6 metrics
    pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=True)
    records = [comparable_runs(tmp_path / name, specs) for name in ("rows", "mapped")]
    assert records[0].keys() == {s.run_id for s in specs}
    assert records[0] == records[1]


def test_the_plan_line_says_bank_pages_are_cached_not_mapped():
    from sergen.experiments.memory_plan import plan_grid

    whole = plan_grid([{"msp": 3 * 2**30}], requested_workers=2, n_runs=2, budget_mib=12_000)
    assert whole.describe() == ("memory plan: 2 worker(s) within 12,000 MiB (banks sampled whole, their rows read from "
                                "bank files the page cache should hold: ~3,072 MiB of them at once)")
    in_ram = plan_grid([{}], requested_workers=2, n_runs=2, budget_mib=12_000)
    assert in_ram.describe() == ("memory plan: 2 worker(s) within 12,000 MiB (banks sampled whole, held in the "
                                 "workers' memory)")
    tiny = plan_grid([{"msp": 3 * 2**30}], requested_workers=2, n_runs=2, budget_mib=64)
    assert tiny.describe() == ("memory plan: 1 worker(s), estimated at ~1,714 MiB at the least, over the budget of 64 "
                               "MiB (resident subsets of 64 MiB per worker; 2 asked for; raise SERGEN_RAM_MIB)")

"""A write's whole chunks handed to the pool as one contiguous run per pool thread (issue 22): a task per
chunk woke a thread for every chunk. The chunk files are byte for byte those Zarr writes alone."""

import numpy as np
import pytest

from sergen.store.frame_chunks import FrameChunks, chunk_runs

from tests.store.test_frame_chunks import DIM, _chunk_files, _write


def test_chunk_runs_cover_the_chunks_in_order_in_at_most_count_runs_of_about_equal_length():
    assert chunk_runs(3, 13, 4) == [(3, 5), (5, 8), (8, 10), (10, 13)]
    assert chunk_runs(0, 2, 4) == [(0, 1), (1, 2)]  # never an empty run
    assert chunk_runs(5, 6, 1) == [(5, 6)]
    assert chunk_runs(0, 9, 0) == [(0, 9)]


class Counting:
    """An executor that counts the tasks submitted to the one it wraps."""

    def __init__(self, pool):
        self.pool, self.tasks = pool, 0

    def submit(self, fn, *args):
        self.tasks += 1
        return self.pool.submit(fn, *args)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_a_write_of_many_chunks_is_one_task_per_thread_and_the_same_bytes_as_zarrs(tmp_path, threads):
    n_rows = 23 * 512 + 300  # 24 chunks, the last partial
    rows = (np.random.default_rng(3).standard_normal((n_rows - 100, DIM)) * 4).astype(np.float16)
    paths = {}
    for name, count in (("zarr", 0), ("runs", threads)):
        writer = _write(tmp_path / f"{name}.zarr", [n_rows], [], chunk_threads=0)
        chunks = FrameChunks(writer.group["frames"], threads=count)
        if count:
            chunks._pool = counting = Counting(chunks._pool)
        chunks.write(100, rows)  # chunk 0 in part, 1 … 22 whole, 23 (the array's last) in part
        np.testing.assert_array_equal(writer.group["frames"][100:], rows)
        paths[name] = tmp_path / f"{name}.zarr"
    assert counting.tasks == threads  # 22 whole chunks: one run per thread
    want, got = _chunk_files(paths["zarr"]), _chunk_files(paths["runs"])
    assert sum(k.startswith("frames/") for k in want) == 24 and sorted(got) == sorted(want)
    for key in want:
        assert got[key] == want[key], key

"""One core (issue 22): the frames' whole chunks encoded and stored in the writing thread, not through Zarr's
event loop, and the store equals one written through Zarr alone (``chunk_threads=0``), value for value and
byte for byte in every chunk file."""

import numpy as np
import pytest

from sergen.store.digests import DIGEST_ARRAY, LEDGER, STATS_ARRAY
from sergen.store.frame_chunks import FrameChunks, InThisThread

from tests.store.test_frame_chunks import N_FRAMES, WINDOWS, _chunk_files, _write


@pytest.mark.parametrize("threads", [1, 2])
def test_chunks_written_in_this_thread_or_a_pool_equal_zarrs_own_writes(tmp_path, threads):
    by_zarr = _write(tmp_path / "zarr.zarr", N_FRAMES, WINDOWS, chunk_threads=0)
    ours = _write(tmp_path / "ours.zarr", N_FRAMES, WINDOWS, chunk_threads=threads)
    for name in ("frames", "offsets", "mean", "std", "status", DIGEST_ARRAY, STATS_ARRAY):
        np.testing.assert_array_equal(ours.group[name][:], by_zarr.group[name][:], err_msg=name)
    want, got = _chunk_files(tmp_path / "zarr.zarr"), _chunk_files(tmp_path / "ours.zarr")
    assert sorted(got) == sorted(want) and sum(k.startswith("frames/") for k in got) == 10
    for key in want:
        assert got[key] == want[key], key
    for name in ("frames", "mean", "std"):
        assert ours.group[LEDGER][name][:].tolist() == by_zarr.group[LEDGER][name][:].tolist(), name


def test_one_thread_stores_whole_chunks_itself_and_zero_leaves_them_to_zarr(tmp_path, monkeypatch):
    writer = _write(tmp_path / "s.zarr", [2000], [], chunk_threads=0)
    stored: list[int] = []
    monkeypatch.setattr(FrameChunks, "_store", lambda self, chunk, block: stored.append(chunk))
    rows = np.ones((1100, writer.group["frames"].shape[1]), np.float16)
    FrameChunks(writer.group["frames"], threads=1).write(0, rows)  # chunks 0 and 1 whole, chunk 2 in part
    assert stored == [0, 1]
    FrameChunks(writer.group["frames"], threads=0).write(0, rows)
    assert stored == [0, 1]  # nothing more: every row through Zarr


def test_in_this_thread_hands_back_results_and_errors_as_a_pool_does():
    assert InThisThread().submit(divmod, 7, 2).result() == (3, 1)
    failed = InThisThread().submit(divmod, 7, 0)
    assert isinstance(failed.exception(), ZeroDivisionError)

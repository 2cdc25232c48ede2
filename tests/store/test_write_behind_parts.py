"""A window prepared in parts on several threads (issue 22): the parts cover it in order, and the store
written through ``WriteBehind`` with parts and pooled chunks equals one written serially, value for value
and byte for byte in every chunk file."""

import numpy as np

from sergen.store.digests import DIGEST_ARRAY, LEDGER, STATS_ARRAY
from sergen.store.write_behind import WriteBehind, _parts
from sergen.store.writer import StoreWriter, create_store

from tests.store.test_frame_chunks import DIM, N_FRAMES, WINDOWS, _chunk_files, _plan, _write


def test_parts_cover_the_window_in_order_with_about_equal_frames():
    frames = [np.zeros((n, 1)) for n in (10, 10, 10, 10, 10, 10)]
    assert _parts(frames, 3) == [(0, 2), (2, 4), (4, 6)]
    assert _parts(frames, 1) == [(0, 6)]
    assert _parts(frames[:1], 4) == [(0, 1)]
    assert _parts([np.zeros((n, 1)) for n in (100, 1, 1, 1)], 2) == [(0, 1), (1, 4)]  # never an empty part
    assert _parts([np.zeros((n, 1)) for n in (1, 1)], 8) == [(0, 1), (1, 2)]


def test_a_store_written_behind_in_parts_equals_a_serial_one(tmp_path):
    serial = _write(tmp_path / "serial.zarr", N_FRAMES, WINDOWS, chunk_threads=1)
    rng = np.random.default_rng(7)
    frames = [rng.standard_normal((n, DIM)).astype(np.float32) for n in N_FRAMES]
    writer = StoreWriter(create_store(tmp_path / "behind.zarr", _plan(N_FRAMES), {}, DIM), chunk_threads=3)
    with WriteBehind(writer, prepare_threads=3) as behind:
        for first, last in WINDOWS:
            behind.put(first, frames[first:last], [1] * (last - first), {})
    writer.mark_complete()
    for name in ("frames", "mean", "std", "status", DIGEST_ARRAY, STATS_ARRAY):
        np.testing.assert_array_equal(writer.group[name][:], serial.group[name][:], err_msg=name)
    assert _chunk_files(tmp_path / "behind.zarr") == _chunk_files(tmp_path / "serial.zarr")
    for name in ("frames", "mean", "std"):
        assert writer.group[LEDGER][name][:].tolist() == serial.group[LEDGER][name][:].tolist()

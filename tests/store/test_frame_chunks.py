"""Frames compressed on a pool of threads (issue 22): the store equals one written serially through Zarr,
value for value and byte for byte in every chunk file (the integrity ledger records chunk sizes, the frame
digests the stored values), whatever the windows' alignment to chunks."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sergen.store.digests import DIGEST_ARRAY, LEDGER, STATS_ARRAY
from sergen.store.frame_chunks import FrameChunks
from sergen.store.writer import StoreWriter, create_store
from tests.chunk_files import chunk_file

DIM = 1024  # 512 frames per chunk (sergen.store.layout.frame_chunk_rows)


def _plan(n_frames: list[int]) -> pd.DataFrame:
    n = len(n_frames)
    return pd.DataFrame({"utt_id": [f"u{i}" for i in range(n)], "label": "hap", "split": "train",
                         "duration_s": 1.0, "n_frames": n_frames})


def _write(path: Path, n_frames: list[int], windows: list[tuple[int, int]], chunk_threads: int) -> StoreWriter:
    rng = np.random.default_rng(7)
    frames = [rng.standard_normal((n, DIM)).astype(np.float32) for n in n_frames]
    writer = StoreWriter(create_store(path, _plan(n_frames), {}, DIM), chunk_threads=chunk_threads)
    for first, last in windows:
        writer.write_window(first, frames[first:last], [1] * (last - first))
    writer.mark_complete()
    return writer


CHUNK_FILE = re.compile(r"(^|/)c([./]\d+)+$")  # c.1.0, or c/1/0 in a store of the older layout


def _chunk_files(path: Path) -> dict[str, bytes]:
    """The store's chunk files by path; a `.partial` file is Zarr's atomic-write temporary a kill -9 can leave."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file() and CHUNK_FILE.search(str(p.relative_to(path))) and not p.name.startswith(".")
            and not p.name.endswith(".partial")}


# windows that start and end inside chunks, cover several chunks whole, and one that lies inside one chunk
N_FRAMES = [700, 1, 300, 1500, 213, 40, 2049, 90]
WINDOWS = [(0, 2), (2, 4), (4, 5), (5, 6), (6, 8)]


@pytest.mark.parametrize("threads", [2, 4])
def test_parallel_chunks_equal_a_serial_store_value_for_value_and_byte_for_byte(tmp_path, threads):
    serial = _write(tmp_path / "serial.zarr", N_FRAMES, WINDOWS, chunk_threads=1)
    parallel = _write(tmp_path / "parallel.zarr", N_FRAMES, WINDOWS, chunk_threads=threads)
    assert serial.group["frames"].chunks == (512, DIM) and sum(N_FRAMES) == 4893  # 10 chunks, the last partial
    for name in ("frames", "offsets", "mean", "std", "status", DIGEST_ARRAY, STATS_ARRAY):
        np.testing.assert_array_equal(parallel.group[name][:], serial.group[name][:], err_msg=name)
    want, got = _chunk_files(tmp_path / "serial.zarr"), _chunk_files(tmp_path / "parallel.zarr")
    assert sorted(got) == sorted(want) and sum(k.startswith("frames/") for k in got) == 10  # 10 chunks, the last partial
    for key in want:
        assert got[key] == want[key], key
    assert LEDGER in parallel.attrs["digests"]
    for name in ("frames", "mean", "std"):  # the integrity ledger of chunk-file sizes
        assert parallel.group[LEDGER][name][:].tolist() == serial.group[LEDGER][name][:].tolist(), name


def test_one_window_covering_the_whole_store_and_a_resumed_store_equal_the_serial_one(tmp_path):
    serial = _write(tmp_path / "serial.zarr", N_FRAMES, [(0, len(N_FRAMES))], chunk_threads=1)
    # a resumed run: windows written by two writers in turn, as after a kill and a rerun
    path = tmp_path / "resumed.zarr"
    rng = np.random.default_rng(7)
    frames = [rng.standard_normal((n, DIM)).astype(np.float32) for n in N_FRAMES]
    first = StoreWriter(create_store(path, _plan(N_FRAMES), {}, DIM), chunk_threads=3)
    first.write_window(0, frames[:3], [1] * 3)
    import zarr

    again = StoreWriter(zarr.open_group(str(path), mode="r+"), chunk_threads=3)
    again.write_window(3, frames[3:], [1] * (len(N_FRAMES) - 3))
    again.mark_complete()
    np.testing.assert_array_equal(again.group["frames"][:], serial.group["frames"][:])
    assert _chunk_files(path) == _chunk_files(tmp_path / "serial.zarr")


def test_encode_gives_the_bytes_zarr_stores_for_a_whole_chunk(tmp_path):
    writer = _write(tmp_path / "s.zarr", [512, 512], [(0, 2)], chunk_threads=1)
    chunks = FrameChunks(writer.group["frames"], threads=2)
    block = writer.group["frames"][512:1024]
    stored = chunk_file(tmp_path / "s.zarr", "frames", 1).read_bytes()
    assert bytes(chunks.encode(block).as_numpy_array()) == stored


def test_only_arrays_chunked_by_whole_rows_are_taken(tmp_path):
    import zarr

    array = zarr.create_array(str(tmp_path / "a.zarr"), shape=(8, 8), chunks=(4, 4), dtype="float16")
    with pytest.raises(ValueError, match="chunked by rows only"):
        FrameChunks(array, threads=2)


def test_whole_chunks_go_to_the_pool_and_partial_ones_through_zarr(tmp_path, monkeypatch):
    writer = _write(tmp_path / "s.zarr", [2000], [], chunk_threads=1)
    chunks = FrameChunks(writer.group["frames"], threads=2)
    pooled: list[int] = []
    store = chunks._store
    monkeypatch.setattr(chunks, "_store", lambda c, block: (pooled.append(c), store(c, block)))
    rows = np.arange(1700 * DIM, dtype=np.float32).reshape(1700, DIM) % 1000
    chunks.write(100, rows.astype(np.float16))  # rows 100 … 1799: chunks 1 and 2 whole, 0 and 3 in part
    assert sorted(pooled) == [1, 2]
    np.testing.assert_array_equal(writer.group["frames"][100:1800], rows.astype(np.float16))
    assert not writer.group["frames"][:100].any() and not writer.group["frames"][1800:].any()


@pytest.mark.parametrize("n", [1, 2, 7, 300, 1501])
def test_mean_std_equal_numpys_mean_and_std_value_for_value(n):
    from sergen.store.writer import mean_std

    frames = (np.random.default_rng(n).standard_normal((n, DIM)) * 3 + 1).astype(np.float32)
    mean, std = mean_std(frames)
    np.testing.assert_array_equal(mean, frames.mean(0))
    np.testing.assert_array_equal(std, frames.std(0))
    assert mean.shape == std.shape == (DIM,)


def test_a_store_that_is_not_on_a_local_disk_takes_its_chunks_through_zarr_with_the_same_bytes():
    import zarr
    from zarr.storage import MemoryStore

    from sergen.store.layout import frame_codec
    from sergen.store.digests import checked_codecs

    rows = (np.arange(1300 * DIM, dtype=np.float32).reshape(1300, DIM) % 977).astype(np.float16)
    stores = []
    for threads in (1, 3):
        store = MemoryStore()
        array = zarr.create_array(store, shape=(1400, DIM), chunks=(512, DIM), dtype="float16", fill_value=0,
                                  compressors=checked_codecs(frame_codec())).with_config({"write_empty_chunks": True})
        FrameChunks(array, threads=threads).write(50, rows)  # chunk 1 whole, 0 and 2 in part
        np.testing.assert_array_equal(array[50:1350], rows)
        stores.append(store)
    assert sorted(stores[0]._store_dict) == sorted(stores[1]._store_dict)
    for key, value in stores[0]._store_dict.items():
        assert bytes(value.as_numpy_array()) == bytes(stores[1]._store_dict[key].as_numpy_array()), key

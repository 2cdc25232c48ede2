"""A window's last rows held in memory and completed by the next window (``FrameChunks``' ``carry_tail``,
issue 22): the store equals one written serially through Zarr, byte for byte in every chunk file, whatever
the windows, holes and flushes; the frames array takes far fewer partial-chunk writes through Zarr; no
utterance is marked written while its frames are only in memory."""

import numpy as np
import pytest
import zarr

from sergen.corpora import read_corpus, write_manifest
from sergen.extract import extract
from sergen.store.frame_chunks import FrameChunks
from sergen.store.writer import StoreWriter, create_store
from tests.store.test_frame_chunks import DIM, _chunk_files, _plan, _write
from tests.store.test_parallel_extract import assert_same_store


def _frames(n_frames: list[int]) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [rng.standard_normal((n, DIM)).astype(np.float32) for n in n_frames]


def _zarr_frame_writes(monkeypatch) -> list[tuple[int, int]]:
    """(start, stop) of every write to a frames array that goes through Zarr (not the chunk pool)."""
    writes: list[tuple[int, int]] = []
    setitem = zarr.Array.__setitem__

    def counted(self, key, value):
        if self.basename == "frames" and isinstance(key, slice):
            writes.append((key.start, key.stop))
        return setitem(self, key, value)
    monkeypatch.setattr(zarr.Array, "__setitem__", counted)
    return writes


# 512 frames per chunk: windows ending inside chunks, inside one chunk, on a chunk's end, at the array's end
N_FRAMES = [700, 1, 300, 1500, 213, 40, 2049, 90, 3, 509, 512, 77]
WINDOWS = [(0, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 8), (8, 9), (9, 10), (10, 11), (11, 12)]


@pytest.mark.parametrize("flush_every", [1, 3, 100])
def test_held_tails_give_the_serial_store_byte_for_byte(tmp_path, flush_every):
    serial = _write(tmp_path / "serial.zarr", N_FRAMES, WINDOWS, chunk_threads=1)
    frames = _frames(N_FRAMES)
    writer = StoreWriter(create_store(tmp_path / "held.zarr", _plan(N_FRAMES), {}, DIM), chunk_threads=3)
    for i, (a, b) in enumerate(WINDOWS):
        writer.write_frames(a, writer.prepare(a, frames[a:b]), [1] * (b - a))
        if (i + 1) % flush_every == 0:
            writer.flush()
    writer.mark_complete()
    for name in ("frames", "mean", "std", "status"):
        np.testing.assert_array_equal(writer.group[name][:], serial.group[name][:], err_msg=name)
    assert _chunk_files(tmp_path / "held.zarr") == _chunk_files(tmp_path / "serial.zarr")


def test_a_store_resumed_with_holes_equals_the_serial_one(tmp_path):
    serial = _write(tmp_path / "serial.zarr", N_FRAMES, WINDOWS, chunk_threads=1)
    frames = _frames(N_FRAMES)
    path = tmp_path / "holes.zarr"
    first = StoreWriter(create_store(path, _plan(N_FRAMES), {}, DIM), chunk_threads=2)
    for a, b in [(0, 2), (3, 4), (6, 8), (11, 12)]:  # not consecutive: each held tail written before the next
        first.write_frames(a, first.prepare(a, frames[a:b]), [1] * (b - a))
    first.flush()
    again = StoreWriter(zarr.open_group(str(path), mode="r+"), chunk_threads=2)
    for a, b in [(2, 3), (4, 6), (8, 11)]:
        again.write_frames(a, again.prepare(a, frames[a:b]), [1] * (b - a))
    again.mark_complete()
    np.testing.assert_array_equal(again.group["frames"][:], serial.group["frames"][:])
    assert _chunk_files(path) == _chunk_files(tmp_path / "serial.zarr")


def test_consecutive_windows_take_one_partial_chunk_write_per_flush(tmp_path, monkeypatch):
    frames = _frames(N_FRAMES)
    writer = StoreWriter(create_store(tmp_path / "s.zarr", _plan(N_FRAMES), {}, DIM), chunk_threads=2)
    writes = _zarr_frame_writes(monkeypatch)
    for a, b in WINDOWS[:-1]:
        writer.write_frames(a, writer.prepare(a, frames[a:b]), [1] * (b - a))
    assert writes == []  # every chunk so far whole on the pool; the last rows held
    writer.flush()
    held_from, held_to = 11 * 512, sum(N_FRAMES[:11])
    assert writes == [(held_from, held_to)] == [(5632, 5917)]  # the held tail, once, at the flush
    writer.flush()
    assert len(writes) == 1  # a tail already on disk is not written again
    a, b = WINDOWS[-1]
    writer.write_frames(a, writer.prepare(a, frames[a:b]), [1] * (b - a))
    assert writes[1:] == [(5632, sum(N_FRAMES))]  # the array's last, partial chunk: through Zarr, never held


def test_no_utterance_is_marked_while_its_rows_are_only_held(tmp_path):
    frames = _frames(N_FRAMES)
    writer = StoreWriter(create_store(tmp_path / "s.zarr", _plan(N_FRAMES), {}, DIM), chunk_threads=2)
    writer.write_frames(0, writer.prepare(0, frames[:2]), [1, 1])  # 701 rows: chunk 0 whole, 189 rows held
    on_disk = zarr.open_group(str(tmp_path / "s.zarr"), mode="r")
    assert not on_disk["frames"][512:701].any() and not on_disk["status"][:].any()
    writer.flush()
    np.testing.assert_array_equal(on_disk["frames"][512:701], np.concatenate(frames[:2])[512:].astype(np.float16))
    assert on_disk["status"][:2].tolist() == [1, 1]


def test_a_failed_write_gives_its_held_head_back_to_settle(tmp_path, monkeypatch):
    frames = _frames(N_FRAMES)
    writer = StoreWriter(create_store(tmp_path / "s.zarr", _plan(N_FRAMES), {}, DIM), chunk_threads=2)
    writer.write_frames(0, writer.prepare(0, frames[:2]), [1, 1])  # rows 512:701 held
    monkeypatch.setattr(FrameChunks, "_store", lambda self, chunk, block: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        writer.write_frames(2, writer.prepare(2, frames[2:4]), [1, 1])
    monkeypatch.undo()
    writer.flush()  # the first window marked: its held rows are written first
    on_disk = zarr.open_group(str(tmp_path / "s.zarr"), mode="r")
    np.testing.assert_array_equal(on_disk["frames"][:701], np.concatenate(frames[:2]).astype(np.float16))
    assert on_disk["status"][:4].tolist() == [1, 1, 0, 0]


def test_without_carry_tail_every_write_is_on_disk_when_it_returns(tmp_path):
    writer = _write(tmp_path / "s.zarr", [2000], [], chunk_threads=1)
    rows = (np.arange(700 * DIM, dtype=np.float32).reshape(700, DIM) % 1000).astype(np.float16)
    FrameChunks(writer.group["frames"], threads=2).write(0, rows)
    np.testing.assert_array_equal(writer.group["frames"][:700], rows)


def test_melspec_store_with_held_tails_equals_one_written_without(demo_root, tmp_path, monkeypatch):
    write_manifest(read_corpus("emodb", demo_root / "emodb"))
    new = extract("melspec", "emodb", stores_root=tmp_path / "new", show_progress=False, window_utts=7)
    init = FrameChunks.__init__
    monkeypatch.setattr(FrameChunks, "__init__",
                        lambda self, array, threads, carry_tail=False: init(self, array, threads))
    old = extract("melspec", "emodb", stores_root=tmp_path / "old", show_progress=False, window_utts=7)
    assert new.complete and old.complete and new.written == old.written > 0
    assert_same_store(new.path, old.path)
    assert _chunk_files(new.path).keys() == _chunk_files(old.path).keys()
    for key, data in _chunk_files(old.path).items():
        if key.startswith("frames/"):
            assert _chunk_files(new.path)[key] == data, key

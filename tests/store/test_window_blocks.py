"""Windows cast into blocks from a bounded pool (issue 22): a block is handed out again only once its window
is written, the pool holds at most ``keep`` blocks, and a store written through ``WriteBehind`` with the pool
equals one written window by window into new blocks, value for value and byte for byte in every chunk file."""

import threading
import time

import numpy as np
import pytest

from sergen.store.digests import DIGEST_ARRAY, STATS_ARRAY
from sergen.store.window_blocks import WindowBlocks
from sergen.store.write_behind import WriteBehind
from sergen.store.writer import StoreWriter, create_store

from tests.store.test_frame_chunks import DIM, _chunk_files, _plan


def test_a_block_given_back_is_handed_out_again_and_a_lent_one_never():
    blocks = WindowBlocks("float16", keep=3)
    a = blocks.take(4, 5)
    assert a.shape == (4, 5) and a.dtype == np.float16 and a.flags.c_contiguous
    b = blocks.take(4, 5)
    assert b.base is not a.base  # a is lent: never handed out twice
    blocks.give_back(a)
    c = blocks.take(2, 5)  # smaller: a's block holds it
    assert c.base is a.base and c.shape == (2, 5) and c.flags.c_contiguous
    d = blocks.take(3, 5)  # a's block is lent again, b's still: a new one
    assert d.base is not a.base and d.base is not b.base
    assert blocks.held == 3


def test_the_smallest_free_block_that_holds_a_window_is_taken_and_the_pool_stays_bounded():
    blocks = WindowBlocks("float16", keep=2)
    small, large = blocks.take(2, 4), blocks.take(8, 4)
    blocks.give_back(large)
    blocks.give_back(small)
    assert blocks.take(1, 4).base is small.base  # the smallest that fits
    blocks.give_back(small.base[:4].reshape(1, 4))
    larger = blocks.take(9, 4)  # fits none: a new block, the smallest free one dropped for it
    assert larger.base is not small.base and larger.base is not large.base and blocks.held == 2
    blocks.give_back(larger)
    assert blocks.take(2, 4).base is large.base  # the small block is gone
    extra = [blocks.take(9, 4), blocks.take(9, 4)]  # more lent than keep: new blocks, not kept when given back
    for view in extra:
        blocks.give_back(view)
    assert blocks.held == 2


def test_a_dropped_block_is_never_handed_out_again_and_a_block_is_given_back_once():
    blocks = WindowBlocks("float16", keep=4)
    failed = blocks.take(3, 2)
    blocks.drop(failed)
    assert blocks.held == 0 and blocks.take(3, 2).base is not failed.base
    with pytest.raises(ValueError, match="give_back takes a view that take handed out"):
        blocks.give_back(failed)
    with pytest.raises(ValueError, match="keep must be at least 1"):
        WindowBlocks("float16", keep=0)


# windows of different sizes, one smaller than the one before and one larger than all before it
N_FRAMES = [700, 1, 300, 1500, 213, 40, 2049, 90, 5, 3000, 12]
WINDOWS = [(0, 2), (2, 4), (4, 5), (5, 6), (6, 8), (8, 9), (9, 11)]


def _frames() -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    frames = [rng.standard_normal((n, DIM)).astype(np.float32) for n in N_FRAMES]
    frames[3][17, 5] = np.nan  # a NaN row: numpy's NaN bits are stored (sergen.store.half_cast)
    frames[9][0, :] = np.float32(np.nan)
    return frames


class Watched(StoreWriter):
    """A ``StoreWriter`` that holds its first write until released, and checks that each window's block still
    holds that window's float16 frames when it is written."""

    def __init__(self, group, frames, chunk_threads):
        super().__init__(group, chunk_threads=chunk_threads)
        self.frames, self.release = frames, threading.Event()
        self.written: list[int] = []

    def write_frames(self, first, prepared, codes):
        assert self.release.wait(30)
        last = first + len(codes)
        want = np.concatenate(self.frames[first:last]).astype(np.float16)
        assert prepared.stored.view(np.uint16).tobytes() == want.view(np.uint16).tobytes(), first
        super().write_frames(first, prepared, codes)
        self.written.append(first)


def taken_blocks(behind: WriteBehind, monkeypatch) -> list[np.ndarray]:
    """The views ``behind`` casts its windows into, in the order it takes them (one per ``put``), from a pool
    of its own (the process's pool holds blocks of the tests before)."""
    blocks = WindowBlocks(behind._blocks.dtype, behind._blocks.keep)
    taken, take = [], blocks.take
    monkeypatch.setattr(blocks, "take", lambda rows, dim: taken.append(take(rows, dim)) or taken[-1])
    monkeypatch.setattr(behind, "_blocks", blocks)
    return taken


@pytest.mark.parametrize("prepare_threads", [1, 2])
def test_a_store_written_with_pooled_blocks_equals_one_written_into_new_blocks(tmp_path, prepare_threads, monkeypatch):
    frames = _frames()
    fresh = StoreWriter(create_store(tmp_path / "fresh.zarr", _plan(N_FRAMES), {}, DIM), chunk_threads=1)
    for first, last in WINDOWS:  # each window prepared into a new block (StoreWriter.prepare's own)
        fresh.write_window(first, frames[first:last], [1] * (last - first))
    fresh.mark_complete()
    pooled = Watched(create_store(tmp_path / "pooled.zarr", _plan(N_FRAMES), {}, DIM), frames, chunk_threads=2)
    pooled.release.set()
    with WriteBehind(pooled, depth=1, prepare_threads=prepare_threads) as behind:
        taken = taken_blocks(behind, monkeypatch)
        for first, last in WINDOWS:
            behind.put(first, frames[first:last], [1] * (last - first), {})
    pooled.mark_complete()
    for name in ("frames", "mean", "std", "status", DIGEST_ARRAY, STATS_ARRAY):
        np.testing.assert_array_equal(pooled.group[name][:], fresh.group[name][:], err_msg=name)
    assert np.isnan(pooled.group["frames"][700 + 1 + 300 + 17, 5])
    assert _chunk_files(tmp_path / "pooled.zarr") == _chunk_files(tmp_path / "fresh.zarr")
    assert len(taken) == len(WINDOWS) and len({id(view.base) for view in taken}) < len(WINDOWS)  # handed out again


@pytest.mark.parametrize("prepare_threads", [1, 2])
def test_a_block_is_not_handed_out_again_while_its_window_is_unwritten(tmp_path, prepare_threads, monkeypatch):
    frames = _frames()
    writer = Watched(create_store(tmp_path / "s.zarr", _plan(N_FRAMES), {}, DIM), frames, chunk_threads=1)
    behind = WriteBehind(writer, depth=2, prepare_threads=prepare_threads)
    taken = taken_blocks(behind, monkeypatch)
    in_flight = WINDOWS[:2 + prepare_threads + 1]  # the queue's windows and the one held in its write: no put waits
    for first, last in in_flight:
        behind.put(first, frames[first:last], [1] * (last - first), {})
    lent = [view.base for view in taken]
    assert len({id(base) for base in lent}) == len(in_flight)  # each unwritten window its own block
    writer.release.set()  # the first write goes on: each window's block still holds its frames (Watched)
    for _ in range(3000):
        if len(writer.written) == len(in_flight):
            break
        time.sleep(0.01)
    for first, last in WINDOWS[len(in_flight):]:
        behind.put(first, frames[first:last], [1] * (last - first), {})
    behind.close()
    small = taken[WINDOWS.index((8, 9))]  # 5 frames: any free block holds them
    assert any(small.base is base for base in lent)  # once written, a block is handed out again
    np.testing.assert_array_equal(writer.group["frames"][:].view(np.uint16),
                                  np.concatenate(frames).astype(np.float16).view(np.uint16))


def test_a_block_whose_write_failed_is_dropped_not_given_back(tmp_path, monkeypatch):
    frames = _frames()
    writer = StoreWriter(create_store(tmp_path / "s.zarr", _plan(N_FRAMES), {}, DIM), chunk_threads=1)
    dropped, given_back = [], []
    drop, give_back = WindowBlocks.drop, WindowBlocks.give_back
    monkeypatch.setattr(WindowBlocks, "drop", lambda self, view: (dropped.append(view.base), drop(self, view)))
    monkeypatch.setattr(WindowBlocks, "give_back", lambda self, view: (given_back.append(view.base),
                                                                       give_back(self, view)))
    monkeypatch.setattr(StoreWriter, "write_frames", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        with WriteBehind(writer, depth=1) as behind:
            taken = taken_blocks(behind, monkeypatch)
            behind.put(0, frames[:2], [1, 1], {})
    assert given_back == [] and len(dropped) == 1 and dropped[0] is taken[0].base


def test_the_next_store_takes_the_blocks_the_last_one_gave_back_until_they_are_handed_back_to_the_system(tmp_path):
    from sergen.store.heap import give_back_freed_memory
    from sergen.store.window_blocks import shared_blocks

    frames = _frames()
    stores = [StoreWriter(create_store(tmp_path / f"{i}.zarr", _plan(N_FRAMES), {}, DIM), chunk_threads=1)
              for i in range(2)]
    with WriteBehind(stores[0], depth=1) as behind:
        behind.put(0, frames[:2], [1, 1], {})
    blocks = behind._blocks
    assert blocks is shared_blocks("float16", 1)  # one pool per dtype for the process
    free = list(blocks._free)
    assert free and blocks.take(1, DIM).base is free[0]  # the first store's block, free for the next
    blocks.give_back(free[0][:DIM].reshape(1, DIM))
    give_back_freed_memory()
    again = blocks.take(1, DIM)
    assert blocks._free == [] and again.base is not free[0]
    blocks.give_back(again)

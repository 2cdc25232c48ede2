"""The blocks windows are prepared into, kept and handed out again once their window is written (issue 22).

Why: a window's float16 block is tens to hundreds of MB, and a new one per window landed on fresh pages
each time: the kernel zeroed them (transparent huge pages, faulted from the float16 cast) and took them back
when the block was freed, about half the feed's CPU in the kernel on the WavLM-Large-shaped feed
(``bench/feed_ceiling.md``). ``sergen.store.heap`` keeps freed memory for the next allocation, but not a block
that a thread arena allocated (glibc maps those larger than its 64 MiB heaps directly and unmaps them when
freed), nor one that no longer fits a fragmented heap. A block taken from here was written once already: its
pages are in memory.

Bounded: at most ``keep`` blocks are held, lent and free together (``WriteBehind`` keeps as many as windows
can be in flight), and a new block is made only when no free one holds the window, so the pool holds about
as many blocks as were ever in flight at once. A block is handed out again only after ``give_back``: the
caller gives back a block only when nothing reads it any more (its window written), and drops one whose
write failed. Nothing computed changes: only where the frames are cast into.

One pool per dtype for the process (``shared_blocks``), not per store, as ``sergen.store.heap`` keeps freed
memory: a store's first windows grow (``sergen.extract._windows``: 16, 32, 64, ... utterances), so a pool per
store made new blocks for most windows (45 of 62 on the five demo corpora at scale 4 after EmoDB);
shared, 11-12 of 62, most in the first store. ``sergen.store.heap.give_back_freed_memory`` frees the free
blocks with the heap's.
"""

from __future__ import annotations

import bisect
import threading

import numpy as np


class WindowBlocks:
    """Flat blocks of ``dtype``, each lent as a ``(rows, dim)`` C-contiguous view of its first values."""

    def __init__(self, dtype: str | np.dtype, keep: int):
        if keep < 1:
            raise ValueError(f"keep must be at least 1, not {keep}")
        self.dtype = np.dtype(dtype)
        self.keep = keep
        self._free: list[np.ndarray] = []  # flat blocks, smallest first
        self._lent: dict[int, np.ndarray] = {}  # id of a lent flat block: the block (the view's base)
        self._lock = threading.Lock()

    def take(self, rows: int, dim: int) -> np.ndarray:
        """A ``(rows, dim)`` view of the smallest free block that holds it, else of a new block (then the
        smallest free block is dropped if the pool is full: the new one is larger than every free one)."""
        size = rows * dim
        with self._lock:
            at = next((i for i, block in enumerate(self._free) if block.size >= size), None)
            if at is not None:
                flat = self._free.pop(at)
            else:
                if self._free and len(self._free) + len(self._lent) >= self.keep:
                    self._free.pop(0)
                flat = np.empty(max(size, 1), self.dtype)  # its pages are faulted in when first written
            self._lent[id(flat)] = flat
        return flat[:size].reshape(rows, dim)

    def give_back(self, view: np.ndarray) -> None:
        """The block behind ``view`` (from ``take``) free for another window; kept if the pool has room."""
        flat = view.base
        with self._lock:
            if self._lent.pop(id(flat), None) is not flat:
                raise ValueError("give_back takes a view that take handed out and that was not given back")
            if len(self._free) + len(self._lent) < self.keep:
                bisect.insort(self._free, flat, key=lambda block: block.size)

    def drop(self, view: np.ndarray) -> None:
        """The block behind ``view`` never handed out again (its window's write failed: it may still be read)."""
        with self._lock:
            self._lent.pop(id(view.base), None)

    def clear_free(self) -> None:
        """The free blocks freed; the lent ones stay lent until given back or dropped."""
        with self._lock:
            self._free.clear()

    @property
    def held(self) -> int:
        """Blocks held, free and lent."""
        with self._lock:
            return len(self._free) + len(self._lent)


_SHARED: dict[np.dtype, WindowBlocks] = {}
_SHARED_LOCK = threading.Lock()


def shared_blocks(dtype: str | np.dtype, keep: int) -> WindowBlocks:
    """The process's pool of ``dtype`` blocks, for every store written (see the module docstring); its
    ``keep`` is the largest asked for."""
    dtype = np.dtype(dtype)
    with _SHARED_LOCK:
        blocks = _SHARED.setdefault(dtype, WindowBlocks(dtype, keep))
        blocks.keep = max(blocks.keep, keep)
        return blocks


def clear_shared_blocks() -> None:
    """Every shared pool's free blocks freed (``sergen.store.heap.give_back_freed_memory``)."""
    with _SHARED_LOCK:
        pools = list(_SHARED.values())
    for blocks in pools:
        blocks.clear_free()

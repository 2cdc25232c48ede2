"""The blocks windows are prepared into, kept and handed out again once their window is written (issue 22).

Why: a window's float16 block is tens to hundreds of MB, and a new one per window landed on fresh pages
each time: the kernel zeroed them (transparent huge pages, faulted from the float16 cast) and took them back
when the block was freed, about half the feed's CPU in the kernel on the WavLM-Large-shaped feed
(``bench/feed_ceiling.md``). ``sergen.store.heap`` keeps freed memory for the next allocation, but not a block
that a thread arena allocated (glibc maps those larger than its 64 MiB heaps directly and unmaps them when
freed), nor one that no longer fits a fragmented heap. A block taken from here was written once already: its
pages are in memory.

Bounded: at most ``keep`` blocks are held, lent and free together (``WriteBehind`` keeps as many as windows
can be in flight), so memory stays what the windows in flight took before. A block is handed out again only
after ``give_back``: the caller gives back a block only when nothing reads it any more (its window written),
and never one whose write failed. Nothing computed changes: only where the frames are cast into.
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

    def clear(self) -> None:
        """Every block forgotten: the free ones are freed, the lent ones when their last view goes."""
        with self._lock:
            self._free.clear()
            self._lent.clear()

    @property
    def held(self) -> int:
        """Blocks held, free and lent."""
        with self._lock:
            return len(self._free) + len(self._lent)

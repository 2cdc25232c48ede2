"""Rows of a store-bank file read with positioned reads, never through its memory mapping (issue 26).

Why not the mapping: on this project's machine (Linux 6.18, ext4) the page cache holds a bank file in 2 MiB
folios, and a fault on a mapped file maps the whole folio (as one PMD; as 512 PTEs under
``MADV_NOHUGEPAGE``; ``MADV_RANDOM`` changes nothing). Touching one 4 KiB bank row maps 2 MiB, so one draw of
the sampler (8 batches, ~7,400 rows) mapped ~90 % of MSP-Podcast's bank, and every worker held its
training set's whole bank as mapped pages (5.9–6.9 GiB of the real-size grid's 9.0–9.7 GiB peak PSS),
though a run reads about half of its rows. Unmapping every N batches cannot bound that: one draw maps it
all again. Read by ``pread``, the rows a draw needs cost ~7 ms more per draw than gathered from a warm
mapping (7,400 rows: ~11 ms against ~3.5 ms) and nothing is mapped: the pages stay in the page cache,
shared by every process and reclaimable, and are no process's memory.

A table is read by rows where it is a memory-mapped ``.npy`` bank (``np.load(..., mmap_mode="r")``); an
in-RAM table is indexed as before. The values are the same bits either way (``tests/train/test_bank_rows.py``).
"""

from __future__ import annotations

import mmap
import os
import weakref

import numpy as np

READ_BY_ROWS = True  # False: gather from the mapping (the behaviour before issue 26's memory target)


def reads_by_rows(table: np.ndarray) -> bool:
    """Whether rows of ``table`` are read from its file (a mapped bank) rather than indexed."""
    return (READ_BY_ROWS and isinstance(table, np.memmap) and bool(getattr(table, "filename", None))
            and getattr(table, "_mmap", None) is not None and table.ndim == 2 and table.flags.c_contiguous)


class _Files:
    """One read-only descriptor per mapped bank, opened at its first read and closed when the mapping goes.
    Keyed by the mapping, not the path: a bank rebuilt in place (a damaged file) is a new mapping and gets a
    descriptor of the new file. A forked worker reads through the descriptors it inherits (``pread`` keeps no
    file position to share)."""

    def __init__(self):
        self.fds: dict[int, int] = {}

    def fd(self, table: np.memmap) -> int:
        handle = table._mmap
        key = id(handle)
        if key not in self.fds:
            self.fds[key] = os.open(table.filename, os.O_RDONLY)
            weakref.finalize(handle, self.forget, key)
        return self.fds[key]

    def forget(self, key: int) -> None:
        fd = self.fds.pop(key, None)
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


_FILES = _Files()


def file_offset(table: np.memmap) -> int:
    """Byte offset in its file of ``table``'s first row. ``np.memmap`` maps from ``offset`` rounded down to the
    allocation granularity and keeps ``offset`` unchanged in its slices, so the row's place is taken from
    where it lies in the mapping."""
    mapped_from = table.offset - table.offset % mmap.ALLOCATIONGRANULARITY
    start = np.frombuffer(table._mmap, np.uint8, count=1).ctypes.data
    return mapped_from + table.ctypes.data - start


def read_rows(table: np.ndarray, rows: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``table[rows]`` (``rows`` sorted, each once) into ``out`` (a new array if None): from a mapped bank's
    file by one positioned read per run of consecutive rows, so its pages never enter this process's
    mapping; an in-RAM table by indexing."""
    rows = np.asarray(rows, np.int64)
    if out is None:
        out = np.empty((len(rows), table.shape[1]), table.dtype)
    if not isinstance(table, np.memmap) or not len(rows):
        out[:] = table[rows]
        return out
    if rows[0] < 0 or rows[-1] >= len(table):
        raise IndexError(f"bank rows {rows[0]}…{rows[-1]} outside a table of {len(table)} rows")
    row_bytes = table.shape[1] * table.dtype.itemsize
    starts = np.flatnonzero(np.diff(rows, prepend=rows[0] - 2) != 1)
    ends = np.append(starts[1:], len(rows))
    view = memoryview(out.view(np.uint8).reshape(-1)).cast("B")
    fd = _FILES.fd(table)
    first = file_offset(table)
    for lo, hi, row in zip(starts.tolist(), ends.tolist(), rows[starts].tolist()):
        target, at = view[lo * row_bytes:hi * row_bytes], first + row * row_bytes
        while len(target):  # one read returns at most ~2 GiB on Linux
            n = os.preadv(fd, [target], at)
            if n <= 0:
                raise OSError(f"short read from {table.filename} at byte {at}")
            target, at = target[n:], at + n
    return out


def gather(table: np.ndarray, rows: np.ndarray, *same_layout: np.ndarray) -> tuple[np.ndarray, ...]:
    """(compact table, indices into it) with ``compact[indices] == table[rows]``: the distinct rows read
    once, in order. For an in-RAM table (or with ``READ_BY_ROWS`` off): the table itself and ``rows``.
    Tables of ``table``'s layout in ``same_layout`` (a bank's sums of squares) get the same rows read and
    follow, compact or whole, after the indices: the distinct rows are found once for all of them."""
    rows = np.asarray(rows, np.int64)
    if not reads_by_rows(table):
        return (table, rows, *same_layout)
    distinct, indices = np.unique(rows, return_inverse=True)
    return (read_rows(table, distinct), indices.reshape(-1), *(read_rows(t, distinct) for t in same_layout))

"""What a grid worker gives back when a run ends (issue 26): the pages of the store banks it mapped, and the
heap that numpy's freed arrays left behind.

Why: a worker keeps its banks mapped for the runs that follow (opening them again costs nothing), but every
page a run touched stays in the worker's memory until the process ends: a worker that trained on ``all``
and then on ``emodb`` still held MSP-Podcast's bank pages, and the grid's memory plan (which counts the
banks of the training sets running at once) under-counted it. ``MADV_DONTNEED`` on a read-only file
mapping only unmaps: the pages stay in the page cache, and a later run that needs them maps them again
without reading the disk. And glibc keeps the blocks of freed arrays below its (rising) mmap threshold in
the heap; ``malloc_trim`` returns them, so one run's transient arrays do not stay for the rest of the grid.

The sampler no longer maps bank pages at all (it reads rows from the files, ``sergen.train.bank_rows``:
a fault maps a whole 2 MiB folio, so one draw mapped most of a bank); the unmapping here covers whatever
still reads a bank through its mapping (``bank_rows.READ_BY_ROWS`` off, a notebook indexing ``prefix``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import weakref

import numpy as np

_MAPPED: "weakref.WeakValueDictionary[str, np.memmap]" = weakref.WeakValueDictionary()


def register(name: str, array: np.ndarray) -> None:
    """Note a memory-mapped bank table (an in-RAM one is ignored) so ``release`` can unmap its pages."""
    if isinstance(array, np.memmap):
        _MAPPED[name] = array


def mapped_names() -> list[str]:
    return sorted(_MAPPED.keys())


def release() -> None:
    """Unmap every registered bank's pages from this process (they stay mapped, and cached) and trim the heap."""
    for array in list(_MAPPED.values()):
        handle = getattr(array, "_mmap", None)
        if handle is not None and hasattr(handle, "madvise"):
            handle.madvise(mmap.MADV_DONTNEED)
    trim_heap()


def trim_heap() -> bool:
    """glibc's ``malloc_trim(0)``; False where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        trim = None
    if trim is None:
        return False
    trim(0)
    return True

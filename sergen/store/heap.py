"""Freed memory kept for reuse while a store is written (issue 22).

Why: every window brings new blocks of tens to hundreds of MB (the model's float32 frames, their float16
copy, std's temporaries). glibc's malloc hands blocks that large straight back to the system when freed, so
the next window's blocks are fresh pages, each faulted in on first touch. On the WavLM-Large-shaped feed that
was 223,000 page faults per 1,035 audio seconds and half the process's CPU in the kernel; with freed
memory kept in the heap, 10,000-24,000 faults and about a quarter less CPU (``bench/feed_ceiling.md``), for
about 15 % more peak memory. Nothing computed changes: only where the memory comes from.

Process-wide (malloc's settings are), so it is counted: the first writer to enter sets it, the last to leave
restores glibc's own ceilings and returns the kept memory to the system. A no-op where the C library is not
glibc.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import threading
from typing import Iterator

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
KEEP_MMAP, KEEP_TRIM = 1 << 30, (1 << 31) - 1  # blocks up to 1 GiB from the heap; never trimmed meanwhile
GLIBC_MMAP, GLIBC_TRIM = 32 << 20, 64 << 20  # where glibc's own adaptive thresholds end up after large frees

_lock = threading.Lock()
_users = 0


def _glibc():
    """The C library's handle where it has ``mallopt`` and ``malloc_trim`` (glibc), else None."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


@contextlib.contextmanager
def reuse_freed_memory() -> Iterator[None]:
    """Inside, freed blocks of up to 1 GiB stay in the heap for the next allocation (see the module docstring)."""
    global _users
    libc = _glibc()
    if libc is None:
        yield
        return
    with _lock:
        _users += 1
        if _users == 1:
            libc.mallopt(M_MMAP_THRESHOLD, KEEP_MMAP)
            libc.mallopt(M_TRIM_THRESHOLD, KEEP_TRIM)
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                libc.mallopt(M_MMAP_THRESHOLD, GLIBC_MMAP)
                libc.mallopt(M_TRIM_THRESHOLD, GLIBC_TRIM)
                libc.malloc_trim(0)

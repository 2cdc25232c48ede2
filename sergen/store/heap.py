"""Freed memory kept for reuse once a store is written in this process (issue 22).

Why: every window brings new blocks of tens to hundreds of MB (the model's float32 frames, their float16
copy, std's temporaries). glibc's malloc hands blocks that large straight back to the system when freed, so
the next window's blocks are fresh pages, each faulted in on first touch. On the WavLM-Large-shaped feed
(five demo corpora, 1,035 audio seconds) that was about 230,000 page faults and half the process's CPU in
the kernel; with freed memory kept in the heap, about 11,000 faults and a fifth to a quarter less CPU, for
about 7 % more peak memory (``bench/feed_ceiling.md``). Nothing computed changes: only where memory comes
from.

For the rest of the process, not per store: restored and trimmed after each store (``--corpus all`` writes
one store after another), the next store faulted its pages in again (≈ 176,000-237,000 faults, no gain). A
process that extracts and then goes on (a notebook) can hand the kept memory back with
``give_back_freed_memory``. A no-op where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
KEEP_MMAP, KEEP_TRIM = 1 << 30, (1 << 31) - 1  # blocks up to 1 GiB from the heap; the heap never trimmed

_lock = threading.Lock()
_kept = False


def _glibc():
    """The C library's handle where it has ``mallopt`` and ``malloc_trim`` (glibc), else None."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def keep_freed_memory() -> None:
    """From now on, freed blocks of up to 1 GiB stay in the heap for the next allocation (see the module
    docstring). Idempotent."""
    global _kept
    with _lock:
        libc = None if _kept else _glibc()
        if libc is not None:
            libc.mallopt(M_MMAP_THRESHOLD, KEEP_MMAP)
            libc.mallopt(M_TRIM_THRESHOLD, KEEP_TRIM)
        _kept = True


def give_back_freed_memory() -> None:
    """The free memory the heap kept, handed back to the system now (``malloc_trim``)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)

"""Freed memory kept for reuse once a store is written (issue 22): a large block then comes from malloc's heap
and stays there when freed, for the next window. (Before, it is mapped from the system: not checked here, as
another test of this process may have written a store already.)"""

import ctypes

import numpy as np
import pytest

from sergen.store import heap

LIBC = heap._glibc()
pytestmark = pytest.mark.skipif(LIBC is None or not hasattr(LIBC, "mallinfo2"), reason="glibc ≥ 2.33 only")


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]


def _mapped_for_a_block() -> tuple[int, int]:
    """(bytes malloc mapped from the system for a live 64 MiB block, free bytes malloc kept after it was freed)."""
    LIBC.mallinfo2.restype = MallInfo2
    before = LIBC.mallinfo2().hblkhd
    block = np.ones(64 << 18, np.float32)
    mapped = LIBC.mallinfo2().hblkhd - before
    del block
    return mapped, LIBC.mallinfo2().fordblks


def test_once_kept_a_large_block_comes_from_the_heap_and_stays_there_when_freed():
    heap.keep_freed_memory()
    heap.keep_freed_memory()  # idempotent
    mapped, kept = _mapped_for_a_block()
    assert mapped == 0 and kept >= 64 << 20  # from the heap, and kept there once freed
    heap.give_back_freed_memory()
    mapped, kept = _mapped_for_a_block()
    assert mapped == 0  # still from the heap: handing memory back does not change where blocks come from

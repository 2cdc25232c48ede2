"""Freed memory kept for reuse while a store is written (issue 22): inside the block a large block comes from
malloc's heap (and stays there when freed, for the next window); after it, from the system as before."""

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


def test_a_large_block_comes_from_the_heap_inside_and_from_the_system_after():
    with heap.reuse_freed_memory():
        with heap.reuse_freed_memory():  # nested writers: the outer one's setting stands
            pass
        assert heap._users == 1
        mapped, kept = _mapped_for_a_block()
        assert mapped == 0 and kept >= 64 << 20  # from the heap, and kept there once freed
    assert heap._users == 0
    mapped, _ = _mapped_for_a_block()
    assert mapped >= 64 << 20  # mapped from the system, and given back when freed

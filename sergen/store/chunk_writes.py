"""Rows written to a Zarr array one chunk per write, the chunks concurrently.

Why: Zarr (3.1) copies a multi-chunk write into a freshly filled buffer per chunk on its event-loop thread
before compressing it; a write whose value is exactly one chunk skips that copy (and the fill). For a store's
frames this was a third of Zarr's event-loop CPU during ``sergen extract`` (issue 22). The values written are
the same, so the chunk files are too.
"""

from __future__ import annotations

import asyncio

import numpy as np
import zarr
from zarr.core.sync import sync


def chunk_pieces(start: int, stop: int, rows: int) -> list[tuple[int, int]]:
    """``[start, stop)`` cut at multiples of ``rows``: whole chunks, and partial ones at either end."""
    cuts = [start, *range((start // rows + 1) * rows, stop, rows), stop]
    return [(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


def write_rows(array: zarr.Array, start: int, block: np.ndarray) -> None:
    """``array[start:start + len(block)] = block``, one write per chunk of the first axis, at most Zarr's
    ``async.concurrency`` chunks in flight."""
    stop = start + len(block)
    pieces = chunk_pieces(start, stop, array.chunks[0])
    if len(pieces) <= 1:
        array[start:stop] = block
        return
    target = array.async_array
    limit = max(1, int(zarr.config.get("async.concurrency") or 1))

    async def write_all() -> None:
        gate = asyncio.Semaphore(limit)

        async def one(a: int, b: int) -> None:
            async with gate:
                await target.setitem(slice(a, b), block[a - start:b - start])

        await asyncio.gather(*(one(a, b) for a, b in pieces))

    sync(write_all())

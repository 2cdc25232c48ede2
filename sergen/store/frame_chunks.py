"""Frame rows written to a store with their chunks compressed on a pool of threads (issue 22).

Why: Zarr encodes a write's chunks from one asyncio event-loop thread, and on the WavLM-Large-shaped
feed that loop, its per-chunk copies (a chunk buffer filled then copied into, the checksum appended to a
copy) and the one window at a time left a second core idle (``bench/feed_ceiling.md``). Here each chunk a
write covers whole is encoded by Zarr's own codecs for that array (so its bytes are exactly those Zarr
would write: Blosc, then the CRC-32C codec) and stored through the array's own store (atomic file
replacement on a local disk), each on a pool thread: Blosc and CRC-32C release the GIL, so chunks compress
side by side. Each pool thread gets one task per write, a contiguous run of whole chunks: a task per chunk
(about 2,600 on the WavLM-Large-shaped feed) woke a pool thread, and the writer waiting on it, for every MiB
stored; measured on 2 cores (load 3), the writer thread's voluntary context switches fell from 2,900 to 530
(issue 22). On one core (``threads=1``) the writing thread encodes and stores them itself: Zarr's loop and
file threads cost more CPU there than the compression (1.0–1.5 of 2.8–3.4 CPU s on the WavLM-Large-shaped
feed, ``bench/feed_ceiling.md``).
``threads=0`` leaves every row to Zarr (the reference tests compare with). Rows of a chunk the write covers
only in part (a window's first and last chunk) go through Zarr as before, which merges them with what the
chunk already holds.

A ``write`` returns once every chunk it covers is stored, so the writer's order (frames, then status) and
with it every crash-safety guarantee of ``StoreWriter`` is unchanged.

With ``carry_tail`` (``StoreWriter``'s frames), a write's last rows that do not fill their chunk are held in
memory instead (the tail), and the next write that starts where they end takes them as the head of its first
chunk, which is then whole and goes to the pool. Why: windows end inside chunks, so each window cost two
partial chunks through Zarr (read the chunk back, decode, merge, encode, write), which was most of Zarr's
threads' CPU on melspec (issue 22). ``settle`` writes a held tail through Zarr (once per ``StoreWriter.flush``,
before any status is marked), and keeps it in memory, so the chunk is still completed from memory by the next
write. The chunk files' bytes are the same either way: a whole chunk encoded once is what Zarr's merges leave.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import zarr
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync
from zarr.storage import LocalStore

try:  # Zarr's own atomic chunk write for a local store (private: without it, chunks go through Zarr's loop)
    from zarr.storage._local import _put as _local_put
except ImportError:  # pragma: no cover - another Zarr version
    _local_put = None


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def chunk_pool(threads: int) -> ThreadPoolExecutor:
    """One pool per size for the process's life, shared by every store written (as Zarr shares its own)."""
    with _POOLS_LOCK:
        if threads not in _POOLS:
            _POOLS[threads] = ThreadPoolExecutor(threads, thread_name_prefix="sergen-store-chunks")
        return _POOLS[threads]


class InThisThread:
    """An executor that runs each task at once in the thread that submits it (a pool of one thread)."""

    def submit(self, fn, *args) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - raised where the pool's would be: FrameChunks._write_rows
            future.set_exception(exc)
        return future


def chunk_runs(first: int, last: int, count: int) -> list[tuple[int, int]]:
    """Chunks ``first … last-1`` as at most ``count`` contiguous runs ``(a, b)`` of about equal length, in order."""
    count = max(1, min(count, last - first))
    bounds = [first + (last - first) * i // count for i in range(count + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


class FrameChunks:
    """Row ranges of a 2-D array chunked by rows only (whole feature rows per chunk, as ``frames`` is)."""

    def __init__(self, array: zarr.Array, threads: int, carry_tail: bool = False):
        if len(array.shape) != 2 or array.chunks[1] != array.shape[1]:
            raise ValueError(f"FrameChunks writes arrays chunked by rows only, not chunks {array.chunks}")
        self.array = array
        self.rows = array.chunks[0]
        # one thread: each chunk encoded and stored in the writing thread, still not through Zarr's event loop
        # and its file threads (on one core those cost more CPU than the chunks' compression); 0: Zarr's path
        self._pool = chunk_pool(threads) if threads > 1 else InThisThread() if threads == 1 else None
        self._tasks = max(threads, 1)  # runs of whole chunks per write: one per pool thread
        self.carry_tail = carry_tail
        # the held tail: (row where its chunk starts, the rows from there, whether they are on disk yet)
        self._tail: tuple[int, np.ndarray, bool] | None = None
        try:  # Zarr's codecs for this array, as its own writes use them (Zarr 3's internals)
            self._pipeline = array._async_array.codec_pipeline
            self._spec = array.metadata.get_chunk_spec((0, 0), array._async_array.config, default_buffer_prototype())
            codecs = [*self._pipeline.array_array_codecs, self._pipeline.array_bytes_codec, *self._pipeline.bytes_bytes_codecs]
            if not all(hasattr(c, "_encode_sync") for c in codecs):
                raise AttributeError("a codec without _encode_sync")
        except AttributeError:  # pragma: no cover - another Zarr version: every chunk through Zarr, as before
            self._pool = None

    def encode(self, block: np.ndarray) -> bytes:
        """One whole chunk's bytes as Zarr stores them (the array's codecs, in order)."""
        spec, pipeline = self._spec, self._pipeline
        data = spec.prototype.nd_buffer.from_numpy_array(np.ascontiguousarray(block, dtype=self.array.dtype))
        for codec in pipeline.array_array_codecs:
            data = codec._encode_sync(data, spec)
        data = pipeline.array_bytes_codec._encode_sync(data, spec)
        for codec in pipeline.bytes_bytes_codecs:
            data = codec._encode_sync(data, spec)
        return data

    def _store(self, chunk: int, block: np.ndarray) -> None:
        path = self.array.store_path
        key = self.array.metadata.encode_chunk_key((chunk, 0))
        key = f"{path.path}/{key}" if path.path else key
        if _local_put is not None and isinstance(path.store, LocalStore):
            # what LocalStore.set runs (a temporary file, then an atomic rename), here rather than through
            # Zarr's one event-loop thread: per chunk, that loop's work capped the feed (bench/feed_ceiling.md)
            _local_put(path.store.root / key, self.encode(block))
        else:  # any other store (fsspec URLs): through Zarr
            sync(path.store.set(key, self.encode(block)))

    def _store_run(self, chunk: int, rows: np.ndarray) -> None:
        """Whole chunks ``chunk``, ``chunk + 1``, … from ``rows`` (a whole number of chunks' rows), in order."""
        for at in range(0, len(rows), self.rows):
            self._store(chunk + at // self.rows, rows[at:at + self.rows])

    def write(self, start: int, rows: np.ndarray) -> None:
        """``array[start:start + len(rows)] = rows``: the chunks covered whole on the pool, the rest through Zarr
        (or, with ``carry_tail``, the last rows held for the next write: see the module docstring)."""
        if self._pool is None:
            self.array[start:start + len(rows)] = rows
            return
        head = self._take_tail(start)
        try:
            if head is not None:  # the held tail completes this write's first chunk: written whole on the pool
                need = min(self.rows - len(head[1]), len(rows))
                self._write_rows(head[0], np.concatenate([head[1], rows[:need]]))
                start, rows = start + need, rows[need:]
            if len(rows):
                self._write_rows(start, rows)
        except BaseException:
            if head is not None:  # its rows are earlier windows': ``settle`` tries them again before any status
                self._tail = (*head, False)
            raise

    def _take_tail(self, start: int) -> tuple[int, np.ndarray] | None:
        """The held tail if ``start`` continues it; any other held tail is written first (``settle``)."""
        if self._tail is None:
            return None
        if self._tail[0] + len(self._tail[1]) == start:
            tail, self._tail = self._tail, None
            return tail[0], tail[1]
        self.settle()
        self._tail = None
        return None

    def settle(self) -> None:
        """A held tail written through Zarr now (merged with what its chunk holds); still held for the next
        write, which then completes its chunk from memory."""
        if self._tail is not None and not self._tail[2]:
            at, rows, _ = self._tail
            self.array[at:at + len(rows)] = rows
            self._tail = (at, rows, True)

    def _write_rows(self, start: int, rows: np.ndarray) -> None:
        stop = start + len(rows)
        first = -(-start // self.rows)  # the first chunk that starts inside the range
        last = stop // self.rows  # chunks first … last-1 lie whole inside it
        # a tail to hold: rows from a chunk's start that do not reach its end (nor the array's)
        chunk_start = stop // self.rows * self.rows  # where the chunk holding the range's end starts
        hold = self.carry_tail and chunk_start >= start and stop % self.rows and stop < self.array.shape[0]
        end = chunk_start if hold else stop
        if hold:
            self._tail = (end, rows[end - start:].copy(), False)
        if last <= first:
            if end > start:
                self.array[start:end] = rows[:end - start]
            return
        lo, hi = first * self.rows - start, last * self.rows - start
        futures = []
        for a, b in chunk_runs(first, last, self._tasks):  # one run of whole chunks per pool thread
            run = rows[lo + (a - first) * self.rows:lo + (b - first) * self.rows]
            futures.append(self._pool.submit(self._store_run, a, run))
        try:
            if lo:
                self.array[start:start + lo] = rows[:lo]
            if hi < end - start:
                self.array[start + hi:end] = rows[hi:end - start]
        finally:
            errors = [f.exception() for f in futures]  # every chunk finished before this write returns
        for error in errors:
            if error is not None:
                raise error

"""Compression and Zarr writes behind the model, so the model computes the next window while the last one is
written (issue 22). The float16 conversion, summaries and digests of each window are computed before, in
parts on ``prepare_threads`` threads (one per core in ``extract``), so that the one writer only writes; the
writer hands each window's whole chunks to a pool that compresses and stores them side by side
(``sergen.store.frame_chunks``) and returns once all are stored.

The store's guarantees are those of ``StoreWriter``, unchanged: this thread is the only one that writes
(one writer), it writes windows in the order they were handed over, and each window's status is set
after its frames. Each window's frames are written as they come, from the block they were prepared in:
windows waiting in the queue were once joined into one block, which cost the one writer a copy of every
frame they held (a serial pass that capped the feed on more cores, issue 22). The small per-utterance
arrays (digests, mean, std) and the status are written after the first window, then once every ``flush_s``
seconds and at the end (``StoreWriter.flush``): each is one chunk rewritten whole, and written per window
they cost as much CPU as the frames (issue 22). A kill at any moment leaves whole windows marked written
and nothing else, as a serial run would; windows whose frames were written but not yet marked are computed
again by the rerun. The queue is short (``depth`` windows), so memory stays bounded and a slow disk slows the
model down rather than filling the memory.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from sergen.store.half_cast import one_torch_thread_here
from sergen.store.heap import keep_freed_memory
from sergen.store.writer import Prepared, StoreWriter

_STOP = object()


def _parts(frames: list[np.ndarray], count: int) -> list[tuple[int, int]]:
    """Utterance ranges ``(a, b)`` of the window, at most ``count``, of about equal frames each."""
    if count <= 1 or len(frames) <= 1:
        return [(0, len(frames))]
    ends = np.cumsum([len(f) for f in frames])
    cuts = np.searchsorted(ends, ends[-1] * np.arange(1, count) / count, side="left") + 1
    bounds = sorted({0, *(int(c) for c in cuts if 0 < c < len(frames)), len(frames)})
    return list(zip(bounds[:-1], bounds[1:]))


class _Joined:
    """The prepared parts of one window, joined when the writer asks (``result``, as a ``Future``'s)."""

    def __init__(self, futures: list[Future], block: np.ndarray):
        self.futures, self.block = futures, block

    def result(self) -> Prepared:
        return Prepared.join([f.result() for f in self.futures], stored=self.block)

    def cancel(self) -> None:
        for f in self.futures:
            f.cancel()


class WriteBehind:
    """``put`` hands a window over: its float16 frames, summaries and digests are computed on
    ``prepare_threads`` threads (``StoreWriter.prepare``, which writes nothing), and the one writer thread
    writes the prepared windows in order. ``close`` waits for every window to be written. An error of either
    (a full disk) is raised in the caller's thread at its next ``put`` or ``close``."""

    def __init__(self, writer: StoreWriter, depth: int = 3, prepare_threads: int = 1, flush_s: float = 5.0):
        self.writer = writer
        self.flush_s = flush_s
        self._flushed = -math.inf  # the first window is marked at once: a store shows its progress early
        self._threads = max(1, prepare_threads)
        # torch kernels (the float16 cast, sergen.store.half_cast) on each prepare thread alone: one part per core
        self._prepare = ThreadPoolExecutor(self._threads, thread_name_prefix="sergen-store-prepare",
                                           initializer=one_torch_thread_here)
        self._queue: queue.Queue = queue.Queue(maxsize=depth + max(1, prepare_threads))
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sergen-store-writer", daemon=True)
        keep_freed_memory()  # windows reuse freed blocks' pages, not fresh ones: sergen.store.heap
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                if self._error is None:  # after a failure, the windows before it were marked then
                    self._flush()
                return
            if self._error is not None:  # after a failure, later windows are dropped: they stay pending
                continue
            first, prepared, codes, failures = item
            try:
                self.writer.write_frames(first, prepared.result(), codes)
                self.writer.hold_failures(failures)
                if time.monotonic() - self._flushed >= self.flush_s:
                    self._flush()
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                self._error = exc
                self._flush()  # the windows written before the failure are marked, if the store still takes it

    def _flush(self) -> None:
        """Mark the windows whose frames are written; an error is kept for the caller (the first one)."""
        try:
            self.writer.flush()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            self._error = self._error or exc
        self._flushed = time.monotonic()

    def _raise(self) -> None:
        if self._error is not None:
            self._stop()
            error, self._error = self._error, None
            raise error

    def put(self, first: int, frames: list[np.ndarray], codes: list[int], failures: dict[str, str]) -> None:
        """Queue one window (blocks while the queue is full); ``failures`` is copied as it is now."""
        self._raise()
        self._queue.put((first, self._prepared(first, list(frames)), list(codes), dict(failures)))

    def _prepared(self, first: int, frames: list[np.ndarray]) -> "Future | _Joined":
        """The window prepared in parts of about equal frames, one per prepare thread, cast into one block: a
        window is often a whole small corpus, and prepared on one thread it left the other cores idle while
        the model waited for it (issue 22). Each utterance is prepared alone either way: the same values."""
        parts = _parts(frames, self._threads)
        if len(parts) == 1:
            return self._prepare.submit(self.writer.prepare, first, frames)
        block = np.empty((sum(len(f) for f in frames), frames[0].shape[1]), self.writer.attrs["dtype"])
        futures, row = [], 0
        for a, b in parts:
            rows = sum(len(f) for f in frames[a:b])
            futures.append(self._prepare.submit(self.writer.prepare, first + a, frames[a:b], block[row:row + rows]))
            row += rows
        return _Joined(futures, block)

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        self._prepare.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        """Every queued window written (or the writer's error raised)."""
        self._stop()
        self._raise()

    def __enter__(self) -> "WriteBehind":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:  # the caller failed: let the windows already handed over land, then let its error through
            self._stop()

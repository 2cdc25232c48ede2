"""Several model copies in one extraction (issue 22, item 7): one per device of ``--device cuda:0,cuda:1``,
times ``--replicas N`` per device, each on its own thread, on one machine.

A window of utterances goes to whichever copy is free, and windows come back in order. The store's
guarantees are those of a single device: a window's frames are those of its utterances one at a time
(``embed_window``), this process's one writer writes windows in order, and status follows frames. So the
store equals a one-device store value for value, and a ``kill -9`` leaves whole windows marked written.
Threads, not processes: a model's forward pass releases the GIL (CUDA kernels, torch's CPU kernels), and the
frames need not cross a process boundary.

Across machines, the Dask path (``--scheduler``) does the same with one model per Dask worker; start one
worker per GPU (``dask-cuda``'s ``LocalCUDACluster`` pins each to its own). ``--device`` lists and
``--replicas`` are for one machine and are refused with ``--scheduler``. Their checks, before anything is
loaded or written, are ``sergen.preflight.device_slots``.
"""

from __future__ import annotations

import queue
from concurrent.futures import Future, ThreadPoolExecutor

from sergen.extract_window import embed_window

class DeviceCopies:
    """Embeds windows on whichever model copy is free, one thread per copy. ``submit`` returns a future of
    ``embed_window``'s result; the decode futures it is given are waited for on the copy's thread, so the
    caller keeps several windows in flight without waiting."""

    def __init__(self, extractors: list):
        self._free: queue.Queue = queue.Queue()
        for extractor in extractors:
            self._free.put(extractor)
        self._pool = ThreadPoolExecutor(len(extractors), thread_name_prefix="sergen-device")
        self.count = len(extractors)

    def _run(self, rows, decode_futures: list[Future], batch_seconds: float):
        decoded = [d for f in decode_futures for d in f.result()]
        extractor = self._free.get()  # never waits: as many threads as copies
        try:
            return embed_window(extractor, rows, decoded, batch_seconds)
        finally:
            self._free.put(extractor)

    def submit(self, rows, decode_futures: list[Future], batch_seconds: float) -> Future:
        return self._pool.submit(self._run, rows, decode_futures, batch_seconds)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

"""Thread counts of the numeric libraries while extracting (issue 22).

Extraction already runs decode threads beside the model. A signal-processing extractor (melspec, egemaps)
computes small per-utterance transforms: an OpenBLAS or OpenMP pool per call only fights the decode threads
for the cores (a plain loop took 36 s unpinned against 5 s pinned on 2 cores). So those run with BLAS and
OpenMP pinned to one thread. A torch extractor on the CPU does big matrix products worth parallelising:
torch gets the cores this process may run on (not more, as it would under a CPU mask or a job scheduler's
share). Everything is restored on leaving, so the caller's settings survive extraction.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Iterator



def available_cores() -> int:
    """The cores this process may run on (its affinity mask where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


_ONE_THREAD = threading.Lock()
_controller = None
_pinned = 0  # blocks of ``pinned_blas`` open now: BLAS already runs one thread, process-wide


@contextlib.contextmanager
def pinned_blas() -> Iterator[None]:
    """BLAS and OpenMP on one thread for the whole block, process-wide. Inside, ``one_blas_thread`` has
    nothing left to do and returns at once: it no longer takes its lock per call, which made an extraction's
    worker threads take turns at melspec's filterbank product (and cost a threadpoolctl call per utterance)."""
    global _pinned
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        with _ONE_THREAD:
            _pinned += 1
        try:
            yield
        finally:
            with _ONE_THREAD:
                _pinned -= 1


def pin_for_good() -> None:
    """``pinned_blas`` for the rest of this process's life: a worker process made for extraction only."""
    pinned_blas().__enter__()


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """numpy's BLAS on one thread for the block, whatever the caller set: OpenBLAS sums a product in another
    order with two threads than with one (melspec's frames differed in the last bit), so a result that must
    not depend on the machine's cores is computed inside. Costs ~15 µs; blocks run one at a time, as the
    thread count is the whole process's."""
    global _controller
    from threadpoolctl import ThreadpoolController

    if _pinned:  # read without the lock: only a pinned block's own thread turns it off, after its work
        yield
        return
    with _ONE_THREAD:
        if _controller is None:  # found once (a millisecond): numpy's BLAS is loaded with numpy
            _controller = ThreadpoolController().select(user_api="blas")
        with _controller.limit(limits=1):
            yield


@contextlib.contextmanager
def blas_threads(extractor) -> Iterator[None]:
    """Thread counts suited to ``extractor`` (class or instance) for the duration of the block."""
    if not getattr(extractor, "uses_torch", True):  # an extractor class or instance
        with pinned_blas():
            yield
        return
    if str(getattr(extractor, "device", "cpu")).startswith("cuda"):
        yield  # the GPU computes; torch's CPU threads only launch kernels
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, min(before, available_cores())))
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def one_numeric_thread() -> Iterator[None]:
    """BLAS and OpenMP on one thread for a probe run (issue 26). Its numbers must not depend on the machine's
    cores (a logistic regression fitted on two OpenBLAS threads differs in the last bits from one fitted on
    one), and the grid already keeps every core busy with one run per worker: a second BLAS thread per
    worker only spins against the other worker (the corpus-ID regression took 1.6 CPU-s instead of 0.04 on
    a loaded 2-core machine). Restored on leaving."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield

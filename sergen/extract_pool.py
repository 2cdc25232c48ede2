"""The CPU side of a local extraction, sized to the cores this process may use (issue 22).

``workers`` (default: one per core of ``os.sched_getaffinity``) run beside the model, in one of two modes:

* ``threads`` (the default): a thread pool. For a signal-processing extractor (no torch, one utterance a
  call: melspec, egemaps) a worker thread decodes, resamples, applies the view *and* computes the features
  of a whole window, since those are the model. For any other extractor workers decode, resample and apply
  views, and the model runs in the main thread. Threads, because what costs (soundfile, soxr, the FFT, the
  filterbank product, opensmile) releases the GIL: on 2 cores two threads did decode + resample + log-Mel
  2.0-2.4× faster than serial, two warm processes 1.1-2.4×, and a cold process pool costs seconds to start
  (``bench/decode_modes.py``, written into ``bench/feed_ceiling.md``).
* ``processes``: the same work on worker processes, for a stage that holds the GIL (a Python-heavy view
  or front end). Their pool outlives one ``extract`` call (``--corpus all`` starts it once); its workers are
  forked from a clean server process (``forkserver``), so they never inherit the store's lock, and they
  exit when the extraction dies.

Results come back in window order; what is computed does not depend on the mode or the worker count, as
a window's frames are those of its utterances one at a time (``embed_window``).
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing as mp
import os
import sys
import threading
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import pandas as pd

from sergen.augment import View
from sergen.errors import SergenError
from sergen.extract_devices import DeviceCopies
from sergen.extract_window import decode_row, embed_window
from sergen.extractors.base import Extractor
from sergen.threads import available_cores, pin_for_good, pinned_blas

MODES = ("auto", "processes", "threads")


def resolve_workers(workers: int | None, mode: str) -> tuple[int, str]:
    """(worker count, mode): ``None`` workers means one per available core; ``auto`` is threads, the faster
    on the measured machine (see the module docstring)."""
    if mode not in MODES:
        raise SergenError(f"unknown worker mode {mode!r}; known: {', '.join(MODES)}",
                          fix="leave it out (auto: threads, measured the faster) or name one of those")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise SergenError(f"workers must be a whole number of at least 1, got {workers!r}",
                          fix=f"leave it out for one worker per available core ({available_cores()} here)")
    count = workers or available_cores()
    return count, "threads" if mode == "auto" else mode


def embeds_in_workers(extractor: Extractor) -> bool:
    """Whether workers compute the features too: a signal-processing extractor, one utterance a call (so a
    window's frames do not depend on how it is split), that a worker can rebuild from its name."""
    return not extractor.uses_torch and type(extractor).embed is Extractor.embed


# -- worker processes ---------------------------------------------------------------------------------
_EXTRACTORS: dict = {}


class _Rate:
    """What ``decode_row`` needs of an extractor when the worker only decodes."""

    def __init__(self, sample_rate: int):
        self.sample_rate = sample_rate


def _init_worker() -> None:
    # one core per worker: a BLAS or OpenMP pool in each would fight the others for the same cores
    pin_for_good()
    parent = mp.parent_process()
    if parent is not None:  # a kill -9 of the extraction must not leave its workers running
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()


def _exit_with(sentinel: int) -> None:
    from multiprocessing.connection import wait

    wait([sentinel])
    os._exit(0)


def _worker_extractor(spec: tuple):
    if spec not in _EXTRACTORS:
        from sergen.extractors import get_extractor

        model, device, weights, options = spec
        _EXTRACTORS[spec] = get_extractor(model, device=device, weights=weights, **dict(options)).load()
    return _EXTRACTORS[spec]


def _view(name: str | None) -> View | None:
    from sergen.augment import VIEWS

    return VIEWS.get(name)() if name else None


def _embed_job(spec, plan: pd.DataFrame, root: Path, view: str | None, view_seed: int, batch_seconds: float):
    extractor = _worker_extractor(spec)
    augment = _view(view)
    rows = list(plan.itertuples(index=False))
    decoded = [decode_row(root, row, extractor, augment, view_seed) for row in rows]
    return embed_window(extractor, rows, decoded, batch_seconds)


def _decode_job(sample_rate: int, plan: pd.DataFrame, root: Path, view: str | None, view_seed: int):
    augment = _view(view)
    rate = _Rate(sample_rate)
    return [decode_row(root, row, rate, augment, view_seed) for row in plan.itertuples(index=False)]


_POOL: tuple[int, ProcessPoolExecutor] | None = None


def _ready() -> None:
    """A no-op job: submitted once per worker, it starts the workers while this process plans the store."""


def process_pool(workers: int, preload: tuple[str, ...] = ()) -> ProcessPoolExecutor:
    """The shared pool of ``workers`` processes (a new one if the count changed or a worker died), its
    workers started. ``preload``: modules the fork server imports once for all its workers (an extractor's
    module), on its first start only."""
    global _POOL
    if _POOL is not None and (_POOL[0] != workers or getattr(_POOL[1], "_broken", False)):
        _POOL[1].shutdown(wait=True, cancel_futures=True)
        _POOL = None
    if _POOL is None:
        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        ctx = mp.get_context(method)
        if method == "forkserver":
            ctx.set_forkserver_preload(["sergen.extract_pool", *preload])
        with _without_main_script():
            _POOL = (workers, ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker))
            for _ in range(workers):  # each submit starts one worker, here and nowhere else
                _POOL[1].submit(_ready)
    return _POOL[1]


@contextlib.contextmanager
def _without_main_script() -> Iterator[None]:
    """Workers started without the caller's script. multiprocessing re-imports the ``__main__`` script in
    every worker (for functions defined there); ours run only sergen's functions, and a script that calls
    ``extract`` without an ``if __name__ == "__main__"`` guard would extract again in each worker."""
    main = sys.modules["__main__"]
    saved = {k: getattr(main, k) for k in ("__file__", "__spec__") if hasattr(main, k)}
    for key in saved:
        setattr(main, key, None) if key == "__spec__" else delattr(main, key)
    try:
        yield
    finally:
        for key, value in saved.items():
            setattr(main, key, value)


def start_workers(extractor: Extractor, workers: int, mode: str) -> None:
    """Start the pool early, so the workers' start overlaps the store's planning and audio digests."""
    if mode == "processes":
        process_pool(workers, (type(extractor).__module__,) if embeds_in_workers(extractor) else ())


# -- this process ------------------------------------------------------------------------------------
def _split(first: int, last: int, parts: int) -> list[tuple[int, int]]:
    size = math.ceil((last - first) / parts)
    return [(a, min(a + size, last)) for a in range(first, last, size)]


def _thread_embed_job(spec, rows: list, root: Path, augment: View | None, view_seed: int, batch_seconds: float):
    """A whole window on a worker thread, with that thread's own extractor (an opensmile ``Smile`` is not
    safe to share between threads). ``rows``: the window's plan rows, made once by the caller (a thread
    needs no pickled ``DataFrame`` to rebuild them from)."""
    cache = _THREAD.__dict__.setdefault("extractors", {})
    if spec not in cache:
        from sergen.extractors import get_extractor

        model, device, weights, options = spec
        cache[spec] = get_extractor(model, device=device, weights=weights, **dict(options)).load()
    decoded = [decode_row(root, row, cache[spec], augment, view_seed) for row in rows]
    return embed_window(cache[spec], rows, decoded, batch_seconds)


_THREAD = threading.local()


def _submitter(pool: Executor, mode: str, plan: pd.DataFrame, root: Path, extractor: Extractor,
               augment: View | None, view_seed: int, batch_seconds: float, workers: int, spec: tuple, rows: list):
    """A function (first, last) → futures of that window's work, by mode and by what the workers compute."""
    view = augment.name if augment else None
    whole = embeds_in_workers(extractor)
    if mode == "threads" and whole:
        return lambda a, b: [pool.submit(_thread_embed_job, spec, rows[a:b], root, augment, view_seed, batch_seconds)]
    if mode == "threads":
        return lambda a, b: [pool.submit(_decode_job, extractor.sample_rate, plan.iloc[s:e], root, view, view_seed)
                             for s, e in _split(a, b, workers)]
    if whole:
        return lambda a, b: [pool.submit(_embed_job, spec, plan.iloc[a:b], root, view, view_seed, batch_seconds)]
    return lambda a, b: [pool.submit(_decode_job, extractor.sample_rate, plan.iloc[s:e], root, view, view_seed)
                         for s, e in _split(a, b, workers)]


def local_windows(windows: list[tuple[int, int]], plan: pd.DataFrame, root: Path, extractor: Extractor,
                  augment: View | None, view_seed: int, batch_seconds: float, workers: int, mode: str,
                  model_spec: tuple, copies: list[Extractor], rows: list) -> Iterator[tuple]:
    """``(first, last, frames, codes, errors)`` of each window, in order, with the next windows' work under
    way. ``model_spec`` (name, device, weights, options as sorted pairs) rebuilds the extractor in a
    worker. ``copies``: model copies (one per device and replica; ``sergen.extract_devices``) that embed
    windows side by side, for a model that runs in this process. ``rows``: the plan's rows, made once by the
    caller (``extract`` reads them too)."""
    whole = embeds_in_workers(extractor)
    pinned = contextlib.ExitStack()
    if mode == "threads" and whole:
        # BLAS's thread count is the process's: with it at 2, log-Mel frames computed on two worker threads
        # differed in the last bit from frames computed alone, one_blas_thread notwithstanding. One thread
        # for the whole extraction, as ``blas_threads`` sets it anyway for signal processing
        pinned.enter_context(pinned_blas())
    pool: Executor = ThreadPoolExecutor(workers) if mode == "threads" else process_pool(workers)
    submit = _submitter(pool, mode, plan, root, extractor, augment, view_seed, batch_seconds, workers, model_spec,
                        rows)
    devices = DeviceCopies(copies) if not whole and copies and len(copies) > 1 else None
    if devices is not None:  # each window decoded, then embedded on whichever copy is free
        decode = submit
        submit = lambda a, b: [devices.submit(rows[a:b], decode(a, b), batch_seconds)]  # noqa: E731
    ahead = 2 * (workers if whole else devices.count if devices else 1)  # one per worker or copy, as many queued
    pending: list[list[Future]] = [submit(a, b) for a, b in windows[:ahead]]
    try:
        for w, (first, last) in enumerate(windows):
            futures = pending.pop(0)
            if w + ahead < len(windows):
                pending.append(submit(*windows[w + ahead]))
            if whole or devices is not None:
                yield (first, last, *futures[0].result())
            else:
                decoded = [d for f in futures for d in f.result()]
                yield (first, last, *embed_window(extractor, rows[first:last], decoded, batch_seconds))
    finally:
        for f in (f for fs in pending for f in fs):
            f.cancel()
        if devices is not None:
            devices.close()
        if mode == "threads":
            pool.shutdown(wait=True, cancel_futures=True)
        pinned.close()

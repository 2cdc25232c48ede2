"""The CPU side of a local extraction, sized to the cores this process may use (issue 22).

Two ways to run it, by what binds:

* ``processes`` (the default with two cores or more): a pool of worker processes, one per core. For a
  signal-processing extractor (no torch, one utterance a call: melspec, egemaps) a worker decodes, resamples,
  applies the view *and* computes the features of a whole window, since those are the model. For any other
  extractor workers decode, resample and apply views, and the model runs in this process's main thread.
  Processes, because the log-Mel's and the views' many small numpy calls hold the GIL: on 2 cores threads
  gave no second core (``bench/decode_modes.py``).
* ``threads``: today's thread pool for decoding, the model in the main thread. Used on one core (a process
  would only add copies) and available to compare.

The pool outlives one ``extract`` call (``--corpus all`` starts it once) and its workers are forked from a
clean server process (``forkserver``), so they never inherit the store's lock or this process's threads.
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
from sergen.extract_window import decode_row, embed_window
from sergen.extractors.base import Extractor
from sergen.threads import available_cores

MODES = ("auto", "processes", "threads")


def resolve_workers(workers: int | None, mode: str) -> tuple[int, str]:
    """(worker count, mode): ``None`` workers means one per available core; ``auto`` picks processes when
    there are two cores or more."""
    if mode not in MODES:
        raise SergenError(f"unknown worker mode {mode!r}; known: {', '.join(MODES)}",
                          fix="leave it out (auto: processes on two cores or more) or name one of those")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise SergenError(f"workers must be a whole number of at least 1, got {workers!r}",
                          fix=f"leave it out for one worker per available core ({available_cores()} here)")
    count = workers or available_cores()
    if mode == "auto":
        mode = "processes" if count >= 2 else "threads"
    return count, mode


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
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
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


def local_windows(windows: list[tuple[int, int]], plan: pd.DataFrame, root: Path, extractor: Extractor,
                  augment: View | None, view_seed: int, batch_seconds: float, workers: int, mode: str,
                  model_spec: tuple) -> Iterator[tuple]:
    """``(first, last, frames, codes, errors)`` of each window, in order, two windows' work ahead of the
    caller. ``model_spec`` (name, device, weights, options as sorted pairs) rebuilds the extractor in a
    worker process."""
    rows = list(plan.itertuples(index=False))
    view = augment.name if augment else None
    if mode == "threads":
        pool: Executor = ThreadPoolExecutor(workers)
        decode = lambda a, b: [pool.submit(decode_row, root, row, extractor, augment, view_seed)  # noqa: E731
                               for row in rows[a:b]]
    else:
        pool = process_pool(workers)
        if embeds_in_workers(extractor):
            decode = lambda a, b: [pool.submit(_embed_job, model_spec, plan.iloc[a:b], root, view,  # noqa: E731
                                               view_seed, batch_seconds)]
        else:
            decode = lambda a, b: [pool.submit(_decode_job, extractor.sample_rate, plan.iloc[s:e], root, view,  # noqa: E731
                                               view_seed) for s, e in _split(a, b, workers)]
    ahead = 2 * workers if mode == "processes" and embeds_in_workers(extractor) else 2
    pending: list[list[Future]] = [decode(a, b) for a, b in windows[:ahead]]
    try:
        for w, (first, last) in enumerate(windows):
            futures = pending.pop(0)
            if w + ahead < len(windows):
                pending.append(decode(*windows[w + ahead]))
            if mode == "processes" and embeds_in_workers(extractor):
                yield (first, last, *futures[0].result())
            else:
                decoded = [d for f in futures for d in (f.result() if mode == "processes" else [f.result()])]
                yield (first, last, *embed_window(extractor, rows[first:last], decoded, batch_seconds))
    finally:
        for f in (f for fs in pending for f in fs):
            f.cancel()
        if mode == "threads":
            pool.shutdown(wait=True, cancel_futures=True)

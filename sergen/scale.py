"""Scale-out on Dask: extraction windows and grid runs as Dask tasks, on a local cluster
(``local`` or ``local:N``) or any scheduler address (``tcp://host:8786`` — dask-jobqueue on SLURM,
Kubernetes, …).

Extraction: each worker builds its extractor once (on its own GPU where there are several), decodes and
embeds whole windows of utterances and sends the frames back; the calling process remains the store's
only writer, so parallel workers can never corrupt a store, resumption works exactly as in a serial
run, and the result equals a serial extraction value for value (same windows, same batches). The
price is that frames travel to the writer: fine on a cluster's network for embeddings, which are far
smaller than the audio they come from.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from typing import Iterator

from sergen.errors import SergenError

_WORKER_EXTRACTORS: dict = {}


SCHEDULER_FORMS = "local, local:N (N workers), or a Dask scheduler address such as tcp://HOST:8786"
ADDRESS_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss")


def local_workers(scheduler: str) -> int | None:
    """Worker count of ``local``/``local:N``; None for a scheduler address. Malformed forms are refused."""
    if scheduler != "local" and not scheduler.startswith("local:"):
        return None
    if scheduler == "local":
        return os.cpu_count() or 1
    text = scheduler.split(":", 1)[1]
    if not text.isdigit() or int(text) < 1:
        raise SergenError(f"--scheduler {scheduler!r}: the worker count after 'local:' must be a whole number ≥ 1",
                          fix=f"use {SCHEDULER_FORMS}")
    return int(text)


def scheduler_address(scheduler: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a scheduler address, refused with the accepted forms when malformed."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(scheduler)
        host, port = parse_host_port(location)
    except (ValueError, TypeError) as exc:
        raise SergenError(f"--scheduler {scheduler!r} is not a scheduler address ({exc})",
                          fix=f"use {SCHEDULER_FORMS}") from None
    if scheme not in ADDRESS_SCHEMES or not host or not port:
        raise SergenError(f"--scheduler {scheduler!r} is not a scheduler address",
                          fix=f"use {SCHEDULER_FORMS}")
    return scheme, host, int(port)


def check_scheduler(scheduler: str, reach: bool = True) -> None:
    """Refuse a malformed or (``reach``) unreachable scheduler before any work starts, so a typo never
    costs a store or a run."""
    if local_workers(scheduler) is not None:
        return
    scheme, host, port = scheduler_address(scheduler)
    if not reach or scheme not in ("tcp", "tls"):
        return
    import socket

    try:
        socket.create_connection((host, port), timeout=10).close()
    except OSError as exc:
        raise SergenError(f"cannot reach the Dask scheduler {scheduler!r} ({exc.strerror or exc})",
                          fix="start it (`dask scheduler`, or dask-jobqueue on a cluster) or use --scheduler local") from None


@contextlib.contextmanager
def connect(scheduler: str):
    """A Dask client for ``local``, ``local:N`` or a scheduler address; closed (with its cluster) after."""
    from dask.distributed import Client, LocalCluster

    n = local_workers(scheduler)
    if n is not None:
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            with Client(cluster) as client:
                yield client
        return
    scheduler_address(scheduler)
    try:
        client = Client(scheduler, timeout="20s")
    except OSError as exc:
        raise SergenError(f"cannot reach the Dask scheduler {scheduler!r} ({exc})",
                          fix="start it (`dask scheduler`, or dask-jobqueue on a cluster) or use --scheduler local") from None
    with client:
        yield client


def host_ranks(addresses) -> dict[str, int]:
    """Each worker's rank among the workers of its host (by address): worker k of a host takes that host's
    GPU k mod n, so two workers share a GPU only where a host runs more workers than it has GPUs (a hash of
    the address, used before, could put two workers on one GPU and leave another idle)."""
    by_host: dict[str, list[str]] = {}
    for address in sorted(addresses):
        by_host.setdefault(address.rsplit(":", 1)[0], []).append(address)
    return {address: rank for peers in by_host.values() for rank, address in enumerate(peers)}


def worker_gpu(rank: int, n_gpus: int) -> str:
    return f"cuda:{rank % max(n_gpus, 1)}"


def _worker_device(device: str | None, model: str, ranks: dict[str, int] | None = None) -> str:
    from sergen.extractors import model_uses_torch

    if device:
        return device
    if not model_uses_torch(model):  # signal processing: the CPU, without importing torch on the worker
        return "cpu"
    import torch

    if not torch.cuda.is_available():
        return "cpu"
    from dask.distributed import get_worker

    return worker_gpu((ranks or {}).get(get_worker().address, 0), torch.cuda.device_count())


def _worker_extractor(model: str, device, weights, options: dict | None, ranks: dict[str, int] | None = None):
    from sergen.extractors import get_extractor

    key = (model, device, str(weights), json.dumps(options or {}, sort_keys=True, default=str))
    if key not in _WORKER_EXTRACTORS:  # the model is loaded once per worker process
        _WORKER_EXTRACTORS[key] = get_extractor(model, device=_worker_device(device, model, ranks), weights=weights,
                                                **(options or {})).load()
    return _WORKER_EXTRACTORS[key]


def _window_task(first, last, rows, root, model, device, weights, options, view, view_seed, batch_seconds,
                 ranks=None):
    from sergen.augment import VIEWS
    from sergen.extract_window import decode_row, embed_window

    extractor = _worker_extractor(model, device, weights, options, ranks)
    augment = VIEWS.get(view)() if view else None
    rows = list(rows.itertuples(index=False))
    decoded = [decode_row(root, row, extractor, augment, view_seed) for row in rows]
    return (first, last, *embed_window(extractor, rows, decoded, batch_seconds))


def dask_windows(scheduler: str, windows, plan, root, model, device, weights, options, augment, view_seed,
                 batch_seconds) -> Iterator[tuple]:
    """Results of the windows, in completion order, with a bounded number in flight."""
    from dask.distributed import as_completed

    with connect(scheduler) as client:
        workers = client.scheduler_info()["workers"]
        n_workers = max(1, len(workers))
        ranks = host_ranks(workers)  # which of its host's GPUs each worker takes (``_worker_device``)
        todo = iter(windows)
        view = augment.name if augment else None

        def submit(window):
            first, last = window
            return client.submit(_window_task, first, last, plan.iloc[first:last], root, model, device, weights,
                                 options, view, view_seed, batch_seconds, ranks, pure=False)

        queue = as_completed([submit(w) for w in itertools.islice(todo, 2 * n_workers)])
        for future in queue:
            result = future.result()
            future.release()
            nxt = next(todo, None)
            if nxt is not None:
                queue.add(submit(nxt))
            yield result


def dask_map(scheduler: str, fn, items: list, on_done=None) -> list:
    """``fn`` over ``items`` as Dask tasks; ``on_done`` is called as each finishes."""
    from dask.distributed import as_completed

    with connect(scheduler) as client:
        futures = [client.submit(fn, item, pure=False) for item in items]
        out = []
        for future in as_completed(futures):
            out.append(future.result())
            if on_done:
                on_done()
        return out

"""Does a second core add memory bandwidth on this machine? (issue 22's feed ceiling, ``bench/feed_ceiling.py``)

Why: the feed moves each frame through several passes over memory (the model's float32 output, its float16
copy, bitshuffle, compression, the page cache's copy): about a megabyte per audio second for WavLM-Large's
shape, each pass. Where the cores share a memory bandwidth that one core nearly fills, a second core cannot
speed those passes up, whatever parallel work the pipeline offers, and the 1 → 2 core scaling measured here
says more about the machine than about the pipeline. Two measurements tell it:

1. ``throughput``: a memory-bound job (copying 64 MiB blocks, far larger than any cache) and a compute-bound
   job (``sin`` of a 32 KiB block, in the core's own cache), one process per core on 1 and on 2 cores at once;
2. ``Hog``: the same jobs as a neighbour on another core while the feed runs on one (``feed_ceiling`` section
   3d): the feed slowed by a copying neighbour, and not by a computing one, is bound by the shared memory.

Processes, not threads: no GIL between the jobs, each pinned to its core.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time

import numpy as np

KINDS = {"copy": "copying 64 MiB blocks (memory-bound), GB/s copied",
         "compute": "sin of a 32 KiB block in cache (compute-bound), million elements per s"}


def _job(kind: str) -> tuple[callable, float]:
    """One step of ``kind`` and the units it does per step (GB copied, million elements)."""
    if kind == "copy":
        src = np.ones(16 << 20, np.float32)
        dst = np.zeros_like(src)  # pages touched before timing
        return (lambda: np.copyto(dst, src)), src.nbytes / 1e9
    if kind == "compute":
        block = np.random.default_rng(0).random(4096)
        return (lambda: np.sin(block, out=block)), block.size / 1e6
    raise ValueError(f"unknown job {kind!r}: one of {', '.join(KINDS)}")


def _run(kind: str, core: int, seconds: float, start, results) -> None:
    os.sched_setaffinity(0, {core})
    step, units = _job(kind)
    step()
    start.wait()
    done, began = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - began) < seconds:
        step()
        done += 1
    results.put(done * units / elapsed)


def throughput(kind: str, cores: list[int], seconds: float = 2.0) -> float:
    """``kind``'s units per second summed over one process on each of ``cores``, all running at once."""
    ctx = mp.get_context("fork")
    start, results = ctx.Barrier(len(cores)), ctx.Queue()
    procs = [ctx.Process(target=_run, args=(kind, core, seconds, start, results)) for core in cores]
    for p in procs:
        p.start()
    total = sum(results.get() for _ in procs)
    for p in procs:
        p.join()
    return total


def scaling(repeats: int = 3, seconds: float = 2.0) -> dict[str, dict[int, float]]:
    """For each job kind: its best throughput on 1 core and on 2 cores at once (the first two cores this process
    may use), best of ``repeats``, alternating."""
    cores = sorted(os.sched_getaffinity(0))[:2]
    best: dict[str, dict[int, float]] = {kind: {} for kind in KINDS}
    for _ in range(repeats):
        for kind in KINDS:
            for n in (1, 2)[: len(cores)]:
                got = throughput(kind, cores[:n], seconds)
                best[kind][n] = max(best[kind].get(n, 0.0), got)
    return best


def scaling_lines(best: dict[str, dict[int, float]]) -> list[str]:
    """The table of ``scaling``'s figures, with each job's 1 → 2 core speed-up."""
    lines = ["| job | 1 core | 2 cores at once | scaling |", "|---|---:|---:|---:|"]
    for kind, got in best.items():
        if 1 in got and 2 in got:
            lines.append(f"| {KINDS[kind]} | {got[1]:,.2f} | {got[2]:,.2f} | {got[2] / got[1]:.2f}× |")
    return lines


class Hog:
    """A ``kind`` job on ``core`` for the time of the block: a neighbour for a measurement on another core."""

    def __init__(self, kind: str, core: int):
        _job(kind)  # an unknown kind refused here, not in the child
        self.kind, self.core = kind, core
        self._proc = None

    def __enter__(self) -> "Hog":
        ctx = mp.get_context("fork")
        start, results = ctx.Barrier(2), ctx.Queue()
        self._proc = ctx.Process(target=_run, args=(self.kind, self.core, 1e9, start, results), daemon=True)
        self._proc.start()
        start.wait()  # the neighbour's memory is touched and its loop running before the block starts
        return self

    def __exit__(self, *exc) -> None:
        self._proc.kill()
        self._proc.join()


if __name__ == "__main__":
    print("\n".join(scaling_lines(scaling())))

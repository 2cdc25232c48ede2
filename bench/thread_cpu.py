"""CPU seconds of each of this process's threads, grouped by role (issue 22's feed ceiling).

Why: on a shared machine the wall clock follows the other users' load, but a thread's own CPU seconds do
not. The busiest thread that cannot be split (the model's, the writer's, Zarr's event loop) bounds the
audio seconds per second whatever the cores; the rest bounds it only through the cores' number. Linux
only (``/proc/self/task/*/schedstat``: nanoseconds run, nanoseconds waited for a core). Threads are
sampled every ``period_s`` by a thread of this class (its own CPU is left out): a thread that ends keeps
the figures of its last sample, so up to ``period_s`` of its CPU may be missed.

Each sample also counts the threads that are runnable (state R: on a core, or ready and waiting for one):
``runnable_shares`` gives the share of samples with 0, 1, 2 … runnable. Why: a thread that is ready counts
whether or not the machine's other load lets it run, so the count shows how much parallel work the
pipeline offers, which the wall clock on a shared machine does not (a time with one runnable thread is
serial however many cores there are).
"""

from __future__ import annotations

import os
import re
import threading
import time

ROLES = (  # (role, thread-name pattern), first match wins
    ("model and batching (main thread)", r"^MainThread$"),
    ("decode, resample (workers)", r"^ThreadPoolExecutor-"),
    ("float16, mean, std, digests (prepare)", r"^sergen-store-prepare"),
    ("whole chunks: compress + store", r"^sergen-store-chunks"),
    ("store writer (one thread)", r"^sergen-store-writer"),
    ("Zarr event loop (one thread)", r"^zarr_io$"),
    ("Zarr's threads: file writes, partial chunks, small arrays", r"^asyncio_"),
    ("audio digests (SHA-256 of each file)", r"^sergen-audio-digest"),
)
SERIAL = ("model and batching (main thread)", "store writer (one thread)", "Zarr event loop (one thread)")


def role(name: str) -> str:
    return next((r for r, pattern in ROLES if re.match(pattern, name)), "other")


class ThreadCPU:
    """``with ThreadCPU() as t: …``; then ``t.by_role()``: {role: (cpu_s, runqueue_wait_s, threads)} and
    ``t.busiest()``: the most CPU one thread of a serial role used."""

    def __init__(self, period_s: float = 0.02):
        self.period_s = period_s
        self.runnable: list[int] = []  # per sample: how many threads were runnable
        self.alone: dict[str, int] = {}  # samples with one runnable thread, by that thread's role
        self._start: dict[int, tuple[int, int]] = {}
        self._last: dict[int, tuple[str, int, int]] = {}
        self._stop = threading.Event()
        self.own_cpu_s = 0.0
        self._thread = threading.Thread(target=self._sample_until_stopped, name="thread-cpu-monitor", daemon=True)

    def _sample(self, first: bool = False) -> None:
        names = {t.native_id: t.name for t in threading.enumerate()}
        runnable, ready = 0, ""
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/schedstat") as f:
                    run, wait = (int(v) for v in f.read().split()[:2])
                with open(f"/proc/self/task/{tid}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):  # ended since the listing
                continue
            name = names.get(int(tid), "other")
            if name == self._thread.name:
                continue
            runnable += state == "R"
            ready = name if state == "R" else ready
            self._start.setdefault(int(tid), (run, wait) if first else (0, 0))
            self._last[int(tid)] = (name, run, wait)
        if not first:
            self.runnable.append(runnable)
            if runnable == 1:
                self.alone[role(ready)] = self.alone.get(role(ready), 0) + 1

    def _sample_until_stopped(self) -> None:
        while not self._stop.wait(self.period_s):
            self._sample()
        self.own_cpu_s = time.thread_time()  # the sampling's cost, to leave out of the process's CPU

    def __enter__(self) -> "ThreadCPU":
        self._sample(first=True)  # threads alive now count from here, those started later from their start
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def per_thread(self) -> list[tuple[str, float, float]]:
        """(name, cpu_s, runqueue_wait_s) of each thread seen, over the block."""
        return [(name, (run - self._start[tid][0]) / 1e9, (wait - self._start[tid][1]) / 1e9)
                for tid, (name, run, wait) in self._last.items()]

    def by_role(self) -> dict[str, tuple[float, float, int]]:
        out: dict[str, list] = {}
        for name, cpu, wait in self.per_thread():
            got = out.setdefault(role(name), [0.0, 0.0, 0])
            got[0] += cpu
            got[1] += wait
            got[2] += int(cpu > 0)
        return {r: tuple(v) for r, v in sorted(out.items(), key=lambda kv: -kv[1][0])}

    def runnable_shares(self, most: int = 3) -> list[float]:
        """Shares of the samples with 0, 1, … ``most - 1`` runnable threads, then ``most`` or more."""
        counts = [min(n, most) for n in self.runnable]
        return [counts.count(k) / max(1, len(counts)) for k in range(most + 1)]

    def alone_shares(self) -> dict[str, float]:
        """Per role, the share of all samples in which its thread was the only runnable one."""
        total = max(1, len(self.runnable))
        return {r: n / total for r, n in sorted(self.alone.items(), key=lambda kv: -kv[1])}

    def busiest(self) -> tuple[str, float]:
        """The serial role whose one thread used the most CPU, and that CPU (s)."""
        best = ("none", 0.0)
        for name, cpu, _ in self.per_thread():
            if role(name) in SERIAL and cpu > best[1]:
                best = (role(name), cpu)
        return best

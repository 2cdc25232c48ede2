"""``python bench/store_cpu.py``: where ``sergen extract --model melspec`` spends its CPU, by thread (issue 22).

The five demo corpora are extracted in this process (imports made, as ``bench/loop_baseline.py``'s in-process
part), ``--repeats`` times, each into a new stores folder. A sampler thread reads every thread's CPU time from
``/proc/self/task`` every few milliseconds and keeps the last reading of each, so a thread that ends loses at
most one interval. Threads are grouped by name (Zarr's event loop, its pool, sergen's workers, writer, …).
Linux only. Prints one table per run, with the load average beside it: the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
TICK = os.sysconf("SC_CLK_TCK")


def thread_cpu() -> dict[int, tuple[str, float]]:
    """tid → (name, CPU seconds) of this process's threads now."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            stat = Path(f"/proc/self/task/{tid}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(tid)] = (name, (int(fields[11]) + int(fields[12])) / TICK)
    return out


class Sampler(threading.Thread):
    def __init__(self, every_s: float = 0.005):
        super().__init__(name="bench-sampler", daemon=True)
        self.every_s, self.stop, self.seen = every_s, threading.Event(), {}

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            time.sleep(self.every_s)

    def sample(self) -> None:
        """CPU of each thread, named by Python's name for it (the OS name is the program's)."""
        names = {t.native_id: t.name for t in threading.enumerate()}
        for tid, (name, cpu) in thread_cpu().items():
            self.seen[tid] = (names.get(tid, self.seen.get(tid, (name,))[0]), cpu)

    def by_name(self, before: dict[int, tuple[str, float]]) -> dict[str, float]:
        self.sample()
        groups: dict[str, float] = defaultdict(float)
        for tid, (name, cpu) in self.seen.items():
            if name == "bench-sampler" or cpu - before.get(tid, (name, 0.0))[1] <= 0:
                continue
            groups[re.sub(r"[_-]?\d+( \(.*\))?$", "", name)] += cpu - before.get(tid, (name, 0.0))[1]
        return dict(groups)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=4.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--work", type=Path, help="a folder kept between calls (the demo audio is made once)")
    parser.add_argument("--model", default="melspec")
    args = parser.parse_args()
    import sys

    sys.path.insert(0, str(HERE))
    from loop_baseline import demo_files, sergen_in_process, uptime

    work = args.work or Path(tempfile.mkdtemp(prefix="sergen-store-cpu-"))
    work.mkdir(parents=True, exist_ok=True)
    made = work / "demo.json"
    if made.exists():
        ws, n_files, seconds = json.loads(made.read_text())
        ws = Path(ws)
    else:
        ws, files, seconds = demo_files(work, args.scale)
        n_files = len(files)
        made.write_text(json.dumps([str(ws), n_files, seconds]))
    print(f"{n_files} files, {seconds:,.0f} s of audio")
    for run in range(args.repeats):
        stores = Path(tempfile.mkdtemp(prefix="stores-", dir=work))
        sampler = Sampler()
        before = thread_cpu()
        sampler.start()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        wall = sergen_in_process(ws, args.model, stores)
        after = resource.getrusage(resource.RUSAGE_SELF)
        sampler.stop.set()
        sampler.join()
        groups = sampler.by_name(before)
        total = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
        print(f"run {run + 1}: wall {wall:.2f} s, CPU {total:.2f} s ({uptime()})")
        for name, cpu in sorted(groups.items(), key=lambda kv: -kv[1]):
            if cpu >= 0.01:
                print(f"  {name:<28} {cpu:6.2f}")


if __name__ == "__main__":
    main()

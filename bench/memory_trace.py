"""Memory of a process tree over time, split by kind (issue 26: where does the real-size grid's peak come from).

Why PSS split into anonymous and file-backed pages: RSS counts a page of a memory-mapped store bank in every
process that maps it, PSS counts it once in all; and the two kinds are different memory. Anonymous pages
(the interpreter, torch, utterance vectors, a head) cannot be dropped; file-backed mapped pages (the bank
files) are page cache: clean, shared, and given back to the kernel under pressure. ``/proc/PID/smaps_rollup``
gives both (``Pss_Anon``, ``Pss_File``); with ``banks`` the per-mapping ``/proc/PID/smaps`` adds each bank
file's share (slower: the kernel walks every mapped page, so it is sampled less often).

Run a command under it: ``python bench/memory_trace.py --out trace.csv -- sergen grid ...``.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from /proc, no psutil needed)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def rollup_kib(pid: int) -> dict[str, int]:
    """Pss, Pss_Anon, Pss_File, Pss_Shmem and Rss of one process, in KiB ({} when it is gone)."""
    out = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in ("Rss", "Pss", "Pss_Anon", "Pss_File", "Pss_Shmem"):
                    out[key] = int(rest.split()[0])
    except OSError:
        return {}
    return out


def mapped_files_kib(pid: int, suffix: str = ".npy") -> dict[str, int]:
    """PSS (KiB) of each mapped file whose name ends with ``suffix`` (the store-bank files)."""
    out: dict[str, int] = {}
    current = None
    try:
        with open(f"/proc/{pid}/smaps") as fh:
            for line in fh:
                first = line.split(maxsplit=6)
                if len(first) >= 5 and "-" in first[0] and not first[0].endswith(":"):
                    current = first[5].strip() if len(first) > 5 and first[5].strip().endswith(suffix) else None
                elif current and line.startswith("Pss:"):
                    out[Path(current).name] = out.get(Path(current).name, 0) + int(line.split()[1])
    except OSError:
        return {}
    return out


def role(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"
    return "worker" if "multiprocessing" in cmd else "grid"


@dataclass
class Sample:
    t: float
    pid: int
    role: str
    kib: dict[str, int]
    banks: dict[str, int] = field(default_factory=dict)


class MemoryTrace:
    """Samples the tree of ``pid`` every ``every_s`` seconds on a thread until ``stop()``; ``banks_every``:
    every how many samples the per-bank split is read too (0: never)."""

    def __init__(self, pid: int, every_s: float = 1.0, banks_every: int = 0):
        self.pid, self.every_s, self.banks_every = pid, every_s, banks_every
        self.samples: list[Sample] = []
        self.t0 = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        tick = 0
        while not self._stop.is_set():
            now = time.perf_counter() - self.t0
            with_banks = self.banks_every and tick % self.banks_every == 0
            for p in tree(self.pid):
                kib = rollup_kib(p)
                if kib:
                    self.samples.append(Sample(now, p, role(p), kib, mapped_files_kib(p) if with_banks else {}))
            tick += 1
            self._stop.wait(self.every_s)

    def stop(self) -> "MemoryTrace":
        self._stop.set()
        self._thread.join()
        return self

    def totals(self) -> list[tuple[float, dict[str, int]]]:
        """Per sampling time: the tree's summed KiB of each kind."""
        by_t: dict[float, dict[str, int]] = {}
        for s in self.samples:
            acc = by_t.setdefault(s.t, {})
            for k, v in s.kib.items():
                acc[k] = acc.get(k, 0) + v
        return sorted(by_t.items())

    def peak(self) -> dict[str, float]:
        """GiB: the peak total PSS with its anonymous and file-backed parts at that moment, the peak of
        anonymous PSS alone, and the peak RSS."""
        totals = self.totals() or [(0.0, {})]
        t, at = max(totals, key=lambda item: item[1].get("Pss", 0))
        gib = lambda kib: kib / 2**20  # noqa: E731
        return {"pss": gib(at.get("Pss", 0)), "anon": gib(at.get("Pss_Anon", 0)), "file": gib(at.get("Pss_File", 0)),
                "at_s": t, "anon_peak": gib(max(v.get("Pss_Anon", 0) for _, v in totals)),
                "rss": gib(max(v.get("Rss", 0) for _, v in totals))}

    def write_csv(self, path: Path) -> None:
        with open(path, "w", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(["t_s", "pid", "role", "pss_mib", "anon_mib", "file_mib", "rss_mib", "banks_mib"])
            for s in self.samples:
                banks = ";".join(f"{name}={kib / 1024:.0f}" for name, kib in sorted(s.banks.items()))
                out.writerow([f"{s.t:.1f}", s.pid, s.role, s.kib.get("Pss", 0) // 1024,
                              s.kib.get("Pss_Anon", 0) // 1024, s.kib.get("Pss_File", 0) // 1024,
                              s.kib.get("Rss", 0) // 1024, banks])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="CSV of every sample")
    parser.add_argument("--every", type=float, default=1.0, help="seconds between samples")
    parser.add_argument("--banks-every", type=int, default=2, help="per-bank split every N samples (0: never)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    proc = subprocess.Popen(command)
    trace = MemoryTrace(proc.pid, args.every, args.banks_every)
    code = proc.wait()
    trace.stop().write_csv(args.out)
    print({k: round(v, 2) for k, v in trace.peak().items()}, file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())

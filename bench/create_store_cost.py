"""``python bench/create_store_cost.py [--trees A B]``: what ``create_store`` costs one store (issue 22).

Lays out a store for a 1,000-utterance plan (300 frames each, 128-d, as melspec) ``--stores`` times into fresh
folders and prints wall and CPU seconds per store (median and best). With ``--trees``, each tree (a sergen
checkout: before and after a change) is timed in its own process, alternating, ``--rounds`` times, so both
see the same load; ``--strace`` also counts the ``mkdir``/``openat``/``rename`` calls of one creation. Linux only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

META = {"label": "neu", "native_label": "neutral", "speaker": "s01", "gender": "F", "split": "train",
        "view": "clean", "duration_s": 3.0}


def plan_of(n_utt: int):
    import pandas as pd

    return pd.DataFrame({"utt_id": [f"u{i:05d}" for i in range(n_utt)], "path": [f"wav/{i:05d}.wav" for i in range(n_utt)],
                         "n_frames": 300, **META})


def time_here(n_utt: int, stores: int, folder: Path) -> dict:
    """Create ``stores`` stores in this process: wall and CPU seconds of each."""
    from sergen.store.writer import create_store

    plan = plan_of(n_utt)
    create_store(folder / "warm.zarr", plan, {"x": 1}, 128)  # imports, Zarr's event loop and codecs started
    walls, cpus = [], []
    for i in range(stores):
        start, cpu = time.perf_counter(), time.process_time()
        create_store(folder / f"s{i}.zarr", plan, {"x": 1}, 128)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return {"wall": walls, "cpu": cpus}


def in_tree(tree: Path, args: list[str]) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    done = subprocess.run([sys.executable, __file__, "--child", *args], env=env, capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def syscalls(tree: Path, n_utt: int) -> dict[str, int]:
    """mkdir/openat/rename calls on the store of one ``create_store`` (after a warm-up creation), by ``strace``;
    ``mkdir new``: those that made a folder (an inode), not the ones answered "exists" (Zarr asks before
    every chunk write)."""
    with tempfile.TemporaryDirectory() as tmp:
        script = (f"import sys; sys.argv=['x']; sys.path.insert(0, {str(Path(__file__).parent)!r});"
                  f"import create_store_cost as c; from pathlib import Path; from sergen.store.writer import create_store;"
                  f"p = c.plan_of({n_utt}); create_store(Path({tmp!r}) / 'w.zarr', p, {{'x': 1}}, 128);"
                  f"open('/dev/null').close(); create_store(Path({tmp!r}) / 's.zarr', p, {{'x': 1}}, 128)")
        out = Path(tmp) / "trace"
        subprocess.run(["strace", "-f", "-o", str(out), "-e", "trace=mkdir,mkdirat,openat,rename,renameat,renameat2",
                        sys.executable, "-c", script], env=dict(os.environ, PYTHONPATH=str(tree)), check=True,
                       capture_output=True, cwd=tmp)  # not the caller's folder: python -c imports from it first
        lines = out.read_text().splitlines()
        # only the second creation: the calls after the last open of /dev/null
        last = max(i for i, line in enumerate(lines) if '"/dev/null"' in line)
        counts: dict[str, int] = {}
        for line in lines[last + 1:]:
            m = re.search(r"\b(mkdir|mkdirat|openat|rename|renameat|renameat2)\(", line)
            if m and "s.zarr" in line:
                counts[m.group(1)] = counts.get(m.group(1), 0) + 1
                if m.group(1).startswith("mkdir") and line.rstrip().endswith("= 0"):
                    counts["mkdir new"] = counts.get("mkdir new", 0) + 1
        return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utts", type=int, default=1000)
    parser.add_argument("--stores", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trees", nargs="*", type=Path, default=[])
    parser.add_argument("--strace", action="store_true")
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child or not args.trees:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(time_here(args.utts, args.stores, Path(tmp))))
        return
    print(f"load average {os.getloadavg()}")
    for r in range(args.rounds):
        for tree in args.trees:
            got = in_tree(tree, ["--utts", str(args.utts), "--stores", str(args.stores)])
            print(f"round {r} {tree}: wall median {statistics.median(got['wall']) * 1e3:.1f} ms best "
                  f"{min(got['wall']) * 1e3:.1f} ms; cpu median {statistics.median(got['cpu']) * 1e3:.1f} ms best "
                  f"{min(got['cpu']) * 1e3:.1f} ms (load {os.getloadavg()[0]:.2f})", flush=True)
    if args.strace and shutil.which("strace"):
        for tree in args.trees:
            print(f"syscalls of one create_store, {tree}: {syscalls(tree, args.utts)}")


if __name__ == "__main__":
    main()

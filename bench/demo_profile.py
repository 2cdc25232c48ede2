"""``make bench`` (and ``python bench/demo_profile.py``): where ``sergen demo``'s time goes, stage by stage, and
how busy the machine's cores are in each (issue 26).

The demo runs in this process, exactly as ``sergen demo`` runs it, with its stage functions wrapped:
synthesis, manifests, extraction, the grid, the AUROC matrices, fragmentation, the report and, inside it,
the figures. Each stage's wall seconds are exclusive (a stage called inside another pauses the outer one);
its CPU seconds are this process's and its children's (worker processes are joined at the end of the stage
that started them, so ``getrusage`` counts them there). ``cores busy`` is CPU seconds ÷ wall ÷ cores.

Two checks of the scheduling, from the work itself: extraction's jobs (one store each) and the grid's runs
(their records' ``seconds``) summed and divided by the workers — the wall a perfect schedule would take —
against the stage's wall.

``--sergen DIR`` profiles another checkout's sergen (e.g. the main branch, for a before/after): its
stage functions are wrapped where they exist, and the time outside every wrapped stage is "other".
Writes ``bench/demo_profile.md`` (``--out``). On a shared machine the load average is written beside it.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from stage_stack import ExclusiveStages

HERE = Path(__file__).resolve().parent

STAGES = {  # (module, attribute) → stage; a stage inside another is charged to the inner one only
    ("sergen.demo", "make_demo"): "synthesis",
    ("sergen.demo", "read_corpus"): "manifests",
    ("sergen.demo", "write_manifest"): "manifests",
    ("sergen.demo", "extract_stores"): "extraction",
    ("sergen.experiments.grid", "run_grid"): "grid",
    ("sergen.experiments.grid", "auroc_matrices"): "AUROC matrices",
    ("sergen.results", "load_runs"): "AUROC matrices",  # the demo loads the runs once, for the matrices and the report
    ("sergen.experiments.fragmentation", "analyse_stores"): "fragmentation",
    ("sergen.experiments.fragmentation", "save_fragmentation"): "fragmentation",
    ("sergen.report.markdown", "build_report"): "report",
    **{("sergen.report.figures", name): "figures" for name in (
        "heatmap", "plot_projection", "plot_similarity", "plot_lines", "plot_confusions", "plot_validation",
        "plot_layers")},
}


def cpu_seconds() -> float:
    """CPU seconds of this process and of its children that have been waited for."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def reap_children() -> None:
    """Wait for the worker processes a stage started: ``getrusage`` counts a child's CPU only once it is waited
    for, and the grid kills a worker that is slow to exit (on a loaded machine) without waiting for it."""
    import multiprocessing

    for child in multiprocessing.active_children():
        child.join()


class StageClock(ExclusiveStages):
    """Exclusive wall and CPU seconds per stage."""

    def __init__(self):
        super().__init__()
        self.wall, self.cpu = defaultdict(float), defaultdict(float)
        self.results: dict[str, list] = defaultdict(list)  # stage → what its calls returned (extraction's seconds)

    def now(self) -> tuple[float, float]:
        return time.perf_counter(), cpu_seconds()

    def _charge(self, name, since, now) -> None:
        self.wall[name] += now[0] - since[0]
        self.cpu[name] += now[1] - since[1]

    def install(self) -> list[str]:
        """Wrap every stage function that exists; the names of those missing (another checkout's sergen)."""
        import importlib

        missing = []
        for (module, attr), name in STAGES.items():
            owner = importlib.import_module(module)
            fn = getattr(owner, attr, None)
            if fn is None:
                missing.append(f"{module}.{attr}")
                continue
            setattr(owner, attr, self._wrap(fn, name))
        return missing

    def _wrap(self, fn, name):
        def wrapped(*args, **kwargs):
            with self.stage(name):
                out = fn(*args, **kwargs)
                reap_children()
            self.results[name].append(out)
            return out
        wrapped.__wrapped__ = fn
        return wrapped


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def stage_table(clock: StageClock, total_wall: float, total_cpu: float, cores: int) -> list[str]:
    other_wall = total_wall - sum(clock.wall.values())
    other_cpu = total_cpu - sum(clock.cpu.values())
    rows = sorted(clock.wall, key=lambda n: -clock.wall[n])
    lines = ["| stage | wall (s) | share | CPU (s) | cores busy |", "|---|---:|---:|---:|---:|"]
    for name, wall, cpu in [*((n, clock.wall[n], clock.cpu[n]) for n in rows), ("other", other_wall, other_cpu),
                            ("**whole demo**", total_wall, total_cpu)]:
        busy = cpu / wall / cores if wall > 0 else 0.0
        lines.append(f"| {name} | {wall:.1f} | {wall / total_wall:.0%} | {cpu:.1f} | {busy:.0%} |")
    return lines


def schedule_lines(clock: StageClock, results_dir: Path, workers: int) -> list[str]:
    """The wall a perfect schedule of the same work would take, beside the stage's wall."""
    lines = ["| stage | jobs | their seconds, summed | ÷ workers (perfect schedule) | stage wall | longest job |",
             "|---|---:|---:|---:|---:|---:|"]
    jobs = {}
    for out in clock.results.get("extraction", []):
        jobs.update(out or {})
    if jobs:
        total = sum(jobs.values())
        longest = max(jobs, key=jobs.get)
        lines.append(f"| extraction | {len(jobs)} | {total:.1f} | {total / workers:.1f} | "
                     f"{clock.wall['extraction']:.1f} | {jobs[longest]:.1f} ({'/'.join(str(p) for p in longest if p)}) |")
        for model in dict.fromkeys(job[0] for job in jobs):  # EXTRACT_COST in sergen/demo.py comes from these
            mine = [s for job, s in jobs.items() if job[0] == model]
            lines.append(f"| extraction, {model} | {len(mine)} | {sum(mine):.1f} | {sum(mine) / workers:.1f} | | "
                         f"{max(mine):.1f} |")
    import pandas as pd

    csvs = sorted((results_dir / "runs").glob("*.csv"))
    if csvs:
        rows = pd.concat([pd.read_csv(p, usecols=["run_id", "train", "head", "seconds"]) for p in csvs])
        runs = rows.groupby("run_id").agg(seconds=("seconds", "max"), train=("train", "first"), head=("head", "first"))
        longest = runs.seconds.idxmax()
        lines.append(f"| grid | {len(runs)} | {runs.seconds.sum():.1f} | {runs.seconds.sum() / workers:.1f} | "
                     f"{clock.wall['grid']:.1f} | {runs.seconds[longest]:.1f} ({runs.train[longest]}, "
                     f"{runs['head'][longest]}) |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="the demo's --scale (1: what `make demo` runs)")
    parser.add_argument("--seeds", default="0,1,2", help="the demo's --seeds")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sergen", type=Path, help="profile the sergen of this checkout instead (a before/after)")
    parser.add_argument("--label", default="this branch", help="what the table is headed with")
    parser.add_argument("--out", type=Path, default=HERE / "demo_profile.md")
    parser.add_argument("--append", action="store_true", help="add this profile to --out rather than replace it")
    args = parser.parse_args()
    if args.sergen:
        sys.path.insert(0, str(args.sergen.resolve()))
    import sergen

    clock = StageClock()
    missing = clock.install()
    from sergen.demo import run_demo

    seeds = [int(s) for s in args.seeds.split(",")]
    with tempfile.TemporaryDirectory(dir=os.environ.get("SERGEN_BENCH_TMP")) as tmp:
        before_load = load()
        t0, c0 = clock.now()
        run_demo(Path(tmp) / "demo", scale=args.scale, workers=args.workers, seeds=seeds)
        t1, c1 = clock.now()
        table = stage_table(clock, t1 - t0, c1 - c0, os.cpu_count() or 1)
        schedule = schedule_lines(clock, Path(tmp) / "demo" / "results", args.workers)
    sys.path.insert(0, str(HERE))
    from run import machine

    lines = [f"## {args.label}: `sergen demo --scale {args.scale:g} --seeds {args.seeds}`, {args.workers} workers", "",
             f"sergen from {Path(sergen.__file__).parent.parent}. Before: {before_load}; after: {load()}.", "",
             *table, "", *schedule, ""]
    if missing:
        lines += [f"Not in this sergen (its time is in \"other\"): {', '.join(missing)}.", ""]
    head = ["# `sergen demo` profile by stage", "", f"Machine: {machine()}.", "",
            "Generated by `python bench/demo_profile.py` (part of `make bench`): the demo run in one process with "
            "its stage functions wrapped; wall seconds exclusive; CPU seconds of the process and its worker "
            "processes; cores busy = CPU ÷ wall ÷ cores. The second table: the work's own seconds summed ÷ "
            "workers is the wall a perfect schedule would take.", ""]
    old = args.out.read_text() if args.append and args.out.exists() else "\n".join(head) + "\n"
    args.out.write_text(old + "\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"written {args.out}")


if __name__ == "__main__":
    sys.exit(main())

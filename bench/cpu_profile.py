"""``make bench`` (and ``python bench/cpu_profile.py``): where a probe run's time goes, stage by stage (issue 26).

Two workloads, each run serially in this process so every stage can be timed exclusively:

1. the real-size grid (``--train each,iemocap+cremad,all --test all --heads linear,mlp --seeds 0``, 14 runs)
   on synthetic 1024-d float16 stores at the corpora's real 4-class sizes × ``--scale`` (12.5 Hz); the banks
   are built first ("cold": bank mapping), then the runs go on warm banks;
2. one seed of the demo's grid (melspec, the same training sets, scrambles and norms as ``make demo``; the
   augmentation shares above 0 are left out, as the profile extracts no augmented views) on demo stores at
   ``--demo-scale``.

Each stage's time is exclusive (a stage called inside another is not counted twice), with the page faults
(major and minor, ``getrusage``) taken during it. Then the same real-size grid through ``sergen grid`` with
its two worker processes: wall time and the cores' utilisation (CPU seconds of the process tree ÷ wall ÷
cores). Writes ``bench/cpu_profile.md``. Timings on a shared machine: the load average is written beside them.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from stage_stack import ExclusiveStages

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

STAGES = {  # (module, attribute) → stage name
    ("sergen.experiments.probe", "fingerprints"): "planning and protocol join",
    ("sergen.experiments.probe", "corpus_protocols"): "planning and protocol join",
    ("sergen.experiments.probe", "assignment"): "planning and protocol join",
    ("sergen.experiments.probe", "file_digest"): "planning and protocol join",
    ("sergen.experiments.probe", "load_corpus"): "bank mapping (stores, training bank)",
    ("sergen.experiments.probe", "training_bank"): "bank mapping (stores, training bank)",
    ("sergen.experiments.probe", "make_sampler"): "bank mapping (stores, training bank)",
    ("sergen.experiments.probe", "split_rows"): "utterance vectors (valid + test)",
    ("sergen.experiments.probe", "normalised_vectors"): "utterance vectors (valid + test)",
    ("sergen.experiments.probe", "utterance_std"): "utterance vectors (valid + test)",
    ("sergen.experiments.probe", "train_head"): "optimiser steps",
    ("sergen.train.resident.ResidentSampler", "sample"): "sampling windows",
    ("sergen.train.sampler.WindowSampler", "sample"): "sampling windows",
    ("sergen.train.loop", "predict_proba"): "validation every eval_every",
    ("sergen.train.loop", "macro_auroc"): "validation every eval_every",
    ("sergen.train.loop", "point_metrics"): "validation every eval_every",
    ("sergen.experiments.probe", "predict_proba"): "test scoring",
    ("sergen.experiments.probe", "confusion_counts"): "test scoring",
    ("sergen.experiments.probe", "bootstrap_metrics"): "bootstrap intervals",
    ("sergen.experiments.probe", "corpus_id_accuracy"): "record diagnostics (corpus id, silhouettes)",
    ("sergen.experiments.probe", "discriminator_accuracy"): "record diagnostics (corpus id, silhouettes)",
    ("sergen.experiments.probe", "held_out_silhouettes"): "record diagnostics (corpus id, silhouettes)",
    ("sergen.experiments.probe", "save_run"): "writing the record",
    ("sergen.experiments.probe", "probe_run"): "other (inside probe_run)",
}


class StageTimer(ExclusiveStages):
    """Exclusive wall seconds and page faults per stage: a stage entered inside another pauses the outer one."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        super().__init__()
        self.seconds, self.major, self.minor = defaultdict(float), defaultdict(int), defaultdict(int)

    def now(self):
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return time.perf_counter(), usage.ru_majflt, usage.ru_minflt

    def _charge(self, name, since, now):
        self.seconds[name] += now[0] - since[0]
        self.major[name] += now[1] - since[1]
        self.minor[name] += now[2] - since[2]

    def install(self) -> None:
        import importlib

        for (where, attr), name in STAGES.items():
            module, _, cls = where.rpartition(".")
            owner = importlib.import_module(where) if not cls[0].isupper() else \
                getattr(importlib.import_module(module), cls)
            original = getattr(owner, attr, None)
            if original is None:
                continue
            setattr(owner, attr, self._wrap(original, name))

    def _wrap(self, fn, name):
        def wrapped(*args, **kwargs):
            with self.stage(name):
                return fn(*args, **kwargs)
        wrapped.__wrapped__ = fn
        return wrapped

    def table(self, total: float) -> list[str]:
        lines = ["| stage | seconds | share | calls | major faults | minor faults |", "|---|---:|---:|---:|---:|---:|"]
        for name in sorted(self.seconds, key=lambda n: -self.seconds[n]):
            lines.append(f"| {name} | {self.seconds[name]:.2f} | {self.seconds[name] / total:.0%} | "
                         f"{self.calls[name]} | {self.major[name]:,} | {self.minor[name]:,} |")
        return lines


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def real_environment(root: Path) -> dict:
    return {"SERGEN_STORES": str(root / "stores"), "SERGEN_RESULTS": str(root / "results"),
            "SERGEN_MANIFESTS": str(root / "manifests"), "SERGEN_CACHE": str(root / "banks"),
            "SERGEN_CONFIG": str(root / "sergen.toml")}


def profile_grid(timer: StageTimer, model: str, train: str, extra: list[dict], results: Path) -> tuple[float, float, int]:
    """Plan (timed as planning) and run the grid's specs serially; (bank seconds, run seconds, runs)."""
    from sergen.config import data_dir
    from sergen.experiments import data
    from sergen.experiments.grid import grid_specs
    from sergen.experiments.probe import probe_run, save_run

    with timer.stage("planning and protocol join"):
        specs = [s for kwargs in extra for s in grid_specs([model], kwargs.pop("train", train), **kwargs)]
    root = data.stores_root_key(data_dir("stores"))
    t = time.perf_counter()
    with timer.stage("building store banks (cold only)"):
        for name in dict.fromkeys(c for s in specs for c in s.train):
            data.prepare_store_bank(model, name, root, "-", "mean")
    banks = time.perf_counter() - t
    t = time.perf_counter()
    for spec in specs:
        save_run(probe_run(spec), results)
    return banks, time.perf_counter() - t, len(specs)


def cli_grid_utilisation(env: dict, model: str) -> tuple[float, float]:
    """``sergen grid`` with its default two workers: wall seconds and the mean share of the cores busy."""
    cmd = [sys.executable, "-m", "sergen.cli", "grid", "--models", model, "--train", "each,iemocap+cremad,all",
           "--test", "all", "--heads", "linear,mlp", "--seeds", "0"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu / wall / min(2, os.cpu_count() or 1)


def demo_workspace(out: Path, scale: float) -> None:
    from sergen import CORPORA
    from sergen.config import init_workspace, set_root
    from sergen.corpora import read_corpus, write_manifest
    from sergen.corpora.demo import make_demo
    from sergen.extract import extract

    init_workspace(out)
    roots = make_demo(out / "corpora", scale=scale)
    for corpus in CORPORA:
        write_manifest(read_corpus(corpus, roots[corpus]))
        set_root(corpus, roots[corpus])
        extract("melspec", corpus, overwrite=True, show_progress=False)


def stage_ratios() -> list[str]:
    """The stages issue 26 changed, before and after in one process (robust on a loaded machine): validation
    (every metric vs the AUROC alone) and the bootstrap (the per-resample loop, kept as the tests' reference,
    vs all resamples at once), at the real corpora's validation and test sizes."""
    sys.path.insert(0, str(HERE.parent / "tests" / "train"))
    from test_bootstrap_vectorised import case, loop_bootstrap

    from sergen.train.metrics import bootstrap_metrics, macro_auroc, point_metrics

    def best(fn, k):
        times = []
        for _ in range(k):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    lines = ["## Changed stages, before and after in one process", "", f"{load()}.", "",
             "| stage | utterances | before (s) | after (s) | × faster |", "|---|---:|---:|---:|---:|"]
    for name, n in (("validation, msp", 6656), ("validation, all", 8125), ("validation, iemocap", 500)):
        y, p = case(n, seed=2)
        a, b = best(lambda: point_metrics(y, p), 3), best(lambda: macro_auroc(y, p), 3)
        lines.append(f"| {name} (one evaluation) | {n:,} | {a:.3f} | {b:.3f} | {a / b:.1f} |")
    total = [0.0, 0.0]
    for name, n in (("msp", 10_779), ("iemocap", 500), ("cremad", 750), ("emodb", 72), ("ravdess", 144)):
        y, p = case(n, seed=1)
        a, b = best(lambda: loop_bootstrap(y, p), 1), best(lambda: bootstrap_metrics(y, p), 2)
        total = [total[0] + a, total[1] + b]
        lines.append(f"| bootstrap, {name} test set (200 resamples) | {n:,} | {a:.2f} | {b:.2f} | {a / b:.1f} |")
    lines.append(f"| bootstrap, a run's five test sets | | {total[0]:.2f} | {total[1]:.2f} | {total[0] / total[1]:.1f} |")
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=float(os.environ.get("SERGEN_BENCH_SCALE", 1.0)),
                        help="fraction of the real utterance counts (SERGEN_BENCH_SCALE)")
    parser.add_argument("--demo-scale", type=float, default=1.0)
    parser.add_argument("--skip-cli", action="store_true", help="no `sergen grid` utilisation run")
    parser.add_argument("--ratios-only", action="store_true", help="only the changed stages, before and after")
    parser.add_argument("--skip-demo", action="store_true", help="no demo grid profile")
    parser.add_argument("--train", default="each,iemocap+cremad,all", help="the real-size grid's training sets")
    parser.add_argument("--heads", default="linear,mlp", help="the real-size grid's heads")
    parser.add_argument("--stores", type=Path, help="a folder of real-size stores written before (its stores/, "
                                                      "banks/): profiled as they are, nothing written")
    parser.add_argument("--out", type=Path, default=HERE / "cpu_profile.md")
    args = parser.parse_args()
    from run import machine, write_real_stores

    lines = ["# CPU profile by stage", "", f"Machine: {machine()}. Before: {load()}.", "",
             "Generated by `python bench/cpu_profile.py` (part of `make bench`). Seconds are exclusive (a stage "
             "inside another is not counted twice); runs serially in one process so each stage can be "
             "timed; page faults from getrusage.", ""]
    lines += stage_ratios()
    if args.ratios_only:
        args.out.write_text("\n".join(lines))
        return
    with tempfile.TemporaryDirectory(dir=os.environ.get("SERGEN_BENCH_TMP")) as tmp:
        work = Path(tmp)
        timer = StageTimer()
        timer.install()
        root = args.stores or work / "real"
        if args.stores:
            gib, write_s = sum(f.stat().st_size for f in (root / "stores").rglob("*") if f.is_file()) / 2**30, 0.0
        else:
            frames, write_s = write_real_stores(root / "stores", "synthetic-1024", args.scale, 12.5)
            gib = sum(frames.values()) * 1024 * 2 / 2**30
        env = real_environment(root)
        os.environ.update(env, SERGEN_RESULTS=str(work / "results"))
        banks, runs_s, n = profile_grid(timer, "synthetic-1024", args.train,
                                        [{"test": "all", "heads": tuple(args.heads.split(","))}], work / "results")
        total = sum(timer.seconds.values())
        lines += [f"## Real-size grid (--train {args.train}), {args.scale:g} × real size ({gib:.1f} GiB of "
                  f"{'stores written before' if args.stores else f'frames, written in {write_s:.0f} s'})",
                  "", f"{n} runs serially: banks built in {banks:.1f} s (cold), runs {runs_s:.1f} s on warm banks; "
                  f"{load()}.", "", *timer.table(total), ""]
        if not args.skip_cli:
            import shutil

            shutil.rmtree(work / "results", ignore_errors=True)
            wall, busy = cli_grid_utilisation(dict(os.environ), "synthetic-1024")
            lines += [f"`sergen grid` with two workers, warm banks: {wall:.1f} s wall, cores busy {busy:.0%} on "
                      f"average; {load()}.", ""]
        print("\n".join(lines), flush=True)

        args.out.write_text("\n".join(lines))
        if args.skip_demo:
            return
        from sergen.config import use_workspace

        demo = work / "demo"
        with use_workspace(demo):
            demo_workspace(demo, args.demo_scale)
            timer.reset()
            both = {"heads": ("linear", "mlp"), "seeds": (0,)}
            banks, runs_s, n = profile_grid(timer, "melspec", "each,iemocap+cremad", [
                dict(both), dict(both, train="all", scrambles=(False, True)),
                dict(both, train="all", scrambles=(False, True), norms=("corpus",))], demo / "results")
        total = sum(timer.seconds.values())
        lines += [f"## Demo grid, one seed of melspec (scale {args.demo_scale:g})", "",
                  f"{n} runs serially (the demo runs 2 models × 3 seeds of these, and the 4 augmentation shares > 0 of the `all` runs): banks {banks:.1f} s, runs "
                  f"{runs_s:.1f} s; {load()}.", "", *timer.table(total), ""]
    args.out.write_text("\n".join(lines))
    print(f"written {args.out}")


if __name__ == "__main__":
    sys.exit(main())

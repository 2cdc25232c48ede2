"""``make bench`` (and ``python bench/loop_baseline.py``): sergen's extraction of the CPU extractors (melspec,
egemaps) against the plain loop a user would write on the same files (issue 22): per file, read the WAV with
soundfile, resample with soxr where needed, compute the features, ``np.save``. The loop runs with BLAS pinned
to one thread, its fastest form on a small machine.

Both are timed twice, on the same demo corpora in the same run:

* in this process, imports already made: the cost of sergen's machinery (worker threads, background
  store writes, digests, checks) against the loop's bare work; each side's best of ``--repeats``,
  alternating; sergen also with ``workers_mode="processes"`` (its pool started before the timings);
* cold, as typed: a fresh interpreter each (``sergen extract --model M --corpus all`` against a script
  running the loop), imports included (sergen's bytecode compiled first, as an installed sergen has it), best
  of ``--repeats`` alternating, with each command's CPU seconds
  (user + system, its process and children); with ``--before DIR`` also the ``sergen extract`` of another
  checkout (e.g. a worktree of an older commit) on the same files.

"speed vs loop" is the loop's time ÷ sergen's (1.00: as fast as the loop; the issue measured 0.66). The CPU
seconds of each side (this process, all threads; best of the repeats) say what each costs whatever the load. Writes
``bench/extract_profile.md`` with the load average (``uptime``) before and after: the machine may be shared.
This file's loop imports nothing of sergen, so the cold loop pays only for what the loop itself needs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODELS = ("melspec", "egemaps")
RATE = 16000


def log_mel_maker():
    """melspec's computation (sergen/extractors/melspec.py), written as a user would: librosa's STFT and
    Mel filterbank, log floored at 1e-10."""
    import librosa
    import numpy as np

    bank = librosa.filters.mel(sr=RATE, n_fft=400, n_mels=128)

    def log_mel(wave):
        power = np.abs(librosa.stft(np.pad(wave, (0, max(0, 400 - len(wave)))), n_fft=400, hop_length=160)) ** 2
        return np.log(np.maximum(bank @ power, 1e-10)).T.astype(np.float32)

    return log_mel


def egemaps_maker():
    import numpy as np
    import opensmile

    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                            feature_level=opensmile.FeatureLevel.LowLevelDescriptors)
    return lambda wave: smile.process_signal(np.pad(wave, (0, max(0, 960 - len(wave)))), RATE).to_numpy(np.float32)


def plain_loop(model: str, files: list[str], out: Path) -> float:
    """Seconds to turn every file into ``out/<i>.npy``, one after another, BLAS on one thread."""
    import numpy as np
    import soundfile as sf
    import soxr
    from threadpoolctl import threadpool_limits

    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with threadpool_limits(limits=1):
        features = {"melspec": log_mel_maker, "egemaps": egemaps_maker}[model]()
        for i, path in enumerate(files):
            wave, rate = sf.read(path, dtype="float32", always_2d=True)
            wave = wave.mean(axis=1)
            if rate != RATE:
                wave = soxr.resample(wave, rate, RATE).astype(np.float32)
            np.save(out / f"{i}.npy", features(wave))
    return time.perf_counter() - start


def cpu_seconds() -> float:
    """User + system CPU seconds of this process, all its threads: a cost the load of a shared machine
    changes less than the wall time."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        one, five, fifteen = os.getloadavg()
        return f"load average: {one:.2f}, {five:.2f}, {fifteen:.2f}"


def demo_files(work: Path, scale: float) -> tuple[Path, list[str], float]:
    """A workspace with the five demo corpora's manifests; the audio files of all, and their seconds."""
    import pandas as pd

    from sergen import CORPORA
    from sergen.config import init_workspace, use_workspace
    from sergen.corpora import read_corpus, write_manifest
    from sergen.corpora.demo import make_demo

    ws = work / "ws"
    init_workspace(ws)
    roots = make_demo(work / "audio", seed=0, scale=scale)
    files, seconds = [], 0.0
    with use_workspace(ws):
        for corpus in CORPORA:
            manifest = read_corpus(corpus, roots[corpus]).manifest
            write_manifest(read_corpus(corpus, roots[corpus]))
            files += [str(roots[corpus] / p) for p in manifest["path"]]
            seconds += float((pd.to_numeric(manifest["num_samples"]) / pd.to_numeric(manifest["sample_rate"])).sum())
    return ws, files, seconds


def sergen_in_process(ws: Path, model: str, stores: Path, workers_mode: str = "auto") -> float:
    """Seconds to extract the five corpora into ``stores``, a new folder (the loop deletes nothing either)."""
    from sergen import CORPORA
    from sergen.config import use_workspace
    from sergen.extract import extract

    with use_workspace(ws):
        start = time.perf_counter()
        for corpus in CORPORA:
            report = extract(model, corpus, stores_root=stores, show_progress=False, workers_mode=workers_mode)
            assert report.complete, (model, corpus, report.failures)
        return time.perf_counter() - start


def timed(cmd: list[str], env: dict, cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one command run to its end: CPU says what it cost whatever the load."""
    import resource

    shutil.rmtree(Path(env["SERGEN_HOME"]) / "stores", ignore_errors=True)  # a fresh store, not an --overwrite
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def clean_env(ws: Path, pythonpath: Path | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SERGEN_") and k != "PYTHONPATH"}
    env.update(SERGEN_HOME=str(ws), SERGEN_CONFIG=str(ws / "sergen.toml"))
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    return env


def compiled_sergen(checkout: Path) -> None:
    """sergen's bytecode written beside its sources, as ``pip install`` writes it: the loop's libraries have theirs,
    and with ``PYTHONDONTWRITEBYTECODE`` set (as on this project's machines) every cold run would compile sergen's
    ~90 modules again (~0.1 s), a cost no installed sergen pays."""
    import compileall

    compileall.compile_dir(str(checkout / "sergen"), quiet=1)


def cold_runs(ws: Path, work: Path, model: str, files_json: Path, before: Path | None,
              repeats: int = 1) -> dict[str, tuple[float, float]]:
    """Fresh interpreters, alternating ``repeats`` times: the loop script, this checkout's ``sergen extract``, and
    ``--before``'s. Each side's best wall time, with the CPU seconds of that run."""
    sergen = [sys.executable, "-m", "sergen.cli", "extract", "--model", model, "--corpus", "all"]
    loop = [sys.executable, str(Path(__file__).resolve()), "--loop", model, "--files", str(files_json),
            "--out", str(work / "cold-npy" / model)]
    # this checkout's sergen on PYTHONPATH: an installed (editable) sergen may be another checkout's
    commands = {"loop": (loop, clean_env(ws)), "sergen": (sergen, clean_env(ws, HERE.parent))}
    if before:
        commands["before"] = (sergen, clean_env(ws, before))
    for checkout in {HERE.parent, *([before] if before else [])}:
        compiled_sergen(checkout)
    runs: dict[str, list[tuple[float, float]]] = {side: [] for side in commands}
    for i in range(repeats):
        for side, (cmd, env) in commands.items():
            runs[side].append(timed(cmd, env, work))
            shutil.rmtree(work / "cold-npy" / model, ignore_errors=True)
        print(f"{model} cold run {i + 1}: " + ", ".join(f"{side} {w:.2f} s ({c:.2f} CPU s)" for side, (w, c)
                                                      in ((k, v[-1]) for k, v in runs.items())), flush=True)
    return {side: min(times) for side, times in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=float(os.environ.get("SERGEN_BENCH_SCALE", 0.1)),
                        help="demo corpora scale (SERGEN_BENCH_SCALE; default 0.1)")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--repeats", type=int, default=2, help="in-process runs of each side (best kept)")
    parser.add_argument("--before", type=Path, help="another checkout whose `sergen extract` is timed cold too")
    parser.add_argument("--out", type=Path, default=HERE / "extract_profile.md")
    parser.add_argument("--loop", help=argparse.SUPPRESS)  # the cold loop's own process
    parser.add_argument("--files", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loop:
        plain_loop(args.loop, json.loads(args.files.read_text()), args.out)
        return
    from run import machine

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    lines = ["# Extraction against a plain loop (CPU extractors)", "",
             f"Machine: {machine()}.", "", f"Before: `{uptime()}`.", "",
             "Generated by `python bench/loop_baseline.py` (part of `make bench`); see its docstring. "
             "speed vs loop = loop seconds ÷ sergen seconds.", ""]
    with tempfile.TemporaryDirectory(dir=os.environ.get("SERGEN_BENCH_TMP")) as tmp:
        work = Path(tmp)
        ws, files, audio_s = demo_files(work, args.scale)
        files_json = work / "files.json"
        files_json.write_text(json.dumps(files))
        warm = ["## In one process, imports made", "",
                f"Demo corpora at scale {args.scale:g}: {len(files)} files, {audio_s:.0f} s of audio; best of "
                f"{args.repeats}.", "",
                "| model | plain loop (s) | sergen extract (s) | speed vs loop | sergen, worker processes (s) | "
                "speed vs loop | loop CPU (s) | sergen CPU (s) |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        cold = ["## Cold, as typed (a fresh interpreter each, imports included)", "",
                f"Best of {args.repeats}, alternating; CPU seconds of that run (user + system).", "",
                "| model | loop script (s) | `sergen extract --corpus all` (s) | speed vs loop | loop CPU (s) | "
                "sergen CPU (s) |" + (" `--before` (s) | its speed vs loop | its CPU (s) |" if args.before else ""),
                "|---|---:|---:|---:|---:|---:|" + ("---:|---:|---:|" if args.before else "")]
        for model in models:
            plain_loop(model, files[:3], work / "warmup")  # first calls: numba's caches, opensmile's start
            loop_s, ours_s, procs_s, cpu = [], [], [], {"loop": [], "sergen": []}
            sergen_in_process(ws, model, work / "stores" / model / "warm-processes", "processes")  # the pool
            for i in range(args.repeats):
                c0 = cpu_seconds()
                loop_s.append(plain_loop(model, files, work / "npy" / model / str(i)))
                c1 = cpu_seconds()
                ours_s.append(sergen_in_process(ws, model, work / "stores" / model / str(i)))
                c2 = cpu_seconds()
                cpu["loop"].append(c1 - c0)
                cpu["sergen"].append(c2 - c1)
                procs_s.append(sergen_in_process(ws, model, work / "stores" / model / f"p{i}", "processes"))
                print(f"{model} run {i + 1}: loop {loop_s[-1]:.2f} s ({cpu['loop'][-1]:.2f} CPU s), sergen "
                      f"{ours_s[-1]:.2f} s ({cpu['sergen'][-1]:.2f} CPU s), with processes {procs_s[-1]:.2f} s",
                      flush=True)
            warm.append(f"| {model} | {min(loop_s):.2f} | {min(ours_s):.2f} | {min(loop_s) / min(ours_s):.2f} | "
                        f"{min(procs_s):.2f} | {min(loop_s) / min(procs_s):.2f} | {min(cpu['loop']):.2f} | "
                        f"{min(cpu['sergen']):.2f} |")
            print(warm[-1], flush=True)
            t = cold_runs(ws, work, model, files_json, args.before, args.repeats)
            (loop_w, loop_c), (ours_w, ours_c) = t["loop"], t["sergen"]
            cold.append(f"| {model} | {loop_w:.2f} | {ours_w:.2f} | {loop_w / ours_w:.2f} | {loop_c:.2f} | {ours_c:.2f} |"
                        + (f" {t['before'][0]:.2f} | {loop_w / t['before'][0]:.2f} | {t['before'][1]:.2f} |"
                           if args.before else ""))
            print(cold[-1], flush=True)
    lines += warm + [""] + cold + ["", f"After: `{uptime()}`.", ""]
    args.out.write_text("\n".join(lines))
    print(f"written {args.out}")


if __name__ == "__main__":
    sys.exit(main())

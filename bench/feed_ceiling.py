"""``make bench`` (and ``python bench/feed_ceiling.py``): how fast sergen's CPU side can feed a model (issue 22).

The model is a free stand-in of WavLM-Large's output (``StandIn``: 4 layers × 1024-d at 50 Hz, WavLM's frame
count, a few memory operations per frame), so every second measured is the pipeline's own: decoding,
resampling, batching, handing frames over, float16 conversion, compression, digests and store writes. It is
benchmark code only: registered in the measuring process for the time of the measurement, never for users.
It stands for a torch model, so its process imports torch, as a GPU model's does (the store then casts to
float16 with torch's kernel: ``sergen.store.half_cast``); ``--no-torch`` measures without it (numpy's cast, as
for melspec, whose process never imports torch).

Writes ``bench/feed_ceiling.md``:

1. the stage profile: each stage of the pipeline timed alone, serially, on the same files;
2. threads against processes for decode + resample + log-Mel on 1 and 2 workers (``bench/decode_modes.py``);
3. the feed ceiling: ``extract`` of the demo corpora with the stand-in, in a fresh interpreter pinned to
   each of ``--cores`` (default 1, then 2; ``os.sched_setaffinity``; sergen sizes its workers to that mask),
   best of ``--repeats``: audio seconds per wall second, in all and per core; CPU seconds and page faults;
   each thread's CPU by role (``bench/thread_cpu.py``); then this machine's disk write rate (3b);
3c. the sustained rate: the same runs on longer corpora (``--long-scale``, default 10) and the rate of the
   audio the longer corpora add (``sustained_rates``): the five stores' fixed costs (creating each, filling
   and draining the pipeline) are paid once in both runs, so they drop out; it is the rate an hours-long
   corpus sees, and the issue asks what the pipeline *sustains*;
4. a projection to 16 cores: the lowest of the scaling, CPU-cost, busiest-serial-thread and disk bounds, with
   what it assumes (``projection_lines``), from the sustained rates where they were measured.

The load average (``uptime``) is written beside the figures: the machine may be shared.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from sergen.extractors.base import Extractor  # noqa: E402

STAND_IN = "bench-wavlm-large-shape"


class StandIn(Extractor):
    """WavLM-Large's output shape at no compute: frames built from the waveform by a few memory operations,
    so the store compresses data that varies like embeddings do (not zeros)."""

    name = STAND_IN
    batching = "padded batches of similar lengths, as a GPU model"
    sample_rate = 16000
    frame_rate = 50.0
    dim = 4 * 1024
    min_samples = 400
    uses_torch = False  # nothing to compute: BLAS pinned, as for signal processing
    source = "bench/feed_ceiling.py (no weights)"
    _table = np.random.default_rng(0).standard_normal((64, 4 * 1024)).astype(np.float32)

    def num_frames(self, n_samples: int) -> int:
        return (n_samples - 400) // 320 + 1

    def embed(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        out = []
        for wave in waveforms:
            n = self.num_frames(len(wave))
            level = np.abs(wave[: n * 320]).reshape(n, 320).mean(1, keepdims=True) if n * 320 <= len(wave) \
                else np.full((n, 1), float(np.abs(wave).mean()), np.float32)
            out.append(self.frames(level.astype(np.float32, copy=False)))
        return out

    def frames(self, level: np.ndarray) -> np.ndarray:
        """Row i: table row i % 64 × ``level[i]``, written in one pass into a new block, as a device-to-host copy
        writes the model's output once: the stand-in costs the host what a GPU model's output does. (Until
        stop 36 it took the rows (a gather into a new block), then scaled them in place: three passes over the
        block, the stand-in's own cost ≈ a fifth of the pipeline's CPU. The values are the same.)"""
        n, rows = len(level), len(self._table)
        frames = np.empty((n, self.dim), np.float32)
        whole = n - n % rows
        np.multiply(self._table, level[:whole].reshape(-1, rows, 1), out=frames[:whole].reshape(-1, rows, self.dim))
        np.multiply(self._table[: n - whole], level[whole:], out=frames[whole:])
        return frames


@contextlib.contextmanager
def registered():
    """The stand-in known to ``get_extractor`` in this process only, for the block."""
    from sergen.extractors import EXTRACTORS

    EXTRACTORS._items[STAND_IN], EXTRACTORS._aliases[STAND_IN] = StandIn, STAND_IN
    try:
        yield
    finally:
        del EXTRACTORS._items[STAND_IN], EXTRACTORS._aliases[STAND_IN]


def uptime() -> str:
    from loop_baseline import uptime as up

    return up()


# -- 1. stage profile ---------------------------------------------------------------------------------
def stage_profile(files: list[str], stores: Path) -> list[tuple[str, float, str]]:
    """(stage, seconds, note) for the files, each stage alone in this process (all in memory at once: keep
    them to a few hundred seconds of audio)."""
    import soundfile as sf
    import soxr

    from sergen.audio import load_audio
    from sergen.extractors.melspec import MelSpec
    from sergen.store.layout import frame_codec

    stages: list[tuple[str, float, str]] = []
    t = time.perf_counter()
    raw = [sf.read(p, dtype="float32", always_2d=True) for p in files]
    stages.append(("decode (soundfile)", time.perf_counter() - t, "read and convert to float32"))
    t = time.perf_counter()
    waves = [soxr.resample(d.mean(1), r, 16000, quality="HQ") if r != 16000 else d[:, 0] for d, r in raw]
    stages.append(("resample to 16 kHz (soxr HQ)", time.perf_counter() - t, "files at other rates only"))
    del raw
    mel = MelSpec()
    mel.embed_one(waves[0])
    t = time.perf_counter()
    for w in waves:
        mel.embed_one(np.pad(w, (0, max(0, 400 - len(w)))))
    stages.append(("log-Mel (melspec's features)", time.perf_counter() - t, "128 bands at 100 Hz"))
    stand_in = StandIn()
    t = time.perf_counter()
    frames = [stand_in.embed([np.pad(w, (0, max(0, 400 - len(w))))])[0] for w in waves]
    stages.append(("stand-in model output", time.perf_counter() - t, "4096-d at 50 Hz, float32"))
    n_frames = sum(len(f) for f in frames)
    halves = [np.ones(f.shape, np.float16) for f in frames]  # pages touched before either cast is timed
    t = time.perf_counter()
    for f, h in zip(frames, halves):
        np.copyto(h, f, casting="same_kind")
    stages.append(("float16 conversion (numpy)", time.perf_counter() - t, f"{n_frames:,} frames; melspec's path"))
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # as on a prepare thread (sergen.store.half_cast)
    t = time.perf_counter()
    for f, h in zip(frames, halves):
        torch.from_numpy(h).copy_(torch.from_numpy(f))
    stages.append(("float16 conversion (torch, one thread)", time.perf_counter() - t,
                   "a torch model's path (`sergen.store.half_cast`); same bits"))
    torch.set_num_threads(before)
    import zarr

    codec = zarr.create_array(str(stores / "codec.zarr"), shape=(n_frames, 4096), chunks=(256, 4096),
                              dtype="float16", compressors=[frame_codec()], overwrite=True)
    block = np.concatenate(halves)
    t = time.perf_counter()
    codec[:] = block
    written = sum(p.stat().st_size for p in (stores / "codec.zarr").rglob("*") if p.is_file())
    stages.append((f"compression + chunk files (Blosc-{frame_codec().cname.value}, bitshuffle)", time.perf_counter() - t,
                   f"{block.nbytes / 2**20:,.0f} MiB → {written / 2**20:,.0f} MiB"))
    return stages


# -- 3c. sustained rate ------------------------------------------------------------------------------
def sustained_rates(short: dict[int, dict], long: dict[int, dict]) -> dict[int, dict]:
    """Per core count, the audio the longer run adds over the shorter one, and the wall and CPU seconds it adds:
    the rate at which the pipeline works through audio once each store's fixed costs are paid (both runs
    make the same five stores, so those costs cancel). The same keys as a feed run, so ``projection_lines``
    takes them as they are."""
    out = {}
    for cores in sorted(set(short) & set(long)):
        a, b = short[cores], long[cores]
        audio, wall, cpu = b["audio_s"] - a["audio_s"], b["wall_s"] - a["wall_s"], b["cpu_s"] - a["cpu_s"]
        if audio <= 0 or wall <= 0 or cpu <= 0:
            raise ValueError(f"the longer corpora did not add audio, wall and CPU time on {cores} core(s): "
                             f"{audio:.0f} s, {wall:.2f} s, {cpu:.2f} s")
        out[cores] = {"cores": b["cores"], "audio_s": audio, "wall_s": wall, "cpu_s": cpu}
    return out


def sustained_table(short: dict[int, dict], long: dict[int, dict], rates: dict[int, dict]) -> list[str]:
    lines = ["| cores | audio (s), short → long | wall (s), short → long | sustained audio s per s | per core | "
             "scaling | sustained audio s per CPU s |", "|---:|---:|---:|---:|---:|---:|---:|"]
    one = rates[min(rates)]["audio_s"] / rates[min(rates)]["wall_s"]
    for cores, got in rates.items():
        rate = got["audio_s"] / got["wall_s"]
        lines.append(f"| {got['cores']} | {short[cores]['audio_s']:,.0f} → {long[cores]['audio_s']:,.0f} | "
                     f"{short[cores]['wall_s']:.2f} → {long[cores]['wall_s']:.2f} | {rate:,.0f} | "
                     f"{rate / got['cores']:,.0f} | {rate / one:.2f}× | {got['audio_s'] / got['cpu_s']:,.0f} |")
    return lines


# -- 4. projection to a GPU machine's cores --------------------------------------------------------------
def amdahl_projection(one: dict, two: dict, cores: int) -> tuple[float, str]:
    """Audio seconds per second on ``cores`` cores by Amdahl's law fitted to the 1 → 2 core speed-up of two
    runs (``audio_s`` over ``wall_s``), and how it was worked out."""
    rate1, rate2 = one["audio_s"] / one["wall_s"], two["audio_s"] / two["wall_s"]
    speedup = rate2 / rate1
    if speedup >= 2:
        return rate1 * cores, "linear (the second core gave 2× or more)"
    if speedup > 1:
        serial = 2 / speedup - 1  # Amdahl: 1/S2 = s + (1 - s)/2
        return (rate1 / (serial + (1 - serial) / cores),
                f"Amdahl's law from the measured {speedup:.2f}× on 2 cores (serial share {serial:.0%})")
    return max(rate1, rate2), f"none: a second core gave {speedup:.2f}×, so more cores are not projected to help"


def projection_lines(best: dict[int, dict], disk_mb_s: float | None = None, cores: int = 16,
                     target: float = 3000.0, sustained: dict[int, dict] | None = None,
                     memory: dict[str, dict[int, float]] | None = None,
                     neighbours: dict[str, dict] | None = None) -> list[str]:
    """The audio seconds per second projected on ``cores`` cores, against the issue's ``target`` (a 16-core GPU
    machine never CPU-bound below 3,000× real time). Four bounds, each a projection, not a measurement:
    Amdahl's law fitted to the measured 1 → 2 core speed-up (waits and this machine's load included); the CPU
    cost alone (audio seconds per CPU second × cores: perfect scaling); the busiest thread that cannot be
    split (the model's, the writer's, Zarr's event loop: no core count takes it past audio ÷ its CPU); and
    the disk (its measured ``fsync`` write rate ÷ the stored bytes per audio second). The CPU side is the lowest
    of the first three (issue 22's target: each ≥ 3,000×), the projection the lowest of all four. With
    ``sustained`` (``sustained_rates``), the scaling and CPU bounds are those of the sustained rate: the
    issue asks what the pipeline sustains, and an hours-long corpus pays each store's fixed costs once;
    the whole runs' scaling is still shown."""
    one, two = best[1], best[2]
    lines = [f"## 4. Projected to {cores} cores (against {target:,.0f}× real time)", "",
             f"Projections from the rows above, not measurements: rerun `python bench/feed_ceiling.py "
             f"--cores 1,2,4,8,{cores}` on the GPU machine.", "",
             "| bound | audio s per s on %d cores | against %s× |" % (cores, f"{target:,.0f}"), "|---|---:|---|"]
    verdict = lambda v: "met" if v >= target else "not met"  # noqa: E731
    amdahl, how = amdahl_projection(one, two, cores)
    lines.append(f"| wall clock of the whole runs (five stores' fixed costs included), scaling as measured on this "
                 f"shared machine: {how} | {amdahl:,.0f} | {verdict(amdahl)} |")
    per_cpu = max(g["audio_s"] / g["cpu_s"] for g in (one, two))
    if sustained and 1 in sustained and 2 in sustained:
        amdahl, how = amdahl_projection(sustained[1], sustained[2], cores)
        lines.append(f"| wall clock, sustained (the rate of the audio the longer corpora add, section 3c): {how} | "
                     f"{amdahl:,.0f} | {verdict(amdahl)} |")
        per_cpu = max(g["audio_s"] / g["cpu_s"] for g in (sustained[1], sustained[2]))
    offered = None
    if two.get("runnable"):
        # the share of the 2-core run's time with at most one thread ready is f = s / (s + (1 - s) / 2) for a
        # serial share s of the one-core work, so s = f / (2 - f); the one-core rate at full use of its core
        ready = two["runnable"][0] + two["runnable"][1]
        share = ready / (2 - ready)
        per_cpu1 = one["audio_s"] / one["cpu_s"]
        offered = per_cpu1 / (share + (1 - share) / cores)
        lines.append(f"| scaling the pipeline offers, whatever the load: at most one thread ready {ready:.0%} of the "
                     f"2-core run (serial share {share:.0%}), Amdahl's law from the one-core run's {per_cpu1:,.0f} "
                     f"audio s per CPU s | {offered:,.0f} | {verdict(offered)} |")
    bound = per_cpu * cores
    lines.append(f"| CPU cost: {per_cpu:,.0f} audio s per CPU s × {cores} cores, perfect scaling | {bound:,.0f} | "
                 f"{verdict(bound)} |")
    bounds = [amdahl, bound]
    if "busiest" in two:
        who, busy = two["busiest"]
        serial_bound = two["audio_s"] / busy if busy else float("inf")
        bounds.append(serial_bound)
        lines.append(f"| one thread: the busiest that cannot be split ({who}, {busy:.2f} CPU s for "
                     f"{two['audio_s']:,.0f} audio s), any number of cores | {serial_bound:,.0f} | {verdict(serial_bound)} |")
    if disk_mb_s and two.get("store_bytes"):
        per_audio = two["store_bytes"] / two["audio_s"] / 1e6
        disk = disk_mb_s / per_audio
        bounds.append(disk)
        lines.append(f"| this machine's disk: {disk_mb_s:,.0f} MB/s (fsync) ÷ {per_audio:.2f} MB stored per audio s "
                     f"| {disk:,.0f} | {verdict(disk)} |")
    cpu_side, low = min(bounds[:3]), min(bounds)
    if offered is not None:
        offered_side = min([offered] + bounds[1:3])
        lines.append(f"| the CPU side with the scaling the pipeline offers in place of the wall clock's | "
                     f"{offered_side:,.0f} | {verdict(offered_side)} |")
    lines += [f"| **the CPU side: the lowest of the scaling, CPU and one-thread bounds** | **{cpu_side:,.0f}** | "
              f"**{verdict(cpu_side)}** |",
              f"| **projection: the lowest of the scaling, CPU, one-thread and disk bounds** | **{low:,.0f}** | "
              f"**{verdict(low)}** |"]
    if cores in best:  # run on that many cores (the GPU machine): the measurement decides, not the projections
        rate = best[cores]["audio_s"] / best[cores]["wall_s"]
        lines.append(f"| **measured: the whole runs on {cores} cores (section 3; each store's fixed costs included)** | "
                     f"**{rate:,.0f}** | **{verdict(rate)}** |")
        if sustained and cores in sustained:
            rate = sustained[cores]["audio_s"] / sustained[cores]["wall_s"]
            lines.append(f"| **measured: sustained on {cores} cores (section 3c)** | **{rate:,.0f}** | "
                         f"**{verdict(rate)}** |")
    if cores in best:
        lines += ["", f"Measured on {cores} cores: the measured rows decide, not the projections (the sustained rate, "
                  "where measured, as an hours-long corpus sees it)."]
    lines += ["", "What it assumes: the GPU machine's cores are as fast as these and its memory bandwidth grows with "
              "them; the model's host-side cost is that of the stand-in (one new float32 block per batch, as a "
              "device-to-host copy makes); the work splits over cores as it does here on two (prepare and chunk "
              "threads sized to the cores, `sergen.store`); the GIL is not the limit (the one-thread bound counts "
              "each serial thread's CPU, not their sum under the GIL); the one-thread bound includes each store's "
              "fixed costs (creating it, its small arrays, its ledger, the pipeline's filling and draining: five stores "
              "for under two hours of audio), so it is low for hours-long corpora, and so is the whole runs' scaling "
              "bound (the sustained rate, where measured, takes those costs out); "
              "the disk bound is this machine's shared disk (its rate varies from run to run), and 1 GB/s of "
              f"float16 frames (WavLM-Large at {target:,.0f}×) needs a disk that takes it."]
    return lines + memory_lines(memory, neighbours)


FREE_CORE_SCALING = 1.8  # a compute job's gain from a second core when nothing else runs: 1.89–1.98× here


def memory_lines(memory: dict[str, dict[int, float]] | None, neighbours: dict[str, dict] | None) -> list[str]:
    """What sections 3b' and 3d say of the wall-clock rows: whether this machine's second core adds memory
    bandwidth, and how much a neighbour that only moves memory slows the one-core feed (none without them)."""
    said = []
    if memory and all(n in memory.get(k, {}) for k in ("copy", "compute") for n in (1, 2)):
        copy, compute = (memory[k][2] / memory[k][1] for k in ("copy", "compute"))
        said.append(f"on this machine a second core adds {copy:.2f}× to a job that only moves memory and {compute:.2f}× "
                    "to one that only computes (section 3b')")
    if neighbours and "alone" in neighbours:
        alone = neighbours["alone"]["wall_s"]
        slower = {k: v["wall_s"] / alone for k, v in neighbours.items() if k != "alone"}
        if "copy" in slower and "compute" in slower:
            said.append(f"the one-core feed takes {slower['copy']:.2f}× its time alone beside a neighbour that only "
                        f"moves memory and {slower['compute']:.2f}× beside one that only computes (section 3d)")
    if not said:
        return []
    doubts = []
    if memory and 2 in memory.get("compute", {}) and memory["compute"][2] / memory["compute"][1] < FREE_CORE_SCALING:
        doubts.append(f"a job that only computes gained {memory['compute'][2] / memory['compute'][1]:.2f}× from the "
                      f"second core, under the {FREE_CORE_SCALING}× a free core gives: another load shared the cores")
    if neighbours and "copy" in neighbours and "compute" in neighbours and \
            neighbours["compute"]["wall_s"] >= neighbours["copy"]["wall_s"]:
        doubts.append("the feed was slowed as much by the neighbour that only computes as by the one that moves "
                      "memory: the neighbours do not tell memory from a busy core")
    if doubts:
        return ["", "**These memory figures do not tell (a busy machine):** " + "; ".join(doubts) + ". Rerun with "
                "nothing else running. What they measured: " + "; ".join(said) + "."]
    return ["", "The wall-clock rows and this machine's memory: " + "; ".join(said) + ". Where a second core adds "
            "little memory bandwidth, the feed's passes over memory (float32 output, float16 copy, bitshuffle, "
            "compression, the page cache's copy) cannot go faster on two cores here, whatever parallel work the "
            "pipeline offers; the wall-clock scaling above then measures this machine's memory as much as the "
            "pipeline, and the assumption that the GPU machine's memory bandwidth grows with its cores is the "
            "one to check there (`--cores 1,2,4,8,16`)."]


# -- 3. feed ceiling ----------------------------------------------------------------------------------
def child(ws: Path, cores: int, stores: Path, corpora: list[str], with_torch: bool = True) -> dict:
    """In a fresh interpreter: pinned to ``cores`` cores, extract ``corpora`` with the stand-in (with torch
    imported, as a GPU model's process has it, unless ``with_torch`` is false)."""
    import resource

    os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:cores]))
    if with_torch:
        import torch  # noqa: F401 - the stand-in's process is a torch model's (see the module docstring)
    from sergen.config import use_workspace
    from sergen.extract import extract

    from thread_cpu import ThreadCPU

    with registered(), use_workspace(ws):
        extract(STAND_IN, corpora[-1], stores_root=stores / "warmup", show_progress=False)  # starts the pool
        start, cpu0, audio_s = time.perf_counter(), cpu_seconds(), 0.0
        faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        with ThreadCPU() as threads:
            for corpus in corpora:
                report = extract(STAND_IN, corpus, stores_root=stores / "timed", show_progress=False)
                assert report.complete, report.failures
                audio_s += report.audio_s
        wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu0 - threads.own_cpu_s
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0
    from sergen.threads import available_cores

    stored = sum(p.stat().st_size for p in (stores / "timed").rglob("*") if p.is_file())
    return {"cores": available_cores(), "audio_s": audio_s, "wall_s": wall, "cpu_s": cpu, "store_bytes": stored,
            "page_faults": faults,
            "roles": threads.by_role(), "busiest": threads.busiest(), "runnable": threads.runnable_shares(),
            "alone": threads.alone_shares()}


def disk_write_rate(folder: Path, mib: int = 1024, block_mib: int = 8) -> tuple[float, float]:
    """(MB/s into the page cache, MB/s to the disk with ``fsync``) writing ``mib`` MiB of incompressible bytes
    into ``folder``, the filesystem the stores were written to."""
    block = np.random.default_rng(0).integers(0, 256, block_mib << 20, dtype=np.uint8).tobytes()
    path = folder / "disk-rate.bin"
    start = time.perf_counter()
    with open(path, "wb") as f:
        for _ in range(mib // block_mib):
            f.write(block)
        cached = time.perf_counter() - start
        f.flush()
        os.fsync(f.fileno())
    synced = time.perf_counter() - start
    path.unlink()
    size = (mib // block_mib) * len(block) / 1e6
    return size / cached, size / synced


def cpu_seconds() -> float:
    """User + system CPU seconds of this process (all its threads) and of its finished children."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def feed(ws: Path, work: Path, cores: int, corpora: list[str], run: int, with_torch: bool = True,
         neighbour: str | None = None) -> dict:
    """One feed run in a fresh interpreter on the first ``cores`` cores; with ``neighbour`` (a
    ``memory_scaling.KINDS`` job) running on the last core this process may use, which must be another."""
    stores = work / f"feed-{cores}-{run}"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(cores), "--ws", str(ws),
           "--stores", str(stores), "--corpora", ",".join(corpora)] + ([] if with_torch else ["--no-torch"])
    if neighbour is None:
        done = subprocess.run(cmd, capture_output=True, text=True)
    else:
        from memory_scaling import Hog

        mine = sorted(os.sched_getaffinity(0))
        if len(mine) <= cores:
            raise SystemExit(f"a neighbour needs a core the feed does not use: {len(mine)} core(s) for {cores}")
        with Hog(neighbour, mine[-1]):
            done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"feed-ceiling child failed:\n{done.stderr[-3000:]}")
    import shutil

    shutil.rmtree(stores, ignore_errors=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def best_feeds(ws: Path, work: Path, core_counts: list[int], corpora: list[str], repeats: int, with_torch: bool,
               label: str) -> dict[int, dict]:
    """The fastest of ``repeats`` feed runs per core count, the core counts alternating within each repeat."""
    best: dict[int, dict] = {}
    for run in range(repeats):
        for cores in core_counts:
            got = feed(ws, work, cores, corpora, run, with_torch)
            if cores not in best or got["wall_s"] < best[cores]["wall_s"]:
                best[cores] = got
            print(f"feed ceiling, {label}, {cores} core(s), run {run + 1}: wall {got['wall_s']:.2f} s, "
                  f"CPU {got['cpu_s']:.2f} s, {got['audio_s'] / got['wall_s']:,.0f} audio s per s", flush=True)
    return best


def beside_neighbours(ws: Path, work: Path, corpora: list[str], repeats: int, with_torch: bool) -> dict[str, dict]:
    """The one-core feed alone and beside each ``memory_scaling.KINDS`` neighbour on another core: the best of
    ``repeats`` each, alternating (section 3d)."""
    from memory_scaling import KINDS

    best: dict[str, dict] = {}
    for run in range(repeats):
        for neighbour in ("alone", *KINDS):
            got = feed(ws, work, 1, corpora, run, with_torch, None if neighbour == "alone" else neighbour)
            if neighbour not in best or got["wall_s"] < best[neighbour]["wall_s"]:
                best[neighbour] = got
            print(f"feed ceiling, one core, {neighbour}, run {run + 1}: wall {got['wall_s']:.2f} s, "
                  f"CPU {got['cpu_s']:.2f} s", flush=True)
    return best


def neighbour_lines(best: dict[str, dict]) -> list[str]:
    """The table of ``beside_neighbours``: each run's rate, and how much slower than alone."""
    from memory_scaling import KINDS

    alone = best["alone"]["audio_s"] / best["alone"]["wall_s"]
    lines = ["| the other core runs | wall (s) | audio s per s | against alone | CPU (s) |", "|---|---:|---:|---:|---:|"]
    for name, got in best.items():
        rate = got["audio_s"] / got["wall_s"]
        lines.append(f"| {'nothing' if name == 'alone' else KINDS[name].split(',')[0]} | {got['wall_s']:.2f} | "
                     f"{rate:,.0f} | {rate / alone:.2f}× | {got['cpu_s']:.2f} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=float(os.environ.get("SERGEN_BENCH_SCALE", 4)),
                        help="demo corpora scale (SERGEN_BENCH_SCALE; default 4: about 6,700 s of audio, enough that "
                             "each store's fixed costs weigh about as little as at real size)")
    parser.add_argument("--long-scale", type=float, default=float(os.environ.get("SERGEN_BENCH_LONG_SCALE", 10)),
                        help="scale of the longer demo corpora for the sustained rate (section 3c; default 10: about "
                             "15,000 s of audio; 0 skips it)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per core count, alternating (default 2)")
    parser.add_argument("--out", type=Path, default=HERE / "feed_ceiling.md")
    parser.add_argument("--cores", default="1,2", help="core counts of the feed ceiling, e.g. 1,2,4,8,16")
    parser.add_argument("--no-torch", action="store_true",
                        help="the extracting process does not import torch (numpy's float16 cast, as for melspec)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ws", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--stores", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--corpora", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.ws, args.child, args.stores, args.corpora.split(","), not args.no_torch)))
        return 0
    from decode_modes import measure
    from loop_baseline import demo_files
    from run import machine
    from sergen import CORPORA

    lines = ["# Feed ceiling of the CPU side (issue 22)", "", f"Machine: {machine()}; this process may use "
             f"{len(os.sched_getaffinity(0))} cores.", "", f"Before: `{uptime()}`.", "",
             "Generated by `python bench/feed_ceiling.py` (part of `make bench`); see its docstring.", ""]
    with tempfile.TemporaryDirectory(dir=os.environ.get("SERGEN_BENCH_TMP")) as tmp:
        work = Path(tmp)
        ws, files, audio_s = demo_files(work, args.scale)
        lines += [f"Demo corpora at scale {args.scale:g}: {len(files)} files, {audio_s:,.0f} s of audio.", ""]

        import soundfile as sf

        sample, sample_s = [], 0.0
        for path in files[:: max(1, len(files) // 400)]:  # spread over the corpora, ≈ 400 files
            sample.append(path)
            sample_s += sf.info(path).duration
        stages = stage_profile(sample, work)
        lines += ["## 1. Stage profile (each stage alone, serially, one core)", "",
                  f"{len(sample)} of the files, {sample_s:,.0f} s of audio.", "",
                  "| stage | seconds | audio s per s | note |", "|---|---:|---:|---|"]
        lines += [f"| {name} | {s:.3f} | {sample_s / s:,.0f} | {note} |" for name, s, note in stages]
        lines += ["", f"Load: `{uptime()}`.", ""]
        print("\n".join(lines[-len(stages) - 4:]), flush=True)

        modes = measure(sample, args.repeats)
        serial = modes[0][2]
        lines += ["## 2. Threads or processes: decode + resample + log-Mel", "",
                  f"Per file, best of {args.repeats} alternating. Warm pool: extraction's own process pool, "
                  "started before the timings (it outlives an `extract` call); fresh pool: a new pool each "
                  "time, its start included (a cold `sergen extract`).", "",
                  "| mode | workers | seconds | × serial |", "|---|---:|---:|---:|"]
        lines += [f"| {mode} | {w} | {s:.2f} | {serial / s:.2f} |" for mode, w, s in modes]
        lines += ["", f"Load: `{uptime()}`.", ""]
        print("\n".join(lines[-len(modes) - 3:]), flush=True)

        corpora, core_counts = list(CORPORA), [int(c) for c in args.cores.split(",")]
        best = best_feeds(ws, work, core_counts, corpora, args.repeats, not args.no_torch, f"scale {args.scale:g}")
        lines += ["## 3. Feed ceiling with a free WavLM-Large-shaped model (4 × 1024-d at 50 Hz)", "",
                  f"`extract` of the five demo corpora in a fresh interpreter pinned to the cores; best of "
                  f"{args.repeats}, alternating.", "",
                  "CPU seconds: the extracting process's threads (and worker processes, if any). On a shared "
                  "machine the wall figures follow the load; audio seconds per CPU second (the pipeline's cost) "
                  "and the cores' use (CPU ÷ wall ÷ cores) follow it less.", "",
                  "| cores | audio (s) | wall (s) | audio s per s | per core | scaling | CPU (s) | audio s per CPU s "
                  "| cores' use | page faults |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        one = best[1]["audio_s"] / best[1]["wall_s"]
        for cores, got in sorted(best.items()):
            rate = got["audio_s"] / got["wall_s"]
            lines.append(f"| {got['cores']} | {got['audio_s']:,.0f} | {got['wall_s']:.2f} | {rate:,.0f} | "
                         f"{rate / got['cores']:,.0f} | {rate / one:.2f}× | {got['cpu_s']:.2f} | "
                         f"{got['audio_s'] / got['cpu_s']:,.0f} | {got['cpu_s'] / got['wall_s'] / got['cores']:.0%} | "
                         f"{got.get('page_faults', 0):,} |")
        lines += ["", "### Where each run's CPU went, by thread (best run of each core count)", "",
                  "CPU: each thread's own seconds on a core (`/proc/self/task/*/schedstat`, sampled every 0.02 s: "
                  "`bench/thread_cpu.py`); waiting: its seconds runnable but waiting for a core (the machine's "
                  "other load shows here, not in CPU).", "",
                  "| cores | threads' role | threads | CPU (s) | waiting for a core (s) | audio s per CPU s |",
                  "|---:|---|---:|---:|---:|---:|"]
        for cores, got in sorted(best.items()):
            for name, (cpu, wait, n) in got.get("roles", {}).items():
                if cpu >= 0.005:
                    lines.append(f"| {got['cores']} | {name} | {n} | {cpu:.2f} | {wait:.2f} | {got['audio_s'] / cpu:,.0f} |")
        lines += ["", "### How many of its threads were ready to run (best run of each core count)", "",
                  "Share of samples (every 20 ms) with 0, 1, 2, 3 or more of the process's threads runnable: on a core "
                  "or ready and waiting for one (`bench/thread_cpu.py`). A thread counts as ready whatever the "
                  "machine's other load, so this shows the parallel work the pipeline offers; time with one "
                  "runnable thread is serial on any number of cores, time with none is waiting (disk, start-up).", "",
                  "| cores | none | 1 | 2 | 3 or more | the one runnable thread, by role (share of all samples) |",
                  "|---:|---:|---:|---:|---:|---|"]
        for cores, got in sorted(best.items()):
            if got.get("runnable"):
                alone = ", ".join(f"{r} {v:.0%}" for r, v in got.get("alone", {}).items() if v >= 0.01)
                lines.append(f"| {got['cores']} | " + " | ".join(f"{v:.0%}" for v in got["runnable"]) + f" | {alone} |")
        cached, synced = disk_write_rate(work)
        lines += ["", "## 3b. This machine's disk", "",
                  f"1 GiB of incompressible bytes written where the stores were: {cached:,.0f} MB/s into the page "
                  f"cache, {synced:,.0f} MB/s to the disk (`fsync`). The stand-in's stores hold "
                  f"{best[max(best)]['store_bytes'] / best[max(best)]['audio_s'] / 1e6:.2f} MB per audio second.",
                  "", f"Load: `{uptime()}`."]
        memory = None
        if len(os.sched_getaffinity(0)) >= 2:
            from memory_scaling import scaling, scaling_lines

            memory = scaling(args.repeats)
            lines += ["", "## 3b'. This machine's memory: what a second core adds", "",
                      f"One process per core, on 1 core and on 2 at once, best of {args.repeats} "
                      "(`bench/memory_scaling.py`): a job that only moves memory, and one that only computes.", ""]
            lines += scaling_lines(memory)
            lines += ["", f"Load: `{uptime()}`."]
        sustained = None
        if args.long_scale:
            long_ws, long_files, long_audio = demo_files(work / "long", args.long_scale)
            long = best_feeds(long_ws, work / "long", core_counts, corpora, args.repeats, not args.no_torch,
                              f"scale {args.long_scale:g}")
            sustained = sustained_rates(best, long)
            lines += ["", "## 3c. Sustained rate: each store's fixed costs taken out", "",
                      f"The same five stores from the demo corpora at scale {args.long_scale:g} ({len(long_files)} "
                      f"files, {long_audio:,.0f} s of audio), best of {args.repeats}, alternating. Both runs pay each "
                      "store's fixed costs once (creating it, filling and draining the pipeline, its ledger), so the "
                      "audio the longer corpora add, over the wall and CPU seconds they add, is the rate the pipeline "
                      "sustains: what an hours-long corpus sees.", ""]
            lines += sustained_table(best, long, sustained)
            lines += ["", f"Load: `{uptime()}`."]
        neighbours = None
        if len(os.sched_getaffinity(0)) >= 2:
            neighbours = beside_neighbours(ws, work, corpora, args.repeats, not args.no_torch)
            lines += ["", "## 3d. The feed on one core beside a neighbour on the other", "",
                      f"The one-core feed of section 3, alone and beside each job of section 3b' running on the "
                      f"other core, best of {args.repeats}, alternating. A feed slowed by a neighbour that only "
                      "moves memory, and not by one that only computes, shares the machine's memory bandwidth: "
                      "the part of its work that a second core here cannot speed up.", ""]
            lines += neighbour_lines(neighbours)
            lines += ["", f"Load: `{uptime()}`."]
        if 1 in best and 2 in best:
            lines += [""] + projection_lines(best, synced, sustained=sustained, memory=memory, neighbours=neighbours)
        lines += ["", f"After: `{uptime()}`.", ""]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines[-len(best) - 8:]))
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``make bench``: sergen's speed, each figure against a baseline measured in the same run, on this machine.

1. extraction throughput (audio seconds per wall second) of ``sergen extract`` against the per-file
   pattern of the FAD toolkit (load one file, embed, save one ``.npy``), for melspec and cdpam-content;
2. averaged windows per second from the sampler against a naive loader (per-file ``.npy`` load + mean
   per sample), and as a fraction of this machine's memory bandwidth;
3. wall time of a full 5 × 5 grid with both heads on the demo stores;
4. CLAP 2023's forward (full-size architecture) batched by the extractor against one window at a time.

Writes ``bench/results.md``. ``python bench/run.py --quick`` runs smaller inputs.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def machine() -> str:
    cpu = "unknown CPU"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import torch

    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM; Python {platform.python_version()}, "
            f"numpy {np.__version__}, torch {torch.__version__}")


class PeakRSS:
    """Peak resident memory of this process and its children while the block runs (sampled every 50 ms):
    ``gib`` counts every resident page, ``private_gib`` leaves out file-backed shared pages (a memory-mapped
    bank that several processes map is resident once, in the page cache)."""

    def __enter__(self):
        import threading

        import psutil

        self.peak, self.private, self._stop = 0, 0, threading.Event()
        me = psutil.Process()

        def sample():
            while not self._stop.is_set():
                try:
                    infos = [p.memory_info() for p in [me, *me.children(recursive=True)]]
                except psutil.Error:
                    infos = []
                self.peak = max(self.peak, sum(i.rss for i in infos))
                self.private = max(self.private, sum(i.rss - i.shared for i in infos))
                self._stop.wait(0.05)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def gib(self) -> float:
        return self.peak / 2**30

    @property
    def private_gib(self) -> float:
        return self.private / 2**30


def per_file_baseline(model: str, manifest, root: Path, out: Path) -> tuple[float, float]:
    """The FAD-toolkit pattern: per file, load (librosa, resampling on load), embed, np.save."""
    import librosa

    from sergen.extractors import get_extractor

    ex = get_extractor(model)
    out.mkdir(parents=True, exist_ok=True)
    audio_s = 0.0
    start = time.perf_counter()
    for row in manifest.itertuples():
        wave, _ = librosa.load(root / row.path, sr=ex.sample_rate)
        wave = np.pad(wave, (0, max(0, ex.min_samples - len(wave))))
        np.save(out / f"{row.utt_id}.npy", ex.embed_one(wave))
        audio_s += len(wave) / ex.sample_rate
    return audio_s, time.perf_counter() - start


def bench_extraction(work: Path, demo: Path, models: dict[str, list[str]]) -> list[str]:
    from sergen.corpora import load_manifest, read_corpus, write_manifest
    from sergen.extract import extract

    lines = ["## Extraction throughput", "",
             "| model | corpus subset | utterances | audio (s) | sergen extract (× real time) | per-file baseline (× real time) | ratio |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for model, corpora in models.items():
        warm = read_corpus(corpora[0][0], demo / corpora[0][0])
        warm.manifest = warm.manifest.iloc[:3]
        warm_path = write_manifest(warm, work / "manifests" / f"warmup-{model}.csv")
        extract(model, corpora[0][0], stores_root=work / "warmup", manifest_file=warm_path, overwrite=True)
        per_file_baseline(model, load_manifest(corpora[0][0], warm_path)[0], demo / corpora[0][0], work / "warmup_npy")
        for corpus, limit in corpora:
            result = read_corpus(corpus, demo / corpus)
            result.manifest = result.manifest.iloc[:limit]
            mpath = write_manifest(result, work / "manifests" / f"{corpus}-{model}.csv")
            manifest, _ = load_manifest(corpus, mpath)
            report = extract(model, corpus, stores_root=work / "stores", manifest_file=mpath, overwrite=True)
            audio, wall = per_file_baseline(model, manifest, demo / corpus, work / "npy" / model / corpus)
            ours = report.audio_s / report.wall_s
            base = audio / wall
            lines.append(f"| {model} | {corpus} (first {len(manifest)}) | {len(manifest)} | {report.audio_s:.0f} | "
                         f"{ours:.3g}× | {base:.3g}× | {ours / base:.2f} |")
            print(lines[-1], flush=True)
    return lines + [""]


def bench_clap(work: Path, quick: bool) -> list[str]:
    """CLAP 2023's full-size architecture (random weights saved in the published checkpoint's format), through
    the extractor: 7 s windows per second batched as the extractor runs them, against one window per forward."""
    import torch

    from sergen.extractors import get_extractor
    from sergen.extractors.clap import FILENAME
    from sergen.extractors.htsat import CLAPAudioEncoder

    torch.manual_seed(0)
    state = {f"audio_encoder.{k}": v for k, v in CLAPAudioEncoder().state_dict().items()}
    torch.save({"model": state}, work / FILENAME)
    ex = get_extractor("clap-2023", weights=work / FILENAME).load()
    rng = np.random.default_rng(0)
    n_windows = 16 if quick else 48
    windows = (0.1 * rng.standard_normal((n_windows, ex.window_samples))).astype(np.float32)
    ex.embed([windows[0]])  # warm-up
    start = time.perf_counter()
    for w in windows:
        ex.embed([w])
    single = n_windows / (time.perf_counter() - start)
    start = time.perf_counter()
    ex.embed(list(windows))
    batched = n_windows / (time.perf_counter() - start)
    lines = ["## CLAP 2023 on this CPU", "",
             f"Full-size HTSAT + projection ({sum(p.numel() for p in ex.model.parameters()) / 1e6:.1f} M parameters, "
             "random weights; speed does not depend on their values), torch threads: "
             f"{torch.get_num_threads()}.", "",
             "| run | 7 s windows / s | ratio |", "|---|---:|---:|",
             f"| one window per forward (baseline) | {single:.2f} | 1.00 |",
             f"| extractor batches ({n_windows} windows, 16 per forward) | {batched:.2f} | {batched / single:.2f} |", "",
             "Real time: an utterance up to 7 s is one window; a longer one needs 1 + ⌈(N − 7 s)/hop⌉, so at "
             f"the default 1 s hop long audio runs at ≈{batched:.1f}× real time and at a 3.5 s hop ≈{3.5 * batched:.1f}×.",
             ""]
    print("\n".join(lines), flush=True)
    return lines


def memory_bandwidth_gbs() -> float:
    src = np.ones(2**28 // 4, np.float32)  # 256 MiB
    dst = np.empty_like(src)
    best = 0.0
    for _ in range(5):
        t = time.perf_counter()
        np.copyto(dst, src)
        best = max(best, 2 * src.nbytes / (time.perf_counter() - t) / 1e9)  # read + write
    return best


def bench_sampler(work: Path, n_utts: int, frames_per_utt: int, dim: int, seconds: float = 3.0) -> list[str]:
    from sergen.train.framebank import build_framebank
    from sergen.train.sampler import SamplerConfig, WindowSampler

    rng = np.random.default_rng(0)
    lengths = rng.integers(frames_per_utt // 2, frames_per_utt * 3 // 2, n_utts)
    frames = [rng.standard_normal((int(n), dim)).astype(np.float16) for n in lengths]
    labels = rng.integers(0, 4, n_utts)
    npy = work / "sampler_npy"
    npy.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames):
        np.save(npy / f"{i}.npy", f)
    win = 150  # frames per window (3 s at 50 Hz)

    count, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:  # naive: one file load and one mean per sample
        i = int(rng.integers(n_utts))
        x = np.load(npy / f"{i}.npy")
        s = int(rng.integers(max(1, len(x) - win)))
        x[s:s + win].astype(np.float32).mean(0)
        count += 1
    naive = count / (time.perf_counter() - t0)

    t = time.perf_counter()
    bank = build_framebank(frames, labels, [0] * n_utts, list(range(n_utts)), [True] * n_utts)
    build_s = time.perf_counter() - t
    lines = ["## Sampler: averaged windows per second", "",
             f"{n_utts} utterances × ~{frames_per_utt} frames × {dim}-d float16 ({sum(lengths) * dim * 2 / 2**30:.2f} GiB), "
             f"windows of up to {win} frames, page cache warm. Frame bank built in {build_s:.1f} s.", "",
             "| loader | windows/s | vs naive |", "|---|---:|---:|",
             f"| naive: per-file `.npy` load + mean per sample | {naive:,.0f} | 1.0 |"]
    bandwidth = memory_bandwidth_gbs()
    steps = head_step_rates(dim)
    for name, cfg in [("store bank, plain windows", SamplerConfig(window_s=(1.0, 3.0), mix_prob=0, mask_frac=0, noise_std=0)),
                      ("store bank, default stream (masking, mixing, noise)", SamplerConfig(window_s=(1.0, 3.0)))]:
        sampler = WindowSampler(bank, 50.0, cfg, seed=0)
        count, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            sampler.sample(256)
            count += 256
        rate = count / (time.perf_counter() - t0)
        lines.append(f"| {name}, batch 256 | {rate:,.0f} | {rate / naive:,.0f}× |")
        print(lines[-1], flush=True)
    pooled = pooling_rates(frames, labels, n_utts, seconds)
    for name, value in pooled.items():
        lines.append(f"| store bank, default stream, --pool {name}, batch 256 | {value:,.0f} | {value / naive:,.0f}× |")
    lines.append(f"| (copy bandwidth measured here: {bandwidth:.1f} GB/s) | | |")
    lines += ["", f"Statistics pooling (`--pool mean+std`: mean and std from a second prefix table of sums of "
              f"squares, 2×D inputs) draws {pooled['mean+std'] / pooled['mean']:.2f}× the windows per second of "
              "`--pool mean` on the same frames (rounds of each alternated in one process; its bank holds twice "
              "the bytes)."]
    lines += ["", "The head's training step for comparison (batch 128, 1024-d input, one torch thread as in a grid "
              "worker; the sampler must stay well ahead of it):", "", "| head | steps/s | windows/s it consumes | "
              "default stream ÷ consumption |", "|---|---:|---:|---:|"]
    for head, per_s in steps.items():
        lines.append(f"| {head} | {per_s:,.0f} | {per_s * 128:,.0f} | {rate / (per_s * 128):.1f}× |")
    return lines + [""]


def pooling_rates(frames, labels, n_utts: int, seconds: float) -> dict[str, float]:
    """Default-stream windows/s of mean and mean+std pooling, in alternating rounds (same process, same frames)."""
    from sergen.train.framebank import build_framebank
    from sergen.train.sampler import WindowSampler

    samplers = {pool: WindowSampler(build_framebank(frames, labels, [0] * n_utts, list(range(n_utts)), [True] * n_utts,
                                                    pool=pool), 50.0, seed=0) for pool in ("mean", "mean+std")}
    counts, spent = dict.fromkeys(samplers, 0), dict.fromkeys(samplers, 0.0)
    for _ in range(3):
        for pool, sampler in samplers.items():
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < seconds / 3:
                sampler.sample(256)
                counts[pool] += 256
            spent[pool] += time.perf_counter() - t0
    return {pool: counts[pool] / spent[pool] for pool in samplers}


def head_step_rates(dim: int, seconds: float = 3.0) -> dict[str, float]:
    """Training steps per second of each head on random batches of 128 (forward, backward, Adam)."""
    import torch

    from sergen.train.heads import make_head

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out = {}
    for head in ("linear", "mlp"):
        model = make_head(head, dim, 4, np.zeros(dim, np.float32), np.ones(dim, np.float32))
        optimiser, loss_fn = torch.optim.Adam(model.parameters(), 1e-3), torch.nn.CrossEntropyLoss()
        x, y = torch.randn(128, dim), torch.randint(0, 4, (128,))
        count, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            loss = loss_fn(model(x), y)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            count += 1
        out[head] = count / (time.perf_counter() - t0)
    torch.set_num_threads(threads)
    return out


def bench_grid(work: Path, demo: Path) -> list[str]:
    from sergen import CORPORA
    from sergen.corpora import read_corpus, write_manifest
    from sergen.experiments.grid import grid_specs, run_grid
    from sergen.extract import extract

    os.environ["SERGEN_MANIFESTS"] = str(work / "grid_manifests")
    os.environ["SERGEN_STORES"] = str(work / "grid_stores")
    for corpus in CORPORA:
        write_manifest(read_corpus(corpus, demo / corpus))
        extract("melspec", corpus)
    lines = ["## Grid wall time", "", "| stores | combinations | workers | wall (s) | s per run |", "|---|---:|---:|---:|---:|"]
    for workers in (1, 2):
        specs = grid_specs(["melspec"], "each", heads=("linear", "mlp"))
        t = time.perf_counter()
        run_grid(specs, results_dir=work / f"grid_results_{workers}", workers=workers)
        wall = time.perf_counter() - t
        lines.append(f"| demo melspec (5 × 5, both heads) | {len(specs)} | {workers} | {wall:.1f} | {wall / len(specs):.2f} |")
        print(lines[-1], flush=True)
    return lines + [""]


def bench_msp_size(work: Path, n_utts: int, dim: int = 1024, mean_frames: int = 75) -> list[str]:
    """A synthetic store of MSP-Podcast size (~6 s utterances at Phi-4's 12.5 Hz, 1024-d float16), then
    the probe on it: frame bank built by streaming the store, training, testing."""
    import pandas as pd

    from sergen import LABELS
    from sergen.experiments.probe import resolve_spec, run_probe
    from sergen.store.writer import StoreWriter, create_store
    from sergen.train.loop import TrainConfig

    rng = np.random.default_rng(0)
    n_frames = rng.integers(mean_frames // 3, mean_frames * 5 // 3, n_utts)
    labels = rng.integers(0, 4, n_utts)
    plan = pd.DataFrame({
        "utt_id": [f"u{i:06d}" for i in range(n_utts)], "label": [LABELS[k] for k in labels],
        "native_label": "x", "speaker": [f"s{i % 1000}" for i in range(n_utts)], "gender": "F",
        "split": rng.choice(["train", "valid", "test"], n_utts, p=[0.75, 0.1, 0.15]), "path": "-",
        "duration_s": n_frames / 12.5, "n_frames": n_frames})
    stores = work / "msp_stores"
    t = time.perf_counter()
    group = create_store(stores / "synthetic-1024" / "msp.zarr", plan, {
        "model": "synthetic-1024", "corpus": "msp", "frame_rate": 12.5, "sample_rate": 16000, "synthetic": True,
        "weights": {}, "settings": {}, "manifest_sha256": "-"}, dim)
    writer = StoreWriter(group)
    centres = rng.standard_normal((4, dim)).astype(np.float32) * 0.01  # weak classes, strong utterance offsets
    step = 2000
    for first in range(0, n_utts, step):
        last = min(first + step, n_utts)
        frames = [(rng.standard_normal((int(n_frames[i]), dim), dtype=np.float32) + centres[labels[i]]
                   + 0.3 * rng.standard_normal(dim, dtype=np.float32)) for i in range(first, last)]
        writer.write_window(first, frames, [1] * (last - first))
    writer.mark_complete()
    write_s = time.perf_counter() - t
    size = sum(f.stat().st_size for f in (stores / "synthetic-1024" / "msp.zarr").rglob("*") if f.is_file())
    raw = int(n_frames.sum()) * dim * 2
    lines = ["## MSP-Podcast-size store", "",
             f"{n_utts:,} utterances × ~{mean_frames} frames × {dim}-d float16 = {raw / 2**30:.1f} GiB of frames "
             f"({size / 2**30:.1f} GiB on disk), written in {write_s:.0f} s.", "",
             "| step | wall (s) | peak RSS (GiB) | of it private (GiB) |", "|---|---:|---:|---:|"]
    from sergen.experiments import data
    from sergen.experiments.grid import run_grid

    def specs(*heads):
        return [resolve_spec("synthetic-1024", "msp", "msp", stores, head=head, n_boot=50,
                             training=TrainConfig(max_steps=1500)) for head in heads]

    steps = [
        ("probe linear: train on msp (bank streamed from the store into its cache file), test on msp", "linear"),
        ("probe mlp, same process (bank already loaded)", "mlp"),
        ("probe linear, a later process (bank mapped from the cache file, page cache warm)", "linear-again"),
        ("grid: linear and mlp on 2 workers, both mapping the one bank file", "grid"),
        ("probe linear with a RAM budget of a quarter of the bank: windows from rotating resident subsets "
         "(bank larger than RAM)", "linear-resident"),
    ]
    for text, step in steps:
        if step in ("linear-again", "linear-resident"):
            data._training_bank.cache_clear()
            data._store_bank.cache_clear()
            data._load_corpus.cache_clear()
        if step == "linear-resident":
            from sergen.train.resident import set_ram_budget

            set_ram_budget(int(n_frames[plan.split == "train"].sum()) * dim * 5 // 2 // 4)
        t = time.perf_counter()
        with PeakRSS() as peak:
            if step == "grid":
                run_grid(specs("linear", "mlp"), stores, work / "msp_results", workers=2, show_progress=False)
                detail = ""
            else:
                result = run_probe(specs(step.split("-")[0])[0], stores)
                detail = (f"; {result.steps.iloc[0]} steps, "
                          f"AUROC {result[result.metric == 'auroc'].value.iloc[0]:.2f}")
        lines.append(f"| {text}{detail} | {time.perf_counter() - t:.0f} | {peak.gib:.1f} | {peak.private_gib:.1f} |")
        print(lines[-1], flush=True)
    from sergen.train.resident import set_ram_budget

    set_ram_budget(None)
    naive_gib = raw / 2**30
    banks = sum(f.stat().st_size for f in (stores / ".banks").glob("*.npy"))
    lines += ["", f"A naive loader holding these frames as float32 arrays would need {2 * naive_gib:.1f} GiB; "
              f"the store bank (every utterance, float32 prefix sums at every second frame) is "
              f"{banks / 2**30:.1f} GiB.", ""]
    return lines


# the five corpora at their real 4-class sizes (train, valid, test utterances; mean duration in seconds)
REAL_SIZES = {"msp": ((50_494, 6_656, 10_779), 5.6), "iemocap": ((4_500, 500, 500), 4.5),
              "cremad": ((3_400, 750, 750), 2.5), "emodb": ((192, 75, 72), 2.4), "ravdess": ((576, 144, 144), 3.7)}


def write_real_stores(stores: Path, model: str, scale: float, frame_rate: float,
                      dim: int = 1024) -> tuple[dict[str, int], float]:
    """Five synthetic stores at the real sizes × ``scale``, written with sergen.store.writer. Frames carry
    class and corpus structure: a corpus offset, a class centre (shared, plus a corpus-specific part), an
    utterance offset and frame noise, so AUROCs are neither 0.5 nor 1.0. Noise rows come from a fixed pool
    (fast to generate); the structure is added per utterance."""
    import pandas as pd

    from sergen import LABELS
    from sergen.store.writer import StoreWriter, create_store

    rng = np.random.default_rng(0)
    pool = rng.standard_normal((1 << 16, dim), dtype=np.float32)
    shared = rng.standard_normal((4, dim), dtype=np.float32) * 0.08
    total_frames, t = {}, time.perf_counter()
    for k, (corpus, (splits, seconds)) in enumerate(REAL_SIZES.items()):
        counts = [max(8, int(round(n * scale))) for n in splits]
        n = sum(counts)
        n_frames = np.maximum(4, rng.gamma(6.0, seconds * frame_rate / 6.0, n).astype(np.int64))
        labels = rng.choice(4, n, p=[0.2, 0.15, 0.45, 0.2])
        split = np.repeat(["train", "valid", "test"], counts)
        plan = pd.DataFrame({"utt_id": [f"{corpus}{i:06d}" for i in range(n)], "label": [LABELS[c] for c in labels],
                             "native_label": "x", "speaker": [f"s{i % 200}" for i in range(n)], "gender": "F",
                             "split": split, "path": "-", "duration_s": n_frames / frame_rate, "n_frames": n_frames})
        group = create_store(stores / model / f"{corpus}.zarr", plan, {
            "model": model, "corpus": corpus, "frame_rate": frame_rate, "sample_rate": 16000, "synthetic": True,
            "weights": {}, "settings": {}, "manifest_sha256": "-"}, dim)
        writer = StoreWriter(group)
        corpus_offset = rng.standard_normal(dim, dtype=np.float32) * 0.5
        centres = shared + rng.standard_normal((4, dim), dtype=np.float32) * 0.04
        step = 2000
        for first in range(0, n, step):
            last = min(first + step, n)
            frames = []
            for i in range(first, last):
                at = int(rng.integers(len(pool) - n_frames[i]))
                frames.append(pool[at:at + n_frames[i]] + (corpus_offset + centres[labels[i]]
                              + 0.3 * rng.standard_normal(dim, dtype=np.float32)))
            writer.write_window(first, frames, [1] * (last - first))
        writer.mark_complete()
        total_frames[corpus] = int(n_frames.sum())
    return total_frames, time.perf_counter() - t


def run_cli_grid(env: dict, model: str) -> tuple[float, dict, str]:
    """``sergen grid`` over the real-size stores as a user runs it: wall seconds, the process tree's peak
    memory (``memory_trace.MemoryTrace.peak``: PSS split into anonymous and file-backed pages, GiB) and the
    memory plan it printed."""
    import subprocess

    from memory_trace import MemoryTrace

    cmd = [sys.executable, "-m", "sergen.cli", "grid", "--models", model, "--train", "each,iemocap+cremad,all",
           "--test", "all", "--heads", "linear,mlp", "--seeds", "0"]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    memory = MemoryTrace(proc.pid, every_s=1.0)  # smaps_rollup walks every mapped page: once a second
    out, _ = proc.communicate()
    memory.stop()
    wall = time.perf_counter() - t
    if proc.returncode:
        raise RuntimeError(f"the grid failed:\n{out[-3000:]}")
    lines = out.splitlines()
    at = next((k for k, line in enumerate(lines) if line.startswith("memory plan")), None)
    plan = "?"
    if at is not None:  # the console folds the plan at its width: joined again until its brackets close
        plan = lines[at].strip()
        for more in lines[at + 1:]:
            if plan.count("(") <= plan.count(")"):
                break
            plan += " " + more.strip()
    return wall, memory.peak(), plan


def bench_real_grid(work: Path, scale: float, scale_50hz: float) -> list[str]:
    """The full grid (7 training sets × 2 heads, one seed) on real-size stores at 12.5 Hz, cold and warm,
    and a scaled 50 Hz run for the WavLM-Large projection."""
    import shutil

    lines = ["## Real-size grid", "",
             "`sergen grid --train each,iemocap+cremad,all --test all --heads linear,mlp --seeds 0` (14 runs) on five "
             "synthetic 1024-d float16 stores at the real 4-class sizes (MSP-Podcast 50,494/6,656/10,779 utterances "
             "of ~5.6 s, IEMOCAP ~5.5k of ~4.5 s, CREMA-D ~4.9k of ~2.5 s, EmoDB 339, RAVDESS 864), written with "
             "`sergen.store.writer`. *Cold*: no store bank yet (built from the stores first); *warm*: banks exist, "
             "results deleted. Peak memory: all sergen processes together, sampled once a second "
             "(`bench/memory_trace.py`): PSS counts each shared page once, split at its peak into anonymous pages "
             "(interpreters, torch, utterance vectors, heads: memory the processes own) and file-backed ones (the "
             "mapped files: libraries, and before issue 26's memory target the store-bank pages, which are page cache: "
             "clean, shared, reclaimable; bank rows are now read from the files, not mapped); the anonymous peak on its "
             "own; RSS counts a mapped page in every process that maps it. Load: `uptime` before each run.", "",
             "| stores | frames (GiB float16) | budget | run | wall (s) | peak PSS (GiB) | of it anon / file | "
             "peak anon (GiB) | peak RSS (GiB) | load | memory plan |",
             "|---|---:|---|---|---:|---:|---|---:|---:|---|---|"]
    runs = [("12.5 Hz (Phi-4)", 12.5, scale, None)] if scale else []
    if scale_50hz:
        # the 50 Hz stores at a fraction of the utterances, with the RAM budget scaled the same way (beyond
        # the fixed per-process part), so banks and budget stand in the same ratio as at full size
        from sergen.experiments.memory_plan import PARENT_MIB, WORKER_MIB

        fixed = PARENT_MIB + 2 * WORKER_MIB
        runs.append(("50 Hz (WavLM-Large)", 50.0, scale_50hz, int(fixed + (12 * 1024 - fixed) * scale_50hz)))
    measured = {}
    for label, rate, frac, budget in runs:
        root = work / f"real_{int(rate * 10)}"
        model = "synthetic-1024"
        frames_of, write_s = write_real_stores(root / "stores", model, frac, rate)
        gib = sum(frames_of.values()) * 1024 * 2 / 2**30
        print(f"{label}: {gib:.1f} GiB of frames written in {write_s:.0f} s", flush=True)
        (root / "manifests").mkdir(parents=True, exist_ok=True)  # a SERGEN_MANIFESTS that does not exist is refused
        env = dict(os.environ, SERGEN_STORES=str(root / "stores"), SERGEN_RESULTS=str(root / "results"),
                   SERGEN_MANIFESTS=str(root / "manifests"), SERGEN_CACHE=str(root / "banks"),
                   SERGEN_CONFIG=str(root / "sergen.toml"))
        env.pop("SERGEN_BANK_CACHE_MIB", None)
        if budget:
            env["SERGEN_RAM_MIB"] = str(budget)
        budget_text = f"{budget:,} MiB" if budget else env.get("SERGEN_RAM_MIB", "default (half the RAM)")
        for run in ("cold", "warm"):
            shutil.rmtree(root / "results", ignore_errors=True)
            load = os.getloadavg()[0]
            wall, peak, plan = run_cli_grid(env, model)
            measured[(rate, run)] = (wall, peak["pss"], gib)
            lines.append(f"| {label}, {frac:g} × real size | {gib:.1f} | {budget_text} | {run} | {wall:.0f} | "
                         f"{peak['pss']:.1f} | {peak['anon']:.1f} / {peak['file']:.1f} | {peak['anon_peak']:.1f} | "
                         f"{peak['rss']:.1f} | {load:.1f} on {os.cpu_count()} cores | "
                         f"{plan.replace('memory plan: ', '')} |")
            print(lines[-1], flush=True)
        files = list((root / "banks").glob("*.npy"))  # banks under 256 MiB stay in each process's RAM
        on_disk = [c for c in frames_of if any(f.name.startswith(f"{model}-{c}-") for f in files)]
        banks = sum(f.stat().st_size for f in files)
        bank_ratio = banks / max(1, sum(frames_of[c] for c in on_disk) * 1024 * 2)  # 0: every bank in RAM
        lines.append(f"| (store-bank files: {banks / 2**30:.2f} GiB for the {', '.join(on_disk)} stores' "
                     f"float16 frames: {bank_ratio:.3f}×; smaller banks stay in RAM) | | | | | | | | | | |")
        shutil.rmtree(root)
    if scale_50hz and (50.0, "cold") in measured:
        cold, _, gib50 = measured[(50.0, "cold")]
        warm = measured[(50.0, "warm")][0]
        full_gib = gib50 / scale_50hz
        build_rate = gib50 / max(cold - warm, 1e-6)
        from sergen.experiments.memory_plan import PARENT_MIB, WORKER_MIB
        from sergen.train.resident import REPLACE_SHARE, ROTATE_EVERY

        full_budget = 12 * 1024
        subset = full_budget - PARENT_MIB - WORKER_MIB - 320  # one worker, ~320 MiB of 1024-d utterance vectors
        lines += ["", f"Projection for WavLM-Large at 50 Hz (one layer), from the 50 Hz run at {scale_50hz:g} × "
                  f"the utterances with the RAM budget scaled alike: {full_gib:.0f} GiB of float16 frames, "
                  f"{full_gib * bank_ratio:.0f} GiB of store banks; building them ≈ "
                  f"{full_gib / build_rate / 60:.0f} min at the {build_rate:.2f} GiB/s measured (cold − warm). "
                  f"Under a 12 GiB budget one worker samples a resident subset of ~{subset / 1024:.1f} GiB and "
                  f"re-reads {REPLACE_SHARE:.0%} of it every {ROTATE_EVERY} batches (~{subset * REPLACE_SHARE / 1024:.1f} "
                  "GiB per rotation, up to 30 rotations a run): the scaled run's warm grid "
                  f"({warm:.0f} s) is the sampling and training part; at full size these re-reads come from "
                  "disk, since the banks no longer fit in the page cache, and set the pace (not measured here). "
                  f"To sample the banks whole and shared, the budget must hold the `all` training set's rows "
                  f"(~{full_gib * bank_ratio * 0.8:.0f} GiB) plus ~3.5 GiB of processes: a 64 GiB machine with "
                  "SERGEN_RAM_MIB=48000, or the default half of a 96 GiB machine."]
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller inputs")
    parser.add_argument("--msp-size", type=int, default=50_000, help="utterances in the MSP-size store (0: skip)")
    parser.add_argument("--real-scale", type=float, default=float(os.environ.get("SERGEN_BENCH_SCALE", 1.0)),
                        help="real-size grid: fraction of the real utterance counts (SERGEN_BENCH_SCALE; 0: skip the 12.5 Hz run)")
    parser.add_argument("--real-scale-50hz", type=float,
                        default=float(os.environ.get("SERGEN_BENCH_SCALE_50HZ", 0.125)),
                        help="50 Hz projection run: fraction of the real utterance counts (0: skip)")
    parser.add_argument("--only", default="",
                        help="comma-separated sections to run, e.g. 'real-size grid'; their blocks replace the "
                             "same blocks of the existing results file, the rest of it is kept")
    parser.add_argument("--out", type=Path, default=HERE / "results.md")
    args = parser.parse_args()
    from sergen.corpora.demo import make_demo

    with tempfile.TemporaryDirectory(dir=os.environ.get("SERGEN_BENCH_TMP")) as tmp:
        work = Path(tmp)
        demo = work / "demo"
        if not args.only or set(args.only.split(",")) - {"real-size grid", "sampler", "MSP-size store"}:
            make_demo(demo, scale=0.5 if args.quick else 1.0)
        lines = ["# sergen benchmarks", "", f"Machine: {machine()}.", "",
                 "Every figure comes with its baseline from the same run. Demo corpora: synthetic, "
                 f"scale {0.5 if args.quick else 1.0}.", ""]
        sections = [
            ("extraction", lambda: bench_extraction(work, demo, {
                "melspec": [("iemocap", 10_000), ("ravdess", 10_000)], "egemaps": [("emodb", 10_000)],
                "cdpam-content": [("emodb", 15 if args.quick else 40)]})),
            ("clap-2023 forward", lambda: bench_clap(work, args.quick)),
            ("sampler", lambda: bench_sampler(work, 500 if args.quick else 2000, 300, 1024)),
            ("grid on demo stores", lambda: bench_grid(work, demo)),
        ]
        if args.msp_size:
            sections.append(("MSP-size store", lambda: bench_msp_size(work, 2_000 if args.quick else args.msp_size)))
        if args.real_scale or args.real_scale_50hz:
            sections.append(("real-size grid", lambda: bench_real_grid(
                work, 0.05 if args.quick else args.real_scale, 0.02 if args.quick else args.real_scale_50hz)))
        if args.only:
            sections = [s for s in sections if s[0] in args.only.split(",")]
        peaks = []
        for name, run in sections:
            with PeakRSS() as peak:
                lines += run()
            peaks.append(f"| {name} | {peak.gib:.1f} | {peak.private_gib:.1f} |")
        lines += ["## Peak memory", "", "Resident memory of the benchmark process and its worker processes, "
                  "sampled every 50 ms during each section; a memory-mapped file that several processes map is "
                  "counted once per process in RSS, and not at all in the private column.", "",
                  "| section | peak RSS (GiB) | of it private (GiB) |", "|---|---:|---:|",
                  *peaks, ""]
    out = args.out
    if args.only and out.exists():
        lines = merge_sections(out.read_text().splitlines(), lines)
    out.write_text("\n".join(lines))
    print(f"written {out}")


def blocks_of(lines: list[str]) -> list[tuple[str, list[str]]]:
    """(heading, lines) per ``## `` block; the text before the first heading under the key ''."""
    out = [("", [])]
    for line in lines:
        if line.startswith("## "):
            out.append((line, []))
        out[-1][1].append(line)
    return out


def merge_sections(old: list[str], new: list[str]) -> list[str]:
    """The old results with the blocks of a partial run put in place of their namesakes (new ones go
    before the peak-memory block); the partial run's own peak-memory table is left out."""
    fresh = {h: b for h, b in blocks_of(new) if h and h != "## Peak memory"}
    merged = []
    for heading, block in blocks_of(old):
        if heading == "## Peak memory":
            merged += [line for h, b in fresh.items() for line in b if h not in dict(blocks_of(old))]
        merged += fresh.get(heading, block)
    if "## Peak memory" not in dict(blocks_of(old)):
        merged += [line for h, b in fresh.items() for line in b if h not in dict(blocks_of(old))]
    return merged


if __name__ == "__main__":
    sys.exit(main())

"""Threads or processes for the CPU side of extraction (issue 22)? Per demo file: decode + resample
(``sergen.audio.load_audio``), then melspec's log-Mel — serially, on a thread pool and on a process pool of
1 and 2 workers, in one process, alternating, best of ``--repeats``. The answer decides ``sergen.extract_pool``'s
default; it is printed, and ``bench/feed_ceiling.py`` writes it into its report.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
_MEL = None


def _work(path: str) -> int:
    """Decode, resample to 16 kHz and log-Mel one file; the number of frames (the frames stay here)."""
    global _MEL
    from sergen.audio import load_audio

    if _MEL is None:
        from sergen.extractors.melspec import MelSpec

        _MEL = MelSpec()
    wave = load_audio(path, 16000)
    if len(wave) < 400:
        import numpy as np

        wave = np.pad(wave, (0, 400 - len(wave)))
    return len(_MEL.embed_one(wave))


def _pin_one_blas_thread() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)


def timed(mode: str, workers: int, files: list[str]) -> float:
    start = time.perf_counter()
    if mode == "serial":
        frames = sum(map(_work, files))
    elif mode == "threads":
        with ThreadPoolExecutor(workers) as pool:
            frames = sum(pool.map(_work, files, ))
    elif mode == "processes, fresh pool":
        ctx = mp.get_context("forkserver")
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_pin_one_blas_thread) as pool:
            frames = sum(pool.map(_work, files, chunksize=16))
    else:  # extraction's own pool, started and warm (it outlives one extract call)
        from decode_modes import _work as work  # by module name: extraction's workers never load a script
        from sergen.extract_pool import process_pool

        frames = sum(process_pool(workers, ("sergen.extractors.melspec",)).map(work, files, chunksize=16))
    assert frames > 0
    return time.perf_counter() - start


def measure(files: list[str], repeats: int, workers=(1, 2)) -> list[tuple[str, int, float]]:
    """(mode, workers, best seconds) for serial, threads and processes: extraction's pool, warm (it outlives
    an ``extract`` call), and a fresh pool each time, its start included (a cold ``sergen extract``)."""
    from threadpoolctl import threadpool_limits

    modes = [("serial", 1)] + [(m, w) for w in workers for m in ("threads", "processes, warm pool",
                                                                  "processes, fresh pool")]
    best = {m: float("inf") for m in modes}
    with threadpool_limits(limits=1):
        _work(files[0])  # imports and the filterbank, outside the timings
        for w in workers:  # one worker count at a time: extraction keeps one pool, of one size
            timed("processes, warm pool", w, files[:8 * w])  # started, its workers past their first call
            for _ in range(repeats):
                for mode, n in modes:
                    if n == w or (mode == "serial" and w == workers[0]):
                        best[(mode, n)] = min(best[(mode, n)], timed(mode, n, files))
    return [(mode, w, best[(mode, w)]) for mode, w in modes]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from sergen.corpora.demo import make_demo

    with tempfile.TemporaryDirectory() as tmp:
        roots = make_demo(Path(tmp), seed=0, scale=args.scale, corpora=["msp", "ravdess", "iemocap"])
        files = sorted(str(p) for r in roots.values() for p in Path(r).rglob("*.wav"))
        print(f"{len(files)} files", flush=True)
        for mode, w, s in measure(files, args.repeats):
            print(f"{mode:22s} {w} worker(s): {s:.2f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

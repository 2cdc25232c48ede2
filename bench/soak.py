"""``make soak``: kill extraction with SIGKILL at random moments, rerun it, and check the finished store
equals one made without interruption — ``--trials`` times (default 20) in this machine's pipeline (worker
threads, one background writer) and as many on a 2-worker Dask cluster; then as many trials that delete 1–3 random chunk files (frames, mean, std, status)
of a finished store and check that a rerun of extract repairs it to equal the clean store. Prints and
appends to ``bench/soak.md`` the trials survived / tried.

Each trial starts from an empty store, kills a fresh ``sergen extract`` subprocess after a random delay
(sometimes twice in a row), then lets a final run finish and compares every array with the clean store.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import zarr

HERE = Path(__file__).resolve().parent
ARRAYS = ("frames", "offsets", "mean", "std", "status")


def run_extract(env: dict, scheduler: str | None) -> subprocess.Popen:
    code = ("from sergen.extract import extract; "
            f"extract('egemaps', 'emodb', window_utts=4, show_progress=False, scheduler={scheduler!r})")
    # a session of its own, so a kill takes Dask's worker processes down with the extraction
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def kill_all(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def chunk_loss_trials(work: Path, clean_path: Path, reference, trials: int, rng) -> int:
    """Delete random chunk files of a finished store, rerun extract, compare with the clean store."""
    from sergen.extract import extract
    from sergen.store.digests import chunk_key
    from sergen.store.verify import verify_store

    survived = 0
    store = work / "stores" / "egemaps" / "emodb.zarr"
    for trial in range(trials):
        if store.exists():
            shutil.rmtree(store)
        shutil.copytree(clean_path, store)
        group = zarr.open_group(str(store), mode="r")  # chunk files named by each array's key encoding
        chunks = sorted(str(store / chunk_key(group[a], c)) for a in ("frames", "mean", "std", "status")
                        for c in range(group[a].cdata_shape[0]) if (store / chunk_key(group[a], c)).is_file())
        for victim in rng.choice(chunks, size=int(rng.integers(1, 4)), replace=False):
            Path(victim).unlink()
        report = extract("egemaps", "emodb", show_progress=False)
        got = zarr.open_group(str(store))
        ok = (report.complete and report.repaired > 0 and verify_store(store).ok
              and all(np.array_equal(got[a][:], reference[a][:]) for a in ARRAYS))
        survived += ok
        print(f"chunk-loss trial {trial + 1:2d}: {'repaired' if ok else 'NOT REPAIRED'} "
              f"({report.repaired} utterances rewritten)", flush=True)
    return survived


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20, help="trials per mode (local, then Dask)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-dask", action="store_true", help="local trials only")
    parser.add_argument("--no-chunk-loss", action="store_true", help="skip the deleted-chunk trials")
    args = parser.parse_args()

    from sergen.corpora import read_corpus, write_manifest
    from sergen.corpora.demo import make_demo
    from sergen.extract import extract
    from sergen.store.verify import verify_store

    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        make_demo(work / "demo", corpora=["emodb"])
        env = dict(os.environ, SERGEN_MANIFESTS=str(work / "manifests"), SERGEN_STORES=str(work / "stores"))
        os.environ.update(env)
        write_manifest(read_corpus("emodb", work / "demo" / "emodb"))
        t = time.perf_counter()
        clean = extract("egemaps", "emodb", stores_root=work / "clean", show_progress=False)
        full_s = time.perf_counter() - t + 2.0  # plus a subprocess's start-up
        reference = zarr.open_group(str(clean.path))
        modes = [None] + ([] if args.no_dask else ["local:2"])
        lines, all_ok = [], True
        for scheduler in modes:
            survived, kills_mid_run = 0, 0
            budget = full_s + (8.0 if scheduler else 0.0)  # a local cluster takes a few seconds to start
            for trial in range(args.trials):
                store = work / "stores" / "egemaps" / "emodb.zarr"
                if store.exists():
                    shutil.rmtree(store)
                for _ in range(1 + int(rng.random() < 0.3)):  # sometimes two kills before the final run
                    proc = run_extract(env, scheduler)
                    time.sleep(float(rng.uniform(0.3, budget)))
                    kills_mid_run += proc.poll() is None
                    kill_all(proc)
                final = run_extract(env, scheduler)
                final.wait()
                got = zarr.open_group(str(store))
                equal = all(np.array_equal(got[a][:], reference[a][:]) for a in ARRAYS)
                ok = final.returncode == 0 and equal and verify_store(store).ok
                survived += ok
                print(f"{scheduler or 'local'} trial {trial + 1:2d}: {'ok' if ok else 'LOST DATA'}", flush=True)
            all_ok &= survived == args.trials
            lines.append(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {scheduler or 'local (worker threads, background writer)'} extraction: "
                         f"{survived}/{args.trials} trials survived ({kills_mid_run} kills landed mid-extraction; "
                         "egemaps on the demo EmoDB, windows of 4 utterances)")
            print(lines[-1], flush=True)
        if not args.no_chunk_loss:
            ok = chunk_loss_trials(work, clean.path, reference, args.trials, rng)
            all_ok &= ok == args.trials
            lines.append(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, lost chunk files: {ok}/{args.trials} "
                         "stores repaired by a rerun to equal the clean store (1–3 of frames/mean/std/status chunks "
                         "deleted per trial)")
            print(lines[-1], flush=True)
    with open(HERE / "soak.md", "a") as fh:
        fh.write("\n".join(lines) + "\n")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())

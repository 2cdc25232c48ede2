"""``make soak``: kill extraction with SIGKILL at random moments, rerun it, and check the finished store
equals one made without interruption — ``--trials`` times (default 20). Prints and appends to
``bench/soak.md`` the trials survived / tried.

Each trial starts from an empty store, kills a fresh ``sergen extract`` subprocess after a random delay
(sometimes twice in a row), then lets a final run finish and compares every array with the clean store.
"""

from __future__ import annotations

import argparse
import os
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


def run_extract(env: dict) -> subprocess.Popen:
    code = ("from sergen.extract import extract; "
            "extract('egemaps', 'emodb', window_utts=4, show_progress=False)")
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
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
        survived, kills_mid_run = 0, 0
        for trial in range(args.trials):
            store = work / "stores" / "egemaps" / "emodb.zarr"
            if store.exists():
                import shutil

                shutil.rmtree(store)
            for _ in range(1 + int(rng.random() < 0.3)):  # sometimes two kills before the final run
                proc = run_extract(env)
                time.sleep(float(rng.uniform(0.3, full_s)))
                still_running = proc.poll() is None
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills_mid_run += still_running
            final = run_extract(env)
            final.wait()
            got = zarr.open_group(str(store))
            equal = all(np.array_equal(got[a][:], reference[a][:]) for a in ARRAYS)
            ok = final.returncode == 0 and equal and verify_store(store).ok
            survived += ok
            print(f"trial {trial + 1:2d}: {'ok' if ok else 'LOST DATA'}", flush=True)
    line = (f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC: {survived}/{args.trials} trials survived "
            f"({kills_mid_run} kills landed mid-extraction; egemaps on the demo EmoDB, windows of 4 utterances)")
    print(line)
    with open(HERE / "soak.md", "a") as fh:
        fh.write(line + "\n")
    return 0 if survived == args.trials else 1


if __name__ == "__main__":
    sys.exit(main())

"""``kill -9`` while whole frame chunks are compressed and stored on a pool of threads (issue 22): a rerun
that writes the utterances not marked written gives the store an uninterrupted run gives, chunk file for
chunk file. The writer script does what ``extract`` does on a rerun: it writes the pending utterances'
windows through ``WriteBehind``, then marks the store complete."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tests.store.test_frame_chunks import _chunk_files

WRITER = r"""
import sys
import numpy as np, pandas as pd, zarr
from sergen.store.write_behind import WriteBehind
from sergen.store.writer import StoreWriter, create_store

path, dim = sys.argv[1], 1024
n_frames = [int(n) for n in np.random.default_rng(3).integers(1, 1500, 40)]
rng = np.random.default_rng(5)
frames = [rng.standard_normal((n, dim)).astype(np.float32) for n in n_frames]
try:
    group = zarr.open_group(path, mode="r+")
    assert group.attrs["sergen"]["initialised"]
except Exception:
    plan = pd.DataFrame({"utt_id": [f"u{i}" for i in range(40)], "label": "hap", "split": "train",
                         "duration_s": 1.0, "n_frames": n_frames})
    group = create_store(path, plan, {}, dim)
writer = StoreWriter(group, chunk_threads=4)
runs = []  # windows of at most 5 consecutive pending utterances, as extract makes them
for i in (int(i) for i in np.flatnonzero(writer.status == 0)):
    if runs and runs[-1][1] == i and i - runs[-1][0] < 5:
        runs[-1][1] = i + 1
    else:
        runs.append([i, i + 1])
with WriteBehind(writer, prepare_threads=3, flush_s=0.0) as behind:
    for a, b in runs:
        behind.put(a, frames[a:b], [1] * (b - a), {})
writer.mark_complete()
"""


def _run(script: Path, store: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    return subprocess.Popen([sys.executable, str(script), str(store)], env=env, stderr=subprocess.PIPE)


def test_a_store_killed_while_chunks_are_pooled_and_rerun_equals_an_uninterrupted_one(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    clean = tmp_path / "clean.zarr"
    done = _run(script, clean)
    assert done.wait(300) == 0, done.stderr.read().decode()[-2000:]
    want = _chunk_files(clean)
    rng = np.random.default_rng(11)
    killed = 0
    for trial in range(4):
        store = tmp_path / f"killed{trial}.zarr"
        proc = _run(script, store)
        time.sleep(float(rng.uniform(0.8, 3.0)))  # imports take most of a second: kills land in the writes
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait()
        again = _run(script, store)
        assert again.wait(300) == 0, again.stderr.read().decode()[-2000:]
        got = _chunk_files(store)
        assert sorted(got) == sorted(want), trial
        assert all(got[k] == want[k] for k in want), [k for k in want if got[k] != want[k]][:5]
    assert killed >= 1  # at least one run was killed before it finished

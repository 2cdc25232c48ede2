"""The parallel pipeline (issue 22): worker processes, background writes. Its store equals a serial one value
for value, whatever the worker count or mode, and a kill -9 at a random moment during a parallel extraction,
then a rerun, gives the store an uninterrupted run gives."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import zarr

from sergen.corpora import read_corpus, write_manifest
from sergen.errors import SergenError
from sergen.extract import extract
from sergen.extract_pool import resolve_workers
from sergen.extractors import EXTRACTORS
from sergen.extractors.base import Extractor
from sergen.store.layout import WRITTEN, store_path
from sergen.store.verify import verify_store
from tests.test_bad_input import cli  # noqa: F401 - the fixture that runs `sergen` in this process
from sergen.config import data_dir


@pytest.fixture
def emodb(demo_root):
    write_manifest(read_corpus("emodb", demo_root / "emodb"))


def arrays(path) -> dict[str, np.ndarray]:
    """Every array of a store by its path inside the group (frames, stats, status, digests, metadata)."""
    group = zarr.open_group(str(path), mode="r")
    found = {}

    def walk(g, prefix):
        for name, member in g.members():
            if isinstance(member, zarr.Group):
                walk(member, f"{prefix}{name}/")
            else:
                found[prefix + name] = member[:]
    walk(group, "")
    return found


def assert_same_store(a, b) -> None:
    got, want = arrays(a), arrays(b)
    assert sorted(got) == sorted(want)
    assert len(got) > 10  # frames, offsets, mean, std, status, digests, utterance metadata, audio digests
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)


class FrameEnergy(Extractor):
    """A model stand-in that says it uses torch, so worker processes only decode and it runs in the main
    thread: the decode-only path of the pool. 100 Hz, 3 features per 10 ms frame."""

    name = "test-frame-energy"
    sample_rate = 16000
    frame_rate = 100.0
    dim = 3
    min_samples = 160
    uses_torch = True
    source = "tests (no weights)"

    def num_frames(self, n_samples: int) -> int:
        return n_samples // 160

    def embed_one(self, waveform):
        frames = waveform[: len(waveform) // 160 * 160].reshape(-1, 160)
        return np.stack([frames.mean(1), frames.std(1), np.abs(frames).max(1)], 1).astype(np.float32)


@pytest.fixture
def frame_energy(monkeypatch):
    monkeypatch.setitem(EXTRACTORS._items, FrameEnergy.name, FrameEnergy)
    monkeypatch.setitem(EXTRACTORS._aliases, FrameEnergy.name, FrameEnergy.name)
    return FrameEnergy.name


@pytest.mark.parametrize("model", ["melspec", "frame_energy"])
def test_parallel_store_equals_serial_value_for_value(emodb, tmp_path, request, model):
    model = request.getfixturevalue(model) if model == "frame_energy" else model
    serial = extract(model, "emodb", stores_root=tmp_path / "serial", workers=1, workers_mode="threads",
                     window_utts=256, show_progress=False)
    paths = {}
    for workers, mode in ((2, "processes"), (3, "processes"), (2, "threads")):
        report = extract(model, "emodb", stores_root=tmp_path / f"{mode}{workers}", workers=workers,
                         workers_mode=mode, window_utts=7, show_progress=False)
        assert report.complete and report.written == serial.written == 190
        paths[(workers, mode)] = report.path
    for path in paths.values():
        assert_same_store(path, serial.path)
        assert verify_store(path).ok


def test_processes_with_a_view_equal_threads(emodb, tmp_path):
    kwargs = dict(view="pink-noise", view_seed=3, show_progress=False)
    a = extract("melspec", "emodb", stores_root=tmp_path / "a", workers=1, workers_mode="threads", **kwargs)
    b = extract("melspec", "emodb", stores_root=tmp_path / "b", workers=2, workers_mode="processes", **kwargs)
    assert a.path.name == b.path.name == "emodb@pink-noise.zarr"
    assert_same_store(b.path, a.path)


@pytest.mark.parametrize("workers, mode, message", [
    (0, "auto", "workers must be a whole number of at least 1, got 0"),
    (1.5, "auto", "workers must be a whole number of at least 1, got 1.5"),
    (2, "fibres", "unknown worker mode 'fibres'; known: auto, processes, threads"),
])
def test_bad_worker_settings_are_refused_before_anything_is_written(emodb, tmp_path, workers, mode, message):
    with pytest.raises(SergenError) as err:
        extract("melspec", "emodb", stores_root=tmp_path / "s", workers=workers, workers_mode=mode,
                show_progress=False)
    assert err.value.what == message
    assert not (tmp_path / "s").exists()


def test_workers_default_to_the_available_cores(monkeypatch):
    monkeypatch.setattr("sergen.extract_pool.available_cores", lambda: 1)
    assert resolve_workers(None, "auto") == (1, "threads")
    monkeypatch.setattr("sergen.extract_pool.available_cores", lambda: 6)
    assert resolve_workers(None, "auto") == (6, "threads")
    assert resolve_workers(None, "processes") == (6, "processes")
    assert resolve_workers(2, "threads") == (2, "threads")


def _start(env) -> subprocess.Popen:
    code = ("from sergen.extract import extract; "
            "extract('egemaps', 'emodb', workers=2, workers_mode='processes', window_utts=2, show_progress=False)")
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _written(path) -> int:
    try:
        return int((zarr.open_group(str(path), mode="r")["status"][:] == WRITTEN).sum())
    except Exception:  # noqa: BLE001 - not created yet
        return 0


def test_kill9_during_parallel_extraction_then_rerun_equals_uninterrupted(emodb, tmp_path):
    clean = extract("egemaps", "emodb", stores_root=tmp_path / "clean", workers=1, workers_mode="threads",
                    show_progress=False)
    path = store_path("egemaps", "emodb", data_dir("stores"))
    rng = np.random.default_rng(1)
    landed = []
    for extra_s in rng.uniform(0.0, 0.4, 2):
        proc = _start(dict(os.environ))
        deadline = time.monotonic() + 120
        while _written(path) == 0 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(extra_s)  # a random moment once windows are being written
        proc.send_signal(signal.SIGKILL)  # the main process alone: its workers are orphaned, the lock is freed
        proc.wait()
        landed.append(_written(path))
    assert any(0 < n < 190 for n in landed), landed  # a kill landed mid-extraction
    final = extract("egemaps", "emodb", workers=2, workers_mode="processes", show_progress=False)
    assert final.complete and final.done_before >= landed[-1] and final.done_before + final.written == 190
    assert_same_store(path, clean.path)
    assert verify_store(path).ok


@pytest.mark.parametrize("args, message", [
    (["--workers", "0"], "Invalid value for '--workers': 0 is out of range: give a whole number of at least 1"),
    (["--workers-mode", "fibres"],
     "Invalid value for '--workers-mode': 'fibres' is not one of auto, threads, processes"),
])
def test_the_cli_refuses_bad_worker_options(cli, emodb, args, message):
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb", *args)
    assert code == 2 and message in text
    assert not store_path("melspec", "emodb", data_dir("stores")).exists()


def test_the_cli_extracts_with_worker_processes(cli, emodb, tmp_path):
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb", "--workers", "2",
                     "--workers-mode", "processes")
    assert code == 0 and "melspec/emodb: 190 written this run, 0 before, 0 padded, 0 failed" in text
    serial = extract("melspec", "emodb", stores_root=tmp_path / "serial", workers=1, show_progress=False)
    assert_same_store(store_path("melspec", "emodb", data_dir("stores")), serial.path)

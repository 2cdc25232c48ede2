"""Several model copies in one extraction (issue 22, item 7): ``--device cuda:0,cuda:1`` and ``--replicas N``.
The scheduling is tested on the CPU: the store equals a one-copy store value for value, every copy embeds
windows, and bad device lists are refused before anything is written."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from sergen.config import data_dir
from sergen.errors import SergenError
from sergen.extract import extract
from sergen.preflight import device_slots
from sergen.store.layout import store_path
from sergen.extractors import EXTRACTORS
from sergen.store.verify import verify_store
from tests.store.test_parallel_extract import FrameEnergy, _written, assert_same_store
from tests.store.test_parallel_extract import emodb  # noqa: F401 - the fixture
from tests.test_bad_input import cli  # noqa: F401 - the fixture that runs `sergen` in this process


class CountedEnergy(FrameEnergy):
    """FrameEnergy that records which copy (instance) and device embedded each utterance."""

    name = "test-counted-energy"
    seen: list = []
    lock = threading.Lock()

    def embed_one(self, waveform):
        with self.lock:
            self.seen.append((id(self), self.device, threading.current_thread().name))
        return super().embed_one(waveform)


@pytest.fixture
def counted(monkeypatch):
    monkeypatch.setitem(EXTRACTORS._items, CountedEnergy.name, CountedEnergy)
    monkeypatch.setitem(EXTRACTORS._aliases, CountedEnergy.name, CountedEnergy.name)
    monkeypatch.setattr(CountedEnergy, "seen", [])
    return CountedEnergy


@pytest.fixture
def two_gpus(monkeypatch):
    """torch says this machine has two CUDA devices (CountedEnergy never touches one)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


def test_replicas_on_the_cpu_equal_one_copy_value_for_value(emodb, counted, tmp_path):
    one = extract(counted.name, "emodb", stores_root=tmp_path / "one", device="cpu", workers=1, window_utts=7,
                  show_progress=False)
    assert len({s[0] for s in counted.seen}) == 1
    counted.seen.clear()
    three = extract(counted.name, "emodb", stores_root=tmp_path / "three", device="cpu", replicas=3, workers=2,
                    window_utts=7, show_progress=False)
    assert three.complete and three.written == one.written == 190
    assert len(counted.seen) == 190  # every utterance embedded once
    assert len({s[0] for s in counted.seen}) == 3  # by three copies
    assert {s[2] for s in counted.seen} == {"sergen-device_0", "sergen-device_1", "sergen-device_2"}
    assert_same_store(three.path, one.path)
    assert verify_store(three.path).ok


def test_two_gpus_share_the_windows(emodb, counted, two_gpus, tmp_path):
    one = extract(counted.name, "emodb", stores_root=tmp_path / "one", device="cpu", workers=1, window_utts=7,
                  show_progress=False)
    counted.seen.clear()
    both = extract(counted.name, "emodb", stores_root=tmp_path / "both", device="cuda:0,cuda:1", replicas=2,
                   window_utts=5, show_progress=False)
    assert both.complete and both.written == 190
    devices = [s[1] for s in counted.seen]
    assert sorted(set(devices)) == ["cuda:0", "cuda:1"] and len(devices) == 190
    assert len({s[0] for s in counted.seen}) == 4  # two copies on each device
    assert_same_store(both.path, one.path)


@pytest.mark.parametrize("device, replicas, message", [
    ("cuda:0,cuda:0", 1, "--device cuda:0,cuda:0 names cuda:0 more than once"),
    ("cuda,cuda:0", 1, "--device cuda,cuda:0 names cuda:0 more than once"),
    ("cpu,cuda:0", 1, "--device cpu,cuda:0 mixes device kinds (cpu, cuda)"),
    ("cuda:0,,cuda:1", 1, "--device 'cuda:0,,cuda:1' has an empty entry"),
    ("cuda:0,gpu1", 1, "--device 'gpu1' is not a device"),
    ("cuda:0,cuda:7", 1, "--device cuda:7: this machine has 2 CUDA device(s)"),
    ("cpu", 0, "--replicas must be a whole number of at least 1, got 0"),
])
def test_bad_device_lists_are_refused_before_anything_is_written(emodb, counted, two_gpus, tmp_path, device,
                                                                 replicas, message):
    with pytest.raises(SergenError) as err:
        extract(counted.name, "emodb", stores_root=tmp_path / "s", device=device, replicas=replicas,
                show_progress=False)
    assert err.value.what == message
    assert not (tmp_path / "s").exists()


def test_copies_of_a_model_without_torch_or_on_dask_are_refused(emodb, counted, tmp_path):
    with pytest.raises(SergenError) as err:
        extract("melspec", "emodb", stores_root=tmp_path / "s", replicas=2, show_progress=False)
    assert err.value.what == "2 model copies were asked for a model that does not use torch"
    assert "--workers N" in err.value.fix
    with pytest.raises(SergenError) as err:
        extract(counted.name, "emodb", stores_root=tmp_path / "s", device="cpu", replicas=2, scheduler="local:2",
                show_progress=False)
    assert err.value.what == "several devices or --replicas with --scheduler"
    assert not (tmp_path / "s").exists()


def test_slots_list_each_device_replicas_times():
    assert device_slots(None) == [None]
    assert device_slots("cpu", 2) == ["cpu", "cpu"]


def test_cli_refuses_a_malformed_list_and_a_zero_replica_count(emodb, cli):
    code, out = cli("extract", "--model", "melspec", "--corpus", "emodb", "--device", "cuda:0,")
    assert code == 2 and "'cuda:0,' is not a device or a list of devices" in out
    code, out = cli("extract", "--model", "melspec", "--corpus", "emodb", "--replicas", "0")
    assert code == 2 and "--replicas" in out


class SlowEnergy(FrameEnergy):
    """FrameEnergy at about 5 ms an utterance, so that a kill lands while windows are being written."""

    name = "test-slow-energy"

    def embed_one(self, waveform):
        time.sleep(0.005)
        return super().embed_one(waveform)


def register(cls=SlowEnergy) -> None:
    EXTRACTORS._items[cls.name], EXTRACTORS._aliases[cls.name] = cls, cls.name


def test_kill9_during_extraction_on_several_copies_then_rerun_equals_uninterrupted(emodb, tmp_path, monkeypatch):
    monkeypatch.setitem(EXTRACTORS._items, SlowEnergy.name, SlowEnergy)
    monkeypatch.setitem(EXTRACTORS._aliases, SlowEnergy.name, SlowEnergy.name)
    clean = extract(SlowEnergy.name, "emodb", stores_root=tmp_path / "clean", device="cpu", workers=1,
                    show_progress=False)
    path = store_path(SlowEnergy.name, "emodb", data_dir("stores"))
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parents[2])!r}); "
            "from tests.store.test_extract_devices import register, SlowEnergy; register(); "
            "from sergen.extract import extract; "
            "extract(SlowEnergy.name, 'emodb', device='cpu', replicas=3, window_utts=4, show_progress=False)")
    landed = []
    for extra_s in np.random.default_rng(2).uniform(0.0, 0.3, 2):
        proc = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while _written(path) == 0 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(extra_s)  # a random moment once windows are being written
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        landed.append(_written(path))
    assert any(0 < n < 190 for n in landed), landed  # a kill landed mid-extraction
    final = extract(SlowEnergy.name, "emodb", device="cpu", replicas=2, show_progress=False)
    assert final.complete and final.done_before >= landed[-1] and final.done_before + final.written == 190
    assert_same_store(path, clean.path)
    assert verify_store(path).ok

"""Thread counts while extracting (issue 22): BLAS/OpenMP pinned to one thread for signal processing, torch
given the available cores on the CPU, everything restored after, and the frames unchanged by the pin."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import zarr
from threadpoolctl import threadpool_info, threadpool_limits

import sergen.extract
from sergen.corpora import read_corpus, write_manifest
from sergen.extract import extract
from sergen.extractors import EXTRACTORS
from sergen.extractors.base import Extractor
from sergen.store.layout import store_path
from sergen.threads import available_cores, blas_threads


def pool_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info()}


class TorchOnCPU(Extractor):
    name = "torch-on-cpu"  # not registered: only its uses_torch and device matter here


@pytest.fixture
def emodb(demo_root):
    write_manifest(read_corpus("emodb", demo_root / "emodb"))


@pytest.mark.parametrize("model", ["melspec", "egemaps"])
def test_signal_processing_embeds_with_one_thread_and_restores_after(emodb, monkeypatch, model):
    cls = EXTRACTORS.get(model)
    seen = []
    embed_one = cls.embed_one

    def spying(self, waveform):
        seen.append(pool_threads())
        return embed_one(self, waveform)

    monkeypatch.setattr(cls, "embed_one", spying)
    with threadpool_limits(limits=2):
        assert pool_threads() == {2}
        # threads: the features computed in this process, where the spy sees them (workers: the next test)
        report = extract(model, "emodb", show_progress=False, workers=2, workers_mode="threads")
        assert pool_threads() == {2}
    assert report.complete and len(seen) == report.written == 190
    assert all(threads == {1} for threads in seen)


def test_worker_processes_compute_with_one_thread():
    from sergen.extract_pool import process_pool

    pools = process_pool(2).submit(threadpool_info).result()
    assert pools and {pool["num_threads"] for pool in pools} == {1}


def test_torch_on_the_cpu_gets_the_available_cores_and_its_count_back():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(available_cores() + 3)
    try:
        with blas_threads(TorchOnCPU(device="cpu")):
            assert torch.get_num_threads() == available_cores()
        assert torch.get_num_threads() == available_cores() + 3
        torch.set_num_threads(1)  # a count the user chose below the cores is kept
        with blas_threads(TorchOnCPU(device="cpu")):
            assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_torch_on_cuda_and_its_blas_are_left_alone():
    import torch

    with threadpool_limits(limits=2):  # torch's own OpenMP pool too
        before = torch.get_num_threads()
        with blas_threads(TorchOnCPU(device="cuda")):
            assert torch.get_num_threads() == before and pool_threads() == {2}


def test_pinned_frames_equal_unpinned_frames_exactly(emodb, tmp_path, monkeypatch):
    with threadpool_limits(limits=2):
        extract("melspec", "emodb", stores_root=tmp_path / "pinned", show_progress=False)
        monkeypatch.setattr(sergen.extract, "blas_threads", lambda extractor: contextlib.nullcontext())
        extract("melspec", "emodb", stores_root=tmp_path / "free", show_progress=False)
    pinned, free = (zarr.open_group(str(store_path("melspec", "emodb", tmp_path / kind)), mode="r")
                    for kind in ("pinned", "free"))
    for name in ("frames", "mean", "std", "status", "offsets"):
        a, b = pinned[name][:], free[name][:]
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), name
    assert np.count_nonzero(pinned["frames"][:]) > 0

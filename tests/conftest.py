"""Shared fixtures: an isolated sergen workspace per test, and demo corpora made once per session."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

os.environ.setdefault("OMP_NUM_THREADS", "1")


def write_wav(path: Path, seconds: float = 0.2, sr: int = 16000, channels: int = 1, freq: float = 220.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    x = 0.1 * np.sin(2 * np.pi * freq * t)
    sf.write(path, np.stack([x] * channels, axis=1) if channels > 1 else x, sr, subtype="PCM_16")
    return path


@pytest.fixture(autouse=True)
def workspace(tmp_path, monkeypatch):
    """Every test gets its own config file and manifests/stores/results folders."""
    monkeypatch.setenv("SERGEN_HOME", str(tmp_path))
    monkeypatch.setenv("SERGEN_CONFIG", str(tmp_path / "sergen.toml"))
    for kind in ("manifests", "stores", "results", "reports"):
        monkeypatch.setenv(f"SERGEN_{kind.upper()}", str(tmp_path / kind))
    for corpus in ("iemocap", "cremad", "msp", "emodb", "ravdess", "folder"):
        monkeypatch.delenv(f"SERGEN_ROOT_{corpus.upper()}", raising=False)
    return tmp_path


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory) -> Path:
    """The five synthetic corpora at the default scale, made once for the whole session."""
    from sergen.corpora.demo import make_demo

    root = tmp_path_factory.mktemp("demo")
    make_demo(root, seed=0, scale=1.0)
    return root


@pytest.fixture(scope="session")
def demo_workspace(demo_root, tmp_path_factory) -> Path:
    """Manifests of the five demo corpora and their melspec and egemaps stores, built once."""
    from sergen import CORPORA
    from sergen.corpora import read_corpus, write_manifest
    from sergen.extract import extract

    ws = tmp_path_factory.mktemp("workspace")
    for corpus in CORPORA:
        write_manifest(read_corpus(corpus, demo_root / corpus), ws / "manifests" / f"{corpus}.csv")
        for model in ("melspec", "egemaps"):
            extract(model, corpus, stores_root=ws / "stores", manifest_file=ws / "manifests" / f"{corpus}.csv",
                    show_progress=False)
    return ws


@pytest.fixture
def in_demo_workspace(demo_workspace, monkeypatch) -> Path:
    """Point sergen's default folders at the shared demo workspace (results stay per test)."""
    monkeypatch.setenv("SERGEN_MANIFESTS", str(demo_workspace / "manifests"))
    monkeypatch.setenv("SERGEN_STORES", str(demo_workspace / "stores"))
    return demo_workspace

"""``--norm``: per-corpus (or per-speaker) standardisation, on constructed stores where the answer is known: a
second corpus that is the first one scaled and shifted per feature is as separable as the first once each
corpus is standardised by its own statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sergen import LABELS
from sergen.errors import SergenError
from sergen.experiments.probe import probe_run, resolve_spec
from sergen.train.framebank import build_framebank
from sergen.train.sampler import SamplerConfig, WindowSampler

DIM = 8


def write_store(root, corpus: str, scale: np.ndarray, offset: np.ndarray, seed: int, n: int = 240):
    from sergen.store.writer import StoreWriter, create_store

    rng = np.random.default_rng(seed)
    labels = np.tile(np.arange(4), n // 4)
    split = np.repeat(["train", "valid", "test"], [n // 2, n // 4, n // 4])
    plan = pd.DataFrame({"utt_id": [f"{corpus}{i:04d}" for i in range(n)], "label": [LABELS[c] for c in labels],
                         "native_label": [LABELS[c] for c in labels], "speaker": [f"{corpus}-s{i // 20}" for i in range(n)],
                         "gender": "F", "split": split, "path": "-", "duration_s": 1.0, "n_frames": 10})
    group = create_store(root / "toy" / f"{corpus}.zarr", plan, {
        "model": "toy", "corpus": corpus, "frame_rate": 10.0, "sample_rate": 16000, "synthetic": True,
        "weights": {}, "settings": {}, "manifest_sha256": "-"}, DIM)
    centres = np.zeros((4, DIM), np.float32)
    centres[np.arange(4), np.arange(4)] = 1.0
    frames = [(centres[c] + 0.8 * rng.standard_normal((10, DIM))) * scale + offset for c in labels]
    writer = StoreWriter(group)
    writer.write_window(0, [f.astype(np.float32) for f in frames], [1] * n)
    writer.mark_complete()


@pytest.fixture(scope="module")
def shifted_stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("norm-stores")
    write_store(root, "emodb", np.ones(DIM), np.zeros(DIM), seed=0)
    write_store(root, "cremad", np.array([4.0, 0.25, 0.25, 4.0, 1, 1, 1, 1]),
                np.array([3.0, -2.0, 0.5, 1.0, 5.0, 5.0, -5.0, 0.0]), seed=1)
    return root


def auroc_on(run, corpus: str) -> float:
    rows = run.rows
    return float(rows[(rows.test == corpus) & (rows.metric == "auroc")].value.iloc[0])


def test_corpus_normalisation_removes_a_per_corpus_scale_and_offset(shifted_stores):
    runs = {}
    for norm in ("global", "corpus"):
        spec = resolve_spec("toy", "emodb", "emodb,cremad", shifted_stores, head="linear", norm=norm)
        runs[norm] = probe_run(spec, shifted_stores)
    within = auroc_on(runs["global"], "emodb")
    assert within > 0.85
    assert auroc_on(runs["global"], "cremad") < within - 0.1  # the shift and scale hurt across corpora
    assert auroc_on(runs["corpus"], "cremad") == pytest.approx(within, abs=0.03)  # … and are gone
    assert auroc_on(runs["corpus"], "emodb") == pytest.approx(within, abs=0.03)
    assert set(runs["corpus"].rows.norm) == {"corpus"} and set(runs["global"].rows.norm) == {"global"}
    assert runs["corpus"].record.run_id != runs["global"].record.run_id
    assert "norm" not in runs["global"].record.spec  # the poster's runs keep their ids


def test_speaker_normalisation_runs_and_needs_speakers(shifted_stores):
    spec = resolve_spec("toy", "emodb", "cremad", shifted_stores, head="linear", norm="speaker")
    assert auroc_on(probe_run(spec, shifted_stores), "cremad") > 0.8
    with pytest.raises(SergenError, match="unknown --norm 'zscore'; known: global, corpus, speaker"):
        resolve_spec("toy", "emodb", "cremad", shifted_stores, norm="zscore")


def test_windows_are_standardised_by_their_own_group_and_partners_share_it():
    """Two groups of constant frames: every window, mixed or not, equals its group's standardised value
    exactly (a partner from the other group would give a value in between)."""
    frames = [np.full((12, 3), 1.0 if i % 2 else 10.0, np.float32) for i in range(40)]
    bank = build_framebank(frames, labels=[i % 4 for i in range(40)], corpora=[0] * 40, utt_keys=range(40),
                           clean=[True] * 40)
    group = np.arange(40) % 2
    mean = np.array([[10.0] * 3, [1.0] * 3], np.float32) - 0.5
    std = np.array([[2.0] * 3, [4.0] * 3], np.float32)
    from dataclasses import replace

    from sergen.train.norms.standardise import ShiftScale

    bank = replace(bank, group=group, group_map=ShiftScale(np.array(["a", "b"]), mean, std))
    sampler = WindowSampler(bank, 10.0, SamplerConfig(mix_prob=1.0, noise_std=0.0), seed=0)
    x, y = sampler.draw(2000)
    values = np.unique(np.round(x, 5))
    assert sorted(values.tolist()) == [0.125, 0.25]  # (1 − 0.5) / 4 and (10 − 9.5) / 2, nothing mixed

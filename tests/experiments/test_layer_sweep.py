"""``--layer all``: one run per stored layer, and the table of AUROC per layer, on constructed two-layer stores
where only one layer carries the classes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sergen import LABELS
from sergen.cli import app
from sergen.errors import SergenError
from sergen.experiments.probe import layer_specs, resolve_spec

WIDTH = 4


def write_two_layer_store(root, corpus: str, seed: int, layers=(3, 7), n: int = 160):
    """Layer 3 holds the class centres plus noise; layer 7 noise only."""
    from sergen.store.writer import StoreWriter, create_store

    rng = np.random.default_rng(seed)
    labels = np.tile(np.arange(4), n // 4)
    plan = pd.DataFrame({"utt_id": [f"{corpus}{i:04d}" for i in range(n)], "label": [LABELS[c] for c in labels],
                         "native_label": "x", "speaker": [f"s{i // 16}" for i in range(n)], "gender": "F",
                         "split": np.repeat(["train", "valid", "test"], [n // 2, n // 4, n // 4]), "path": "-",
                         "duration_s": 1.0, "n_frames": 8})
    group = create_store(root / "toy" / f"{corpus}.zarr", plan, {
        "model": "toy", "corpus": corpus, "frame_rate": 8.0, "sample_rate": 16000, "synthetic": True,
        "weights": {}, "settings": {"layers": list(layers)}, "manifest_sha256": "-"}, WIDTH * len(layers))
    centres = np.eye(4, WIDTH, dtype=np.float32) * 1.5
    frames = [np.concatenate([centres[c] + rng.standard_normal((8, WIDTH)),
                              rng.standard_normal((8, WIDTH * (len(layers) - 1)))], axis=1).astype(np.float32)
              for c in labels]
    writer = StoreWriter(group)
    writer.write_window(0, frames, [1] * n)
    writer.mark_complete()


def test_layer_all_runs_one_probe_per_stored_layer(workspace_stores):
    result = CliRunner().invoke(app, ["probe", "--model", "toy", "--train", "emodb", "--test", "emodb,cremad",
                                      "--head", "linear", "--layer", "all", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [r["spec"]["layer"] for r in out["runs"]] == ["3", "7"]
    auroc = {(s["layer"], s["test"]): s["mean"] for s in out["summary"] if s["metric"] == "auroc"}
    assert auroc[("3", "emodb")] > 0.85 and auroc[("3", "cremad")] > 0.85
    assert abs(auroc[("7", "emodb")] - 0.5) < 0.15  # the noise layer knows nothing
    text = CliRunner().invoke(app, ["probe", "--model", "toy", "--train", "emodb", "--test", "emodb,cremad",
                                    "--head", "linear", "--layer", "all"]).stdout
    assert "AUROC per layer" in text


def test_layer_all_needs_layers_every_store_holds(workspace_stores):
    write_two_layer_store(workspace_stores, "ravdess", seed=3, layers=(4, 7))
    spec = resolve_spec("toy", "emodb", "ravdess", layer="all")
    assert [s.layer for s in layer_specs(spec)] == ["7"]  # the one layer both stores hold
    write_two_layer_store(workspace_stores, "iemocap", seed=4, layers=(1, 2))
    with pytest.raises(SergenError, match="hold no common layers \\(different layers\\)"):
        layer_specs(resolve_spec("toy", "emodb", "iemocap", layer="all"))


@pytest.fixture
def workspace_stores(tmp_path):
    """Two-layer toy stores of emodb and cremad in this test's stores folder (the conftest's SERGEN_STORES)."""
    root = tmp_path / "stores"
    (tmp_path / "manifests").mkdir()  # the conftest's SERGEN_MANIFESTS: a chosen folder must exist (none in it)
    write_two_layer_store(root, "emodb", seed=0)
    write_two_layer_store(root, "cremad", seed=1)
    return root

"""A sequence head (``attn``) through the probe, on constructed stores whose classes share every feature's
mean and std and differ only in which values occur together in a frame: the run, its rows and record,
``--norm``, ``--scramble``, ``--head-opt``, and the refusals of issue 25 ("Bad input")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sergen import LABELS
from sergen.errors import SergenError
from sergen.experiments.probe import probe_run, resolve_spec
from sergen.train.loop import TrainConfig
from sergen.train.sampler import SamplerConfig

DIM = 4
SIGNS = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]], np.float32)  # class c: features 1, 2 = SIGNS[c] × feature 0
FAST = TrainConfig(max_steps=400, eval_every=100, min_steps=100, batch_size=32)


def write_store(root, corpus: str, seed: int, n: int = 120, n_frames: int = 48, rate: float = 20.0,
                scale: float = 1.0, offset: float = 0.0, model: str = "toy"):
    """Frames switch between states ±1 every 4 frames, as often each; class c's features 1 and 2 follow
    feature 0 with the signs ``SIGNS[c]``, plus noise."""
    from sergen.store.writer import StoreWriter, create_store

    rng = np.random.default_rng(seed)
    labels = np.tile(np.arange(4), n // 4)
    split = np.repeat(["train", "valid", "test"], [n // 2, n // 4, n // 4])
    plan = pd.DataFrame({"utt_id": [f"{corpus}{i:04d}" for i in range(n)], "label": [LABELS[c] for c in labels],
                         "native_label": [LABELS[c] for c in labels], "speaker": [f"{corpus}-s{i % 5}" for i in range(n)],
                         "gender": "F", "split": split, "path": "-", "duration_s": n_frames / rate,
                         "n_frames": n_frames})
    group = create_store(root / model / f"{corpus}.zarr", plan, {
        "model": model, "corpus": corpus, "frame_rate": rate, "sample_rate": 16000, "synthetic": True,
        "weights": {}, "settings": {}, "manifest_sha256": "-"}, DIM)
    frames = []
    for c in labels:
        runs = max(2, n_frames // 4)
        state = np.repeat(rng.permutation(np.repeat([1.0, -1.0], runs // 2)), 4)[:n_frames]
        state = np.pad(state, (0, n_frames - len(state)))
        f = 0.2 * rng.standard_normal((n_frames, DIM))
        f[:, 0] += state
        f[:, 1:3] += state[:, None] * SIGNS[c]
        frames.append((offset + scale * f).astype(np.float32))
    writer = StoreWriter(group)
    writer.write_window(0, frames, [1] * n)
    writer.mark_complete()


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("sequence-stores")
    write_store(root, "emodb", seed=0)
    write_store(root, "cremad", seed=1, scale=2.0, offset=1.5)  # another corpus, shifted and scaled
    write_store(root, "ravdess", seed=2, n_frames=12)  # 0.6 s utterances
    write_store(root, "emodb", seed=3, rate=1.0, model="slow")  # CDPAM's 1 frame/s
    write_store(root, "emodb", seed=4, model="melspec")  # a spectrogram store (by its extractor), 4 bins
    return root


def auroc(run, corpus: str) -> float:
    rows = run.rows
    return float(rows[(rows.test == corpus) & (rows.metric == "auroc")].value.iloc[0])


def test_attn_reads_what_the_mean_heads_cannot(stores):
    runs = {head: probe_run(resolve_spec("toy", "emodb", "emodb", stores, head=head, training=FAST, n_boot=10),
                            stores) for head in ("mlp", "attn")}
    assert auroc(runs["attn"], "emodb") > 0.9
    assert auroc(runs["mlp"], "emodb") < 0.7
    assert set(runs["attn"].rows["head"]) == {"attn"} and runs["attn"].record.spec["head"] == "attn"
    assert len(runs["attn"].scores["emodb"].proba) == 30  # every test utterance scored, whole


def test_attn_with_norm_scramble_and_head_options(stores):
    spec = resolve_spec("toy", "emodb+cremad", "emodb,cremad", stores, head="attn", norm="corpus",
                        head_opt="attention=16,dropout=0.1", training=FAST, n_boot=10)
    assert spec.head_opt == "attention=16,dropout=0.1"
    run = probe_run(spec, stores)
    assert auroc(run, "emodb") > 0.9 and auroc(run, "cremad") > 0.9
    assert set(run.rows["head_opt"]) == {"attention=16,dropout=0.1"}
    assert run.record.corpus_id_accuracy is not None  # read from the attn head's hidden features
    scrambled = probe_run(resolve_spec("toy", "emodb+cremad", "emodb,cremad", stores, head="attn", norm="corpus",
                                       scramble=True, training=FAST, n_boot=10), stores)
    assert scrambled.rows["scramble"].all()


def test_a_store_with_too_few_frames_per_window_is_refused(stores):
    with pytest.raises(SergenError) as caught:
        resolve_spec("slow", "emodb", "emodb", stores, head="attn")
    assert caught.value.what == ("the slow store of emodb has 1 frames/s: a 1 s window holds 1 frame(s), 1 unit(s) "
                                 "of 2 frames, and a sequence head needs 4 units (8 frames) or more")
    assert caught.value.where == "--model slow --train emodb --head attn"
    assert caught.value.fix.startswith("use a mean head (--head mlp or linear) on this store, or lengthen the windows "
                                       "to 8 s or more")
    resolve_spec("slow", "emodb", "emodb", stores, head="mlp")  # a mean head is fine there


def test_a_window_longer_than_every_utterance_is_refused(stores):
    with pytest.raises(SergenError) as caught:
        resolve_spec("toy", "ravdess", "ravdess", stores, head="attn",
                     sampler=SamplerConfig(window_s=(1.0, 3.0)))
    assert caught.value.what == ("a 1 s window is longer than every training utterance of ravdess (the longest "
                                 "holds 12 frames, 0.60 s)")
    assert caught.value.fix == "shorten the windows: --set 'sampler.window_s=[0.3, 0.6]'"


def test_a_batch_beyond_the_memory_budget_is_refused(stores):
    from sergen.train.resident import set_ram_budget

    set_ram_budget(2**20)  # this process's share, as the grid's memory plan sets it
    try:
        with pytest.raises(SergenError) as caught:
            resolve_spec("toy", "emodb", "emodb", stores, head="attn", training=TrainConfig(batch_size=4096))
    finally:
        set_ram_budget(None)
    # 4096 sequences × 2 windows × 24 units (the longest utterance) × 4 features × 4 bytes × 4 copies
    assert caught.value.what == ("a batch of 4096 sequences of up to 2 × 3 s of 4 features needs about 12 MiB while "
                                 "it trains, more than the memory budget of 1 MiB")
    assert "raise SERGEN_RAM_MIB" in caught.value.fix


def test_a_sequence_head_refuses_another_pooling(stores):
    with pytest.raises(SergenError, match=r"--head attn pools the frames itself: --pool mean\+std is for the mean"):
        resolve_spec("toy", "emodb", "emodb", stores, head="attn", pool="mean+std")


def test_cnn_runs_on_a_spectrogram_store_and_is_refused_on_embeddings(stores):
    run = probe_run(resolve_spec("melspec", "emodb", "emodb", stores, head="cnn", head_opt="channels=4x8",
                                 training=TrainConfig(max_steps=100, eval_every=50, min_steps=50), n_boot=10), stores)
    assert set(run.rows["head"]) == {"cnn"} and set(run.rows["head_opt"]) == {"channels=4x8"}
    assert 0 <= auroc(run, "emodb") <= 1 and len(run.scores["emodb"].proba) == 30
    with pytest.raises(SergenError) as caught:
        resolve_spec("toy", "emodb", "emodb", stores, head="cnn")
    assert caught.value.what == ("--head cnn convolves over time × frequency: the toy store holds embeddings, not a "
                                 "spectrogram (its features have no order to convolve over)")
    assert caught.value.fix == "use --model melspec (log-Mel) with --head cnn, or --head attn on this store"


def test_a_grid_runs_sequence_heads_beside_the_mean_heads(stores, tmp_path):
    from sergen.experiments.grid import grid_specs, run_grid

    grid = grid_specs(["toy"], "emodb", "emodb", heads=("linear", "attn"), stores_root=stores, training=FAST,
                      n_boot=10, head_opt="attention=16")
    assert [(s.head, s.head_opt) for s in grid] == [("linear", ""), ("attn", "attention=16")]
    rows = run_grid(list(grid), stores, tmp_path / "results", workers=1, show_progress=False)
    auc = rows[rows.metric == "auroc"].set_index("head").value
    assert auc["attn"] > 0.9 and auc["linear"] < 0.7
    with pytest.raises(SergenError, match="a 1 s window is longer than every training utterance of ravdess"):
        grid_specs(["toy"], "ravdess", "ravdess", heads=("linear", "attn"), stores_root=stores)


def test_the_command_line_runs_attn_with_head_options(stores, tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from sergen.cli import app

    monkeypatch.setenv("SERGEN_STORES", str(stores))
    monkeypatch.setenv("SERGEN_RESULTS", str(tmp_path / "results"))
    (tmp_path / "manifests").mkdir(exist_ok=True)
    steps = ["--set", "n_boot=10", "--set", "training.max_steps=200", "--set", "training.min_steps=100",
             "--set", "training.eval_every=100"]
    runner = CliRunner()
    out = runner.invoke(app, ["grid", "--models", "toy", "--train", "emodb", "--test", "emodb", "--heads", "mlp,attn",
                              "--head-opt", "dropout=0.1", *steps, "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert len(result["run_ids"]) == 2
    assert sorted(result["matrices"]) == [
        "auroc_toy_attn_true_aug0_head-dropout-0.1_eval_every-100-max_steps-200-min_steps-100",
        "auroc_toy_mlp_true_aug0_head-dropout-0.1_eval_every-100-max_steps-200-min_steps-100"]
    bad = runner.invoke(app, ["probe", "--model", "toy", "--train", "emodb", "--head", "attn", "--head-opt", "width=3"])
    assert isinstance(bad.exception, SergenError) or bad.exit_code != 0
    assert "head attn has no such hyper-parameter" in (bad.output + str(bad.exception))

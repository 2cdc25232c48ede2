"""``--layer weighted``: a learned softmax-weighted sum of the stored layers in front of the head, on constructed
three-layer stores where only the middle layer (8) carries the classes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from sergen.cli import app
from sergen.errors import SergenError
from sergen.experiments import data
from sergen.experiments.grid_pool import worker_data_mib
from sergen.experiments.memory_plan import PARENT_MIB
from sergen.experiments.probe import probe_run, resolve_spec
from sergen.experiments.weighted_layers import check_weighted_memory, memory_need
from sergen.results import RunRecord
from sergen.train.heads import WeightedLayerSum, hidden_features, layer_weights, make_head
from sergen.train.loop import TrainConfig
from tests.fake_stores import layered_store

LAYERS = (4, 8, 12)
FAST = TrainConfig(max_steps=1000)


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def stores(workspace):
    """Three-layer toy stores of emodb and cremad (layer 8 carries the classes) in this test's stores folder."""
    root = workspace / "stores"
    (workspace / "manifests").mkdir()  # the conftest's SERGEN_MANIFESTS: a chosen folder must exist (none in it)
    layered_store(root, "emodb", LAYERS, signal_layer=8, seed=0)
    layered_store(root, "cremad", LAYERS, signal_layer=8, seed=1)
    return root


@pytest.mark.parametrize("head", ["linear", "mlp", "mlp-dann"])
def test_layer_weights_start_equal_sum_to_one_and_get_gradient(head):
    torch.manual_seed(0)
    model = make_head(head, 12, 4, np.zeros(12), np.ones(12), n_corpora=2, n_layers=3)
    featurizer = [m for m in model.modules() if isinstance(m, WeightedLayerSum)]
    assert len(featurizer) == 1 and featurizer[0].layer_width == 4
    np.testing.assert_allclose(layer_weights(model), [1 / 3] * 3)
    x = torch.randn(16, 12)
    loss = torch.nn.functional.cross_entropy(model(x), torch.arange(16) % 4)
    if head == "mlp-dann":
        loss = loss + model.corpus_logits(x).sum()
    loss.backward()
    grad = featurizer[0].logits.grad
    assert grad is not None and torch.count_nonzero(grad) == 3
    torch.optim.SGD(model.parameters(), lr=1.0).step()
    weights = layer_weights(model)
    assert weights.sum() == pytest.approx(1.0, abs=1e-6) and not np.allclose(weights, 1 / 3)
    assert model(x).shape == (16, 4)
    assert (hidden_features(model, x.numpy()) is None) == (head == "linear")  # the featurizer is no hidden layer
    assert layer_weights(make_head(head, 12, 4, np.zeros(12), np.ones(12), n_corpora=2)) is None


def test_featurizer_shares_weights_across_blocks_and_refuses_uneven_layers():
    layer_sum = WeightedLayerSum(2, 3)
    with torch.no_grad():
        layer_sum.logits[:] = torch.tensor([0.0, np.log(3.0)])  # weights 1/4, 3/4
    x = torch.arange(12, dtype=torch.float32)[None]  # two blocks (e.g. mean and std) of two layers of 3
    expected = [0.25 * 0 + 0.75 * 3, 0.25 * 1 + 0.75 * 4, 0.25 * 2 + 0.75 * 5,
                0.25 * 6 + 0.75 * 9, 0.25 * 7 + 0.75 * 10, 0.25 * 8 + 0.75 * 11]
    np.testing.assert_allclose(layer_sum(x).detach().numpy()[0], expected, rtol=1e-6)
    with pytest.raises(ValueError, match="10 inputs do not split into blocks of 3 layers of 3"):
        make_head("linear", 10, 4, np.zeros(10), np.ones(10), n_layers=3)
    two_blocks = make_head("mlp", 24, 4, np.zeros(24), np.ones(24), n_layers=3, layer_width=4)  # e.g. mean and std
    assert two_blocks[0][1].layer_width == 4 and two_blocks[1].in_features == 8


def test_utterance_vectors_go_through_the_weighted_sum_of_per_layer_means(stores):
    root = str(stores)
    every = data.load_corpus("toy", "emodb", root, "weighted")
    per_layer = [data.load_corpus("toy", "emodb", root, str(k)).pooled for k in LAYERS]
    np.testing.assert_array_equal(every.pooled, np.concatenate(per_layer, axis=1))  # the same store means
    rng = np.random.default_rng(0)
    mean, std = rng.normal(size=12).astype(np.float32), rng.uniform(0.5, 2, size=12).astype(np.float32)
    model = make_head("linear", 12, 4, mean, std, n_layers=3)
    with torch.no_grad():
        model[0][1].logits[:] = torch.tensor([0.3, -1.0, 2.0])
    w = np.exp([0.3, -1.0, 2.0]) / np.exp([0.3, -1.0, 2.0]).sum()
    expected = sum(w[k] * (per_layer[k] - mean[4 * k:4 * k + 4]) / std[4 * k:4 * k + 4] for k in range(3))
    got = model[0](torch.from_numpy(every.pooled)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_weighted_probe_finds_the_layer_that_carries_the_classes(stores):
    result = invoke("probe", "--model", "toy", "--train", "emodb", "--test", "emodb,cremad", "--head", "linear",
                    "--layer", "weighted", "--set", "training.max_steps=1000", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    weights = out["layer_weights"]
    assert list(weights) == ["4", "8", "12"] and sum(weights.values()) == pytest.approx(1.0, abs=1e-6)
    assert max(weights, key=weights.get) == "8" and weights["8"] > 0.4
    auroc = {r["test"]: r["value"] for r in out["rows"] if r["metric"] == "auroc"}
    assert auroc["emodb"] > 0.95 and auroc["cremad"] > 0.95
    assert {r["layer"] for r in out["rows"]} == {"weighted"}
    record = RunRecord.from_json((stores.parent / "results" / "runs" / f"{out['run_id']}.json").read_text())
    assert record.layer_weights == weights
    text = invoke("probe", "--model", "toy", "--train", "emodb", "--test", "emodb", "--head", "linear",
                  "--layer", "weighted", "--set", "training.max_steps=1000")
    assert text.exit_code == 0, text.output
    line = next(s for s in text.stdout.splitlines() if s.startswith("layer weights:"))
    assert len(line) <= 80 and line.split(": ")[1].split()[1].startswith("8=")


@pytest.mark.parametrize("head, train", [("mlp", ("emodb",)), ("mlp-dann", ("emodb", "cremad"))])
def test_weighted_layers_with_the_mlp_heads(stores, head, train):
    spec = resolve_spec("toy", "+".join(train), "emodb", head=head, layer="weighted", training=FAST, n_boot=10)
    run = probe_run(spec)
    weights = run.record.layer_weights
    assert max(weights, key=weights.get) == "8"
    assert run.rows.query("metric == 'auroc'").value.iloc[0] > 0.9


def test_old_records_read_without_layer_weights(stores):
    record = RunRecord(run_id="x", spec={"model": "toy"}, stores={}, stores_root=None)
    old = json.loads(record.to_json())
    del old["layer_weights"]
    assert RunRecord.from_json(json.dumps(old)).layer_weights is None


def test_weighted_on_a_single_layer_store_is_refused(stores, workspace):
    layered_store(workspace / "stores", "ravdess", layers=(8,), signal_layer=8)
    with pytest.raises(SergenError, match="toy/ravdess store holds a single layer") as caught:
        resolve_spec("toy", "emodb", "ravdess", layer="weighted")
    assert caught.value.where.endswith("ravdess.zarr") and "leave --layer out" in caught.value.fix
    assert "--layers 6,12,18,24" not in caught.value.fix  # toy is no model with layers to extract
    result = invoke("probe", "--model", "toy", "--train", "ravdess", "--test", "emodb", "--layer", "weighted")
    assert isinstance(result.exception, SergenError) and "holds a single layer" in result.exception.message
    assert not (workspace / "results" / "runs").exists() or not any((workspace / "results" / "runs").iterdir())


def test_weighted_needs_the_same_layers_in_every_store(stores, workspace):
    layered_store(workspace / "stores", "iemocap", layers=(4, 8, 16), signal_layer=8)
    with pytest.raises(SergenError, match="toy/emodb holds layers 4,8,12, toy/iemocap holds layers 4,8,16"):
        resolve_spec("toy", "emodb", "iemocap", layer="weighted")


def test_the_memory_check_counts_every_layer(workspace, monkeypatch):
    root = workspace / "stores"
    for k, corpus in enumerate(("emodb", "cremad")):
        layered_store(root, corpus, LAYERS, seed=k, n_utts=400, width=256)
    train, test = ("emodb",), ("emodb", "cremad")
    weighted, one = memory_need("toy", train, test, root, "weighted"), memory_need("toy", train, test, root, "8")
    assert weighted.vectors == 3 * one.vectors == 2 * 400 * 3 * 256 * 4  # float32 means of both stores
    assert weighted.ram_banks == 3 * one.ram_banks > 0 and weighted.mapped_banks == 0  # small banks stay in RAM
    monkeypatch.setenv("SERGEN_BANK_CACHE_MIB", "0")  # every bank a file: the mapped bytes its rows touch
    mapped = {k: sum(data.training_set_bytes("toy", train, str(root), k).values()) for k in ("weighted", "4", "8", "12")}
    assert mapped["weighted"] == mapped["4"] + mapped["8"] + mapped["12"] == 3 * mapped["8"] > 0
    monkeypatch.delenv("SERGEN_BANK_CACHE_MIB")
    specs = {k: resolve_spec("toy", "emodb", "emodb,cremad", layer=k) for k in ("weighted", "8")}
    assert worker_data_mib([specs["weighted"]], str(root)) == -(-(weighted.vectors + weighted.ram_banks) // 2**20)
    assert worker_data_mib([specs["8"]], str(root)) == -(-(one.vectors + one.ram_banks) // 2**20)  # the grid's plan
    budget = one.least_mib + 1  # fits one layer, not three
    assert one.least_mib < budget < weighted.least_mib
    with pytest.raises(SergenError) as caught:
        check_weighted_memory("toy", train, test, root, list(LAYERS), budget_mib=budget)
    message = caught.value.message
    assert f"needs {weighted.least_mib:,} MiB" in message and f"a budget of {budget:,} MiB" in message
    assert f"one layer needs {one.least_mib:,} MiB" in message and "--layer 12" in message
    assert "SERGEN_RAM_MIB" in message and weighted.least_mib > PARENT_MIB
    monkeypatch.setenv("SERGEN_RAM_MIB", str(budget))
    result = invoke("probe", "--model", "toy", "--train", "emodb", "--test", "emodb,cremad", "--layer", "weighted")
    assert isinstance(result.exception, SergenError) and f"a budget of {budget:,} MiB" in result.exception.message
    assert not (root / ".banks").exists() and not (workspace / "results" / "runs").exists()  # nothing built
    resolve_spec("toy", "emodb", "emodb,cremad", layer="8")  # one layer passes
    both = memory_need("toy", train, test, root, "weighted", "mean+std")  # the std half and the squares banks
    assert (both.vectors, both.ram_banks) == (2 * weighted.vectors, 2 * weighted.ram_banks)
    with pytest.raises(SergenError, match=r"\(and their squares: --pool mean\+std\)"):
        check_weighted_memory("toy", train, test, root, list(LAYERS), budget_mib=weighted.least_mib, pool="mean+std")


def test_experiment_file_and_command_line_give_the_same_weighted_run(stores, tmp_path):
    exp = tmp_path / "weighted.toml"
    exp.write_text('models = ["toy"]\ntrain = "emodb"\ntest = "emodb"\nheads = ["linear"]\nlayer = "weighted"\n'
                   'n_boot = 10\n\n[training]\nmax_steps = 600\n')
    from_file = invoke("grid", "--config", exp, "--json")
    assert from_file.exit_code == 0, from_file.output
    ids = json.loads(from_file.stdout)["run_ids"]
    cli = invoke("grid", "--models", "toy", "--train", "emodb", "--test", "emodb", "--heads", "linear", "--layer",
                 "weighted", "--set", "n_boot=10", "--set", "training.max_steps=600", "--json")
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.stdout)["run_ids"] == ids and len(ids) == 1 and json.loads(cli.stdout)["ran"] == 0
    record = RunRecord.from_json((tmp_path / "results" / "runs" / f"{ids[0]}.json").read_text())
    assert record.spec["layer"] == "weighted" and set(record.layer_weights) == {"4", "8", "12"}
    from sergen.experiments.grid import auroc_matrices

    # never averaged with another layer (nor with runs of other training settings)
    assert list(auroc_matrices()) == ["auroc_toy_linear_true_aug0_layer-weighted_max_steps-600"]
    probe_file = tmp_path / "probe.toml"
    probe_file.write_text('model = "toy"\ntrain = "emodb"\ntest = "emodb"\nhead = "linear"\nlayer = "weighted"\n'
                          'n_boot = 10\n\n[training]\nmax_steps = 600\n')
    probe = invoke("probe", "--config", probe_file, "--json")
    assert probe.exit_code == 0, probe.output
    assert json.loads(probe.stdout)["run_id"] == ids[0]
    again = invoke("probe", "--rerun", tmp_path / "results" / "runs" / f"{ids[0]}.json", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["layer_weights"] == json.loads(probe.stdout)["layer_weights"]  # seeded: exact

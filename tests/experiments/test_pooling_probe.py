"""``--pool mean+std`` end to end on constructed stores whose classes share their mean and differ only in
variance: the probe, its evaluation vectors under every ``--norm``, run ids, the memory plan of the squares
banks, and the experiment-file / command-line equivalence."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sergen import LABELS
from sergen.cli import app
from sergen.errors import SergenError
from sergen.experiments import data
from sergen.experiments.memory_plan import plan_grid
from sergen.experiments.probe import ProbeSpec, probe_run, resolve_spec
from sergen.train.loop import TrainConfig

DIM = 6
SCALES = np.array([0.5, 1.0, 2.0, 4.0])
FAST = TrainConfig(max_steps=1000, eval_every=100, min_steps=100)


def write_store(root, corpus: str, seed: int, scale: float = 1.0, offset: float = 0.0, n: int = 160):
    """Class c: frames N(offset, (scale · SCALES[c])²) — the same mean for every class."""
    from sergen.store.writer import StoreWriter, create_store

    rng = np.random.default_rng(seed)
    labels = np.tile(np.arange(4), n // 4)
    split = np.repeat(["train", "valid", "test"], [n // 2, n // 4, n // 4])
    plan = pd.DataFrame({"utt_id": [f"{corpus}{i:04d}" for i in range(n)], "label": [LABELS[c] for c in labels],
                         "native_label": [LABELS[c] for c in labels], "speaker": [f"{corpus}-s{i % 5}" for i in range(n)],
                         "gender": "F", "split": split, "path": "-", "duration_s": 3.0, "n_frames": 30})
    group = create_store(root / "toy" / f"{corpus}.zarr", plan, {
        "model": "toy", "corpus": corpus, "frame_rate": 10.0, "sample_rate": 16000, "synthetic": True,
        "weights": {}, "settings": {}, "manifest_sha256": "-"}, DIM)
    frames = [offset + scale * SCALES[c] * rng.standard_normal((30, DIM)) for c in labels]
    writer = StoreWriter(group)
    writer.write_window(0, [f.astype(np.float32) for f in frames], [1] * n)
    writer.mark_complete()


@pytest.fixture(scope="module")
def variance_stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("pool-stores")
    write_store(root, "emodb", seed=0)
    write_store(root, "cremad", seed=1, scale=3.0, offset=2.0)  # another corpus: frames scaled by 3, shifted
    return root


def auroc(run, corpus: str) -> float:
    rows = run.rows
    return float(rows[(rows.test == corpus) & (rows.metric == "auroc")].value.iloc[0])


def test_mean_std_separates_classes_that_differ_only_in_variance(variance_stores):
    runs = {pool: probe_run(resolve_spec("toy", "emodb", "emodb", variance_stores, head="linear", pool=pool,
                                         training=FAST, n_boot=10), variance_stores) for pool in ("mean", "mean+std")}
    assert auroc(runs["mean"], "emodb") < 0.7
    assert auroc(runs["mean+std"], "emodb") > 0.97
    assert set(runs["mean+std"].rows["pool"]) == {"mean+std"} and set(runs["mean"].rows["pool"]) == {"mean"}
    assert runs["mean+std"].record.spec["pool"] == "mean+std" and "pool" not in runs["mean"].record.spec


@pytest.mark.parametrize("norm", ["corpus", "speaker"])
def test_every_norm_keeps_working_and_divides_the_std_half_by_the_groups_std(variance_stores, norm):
    """Across corpora the second corpus's frames are 3× wider: the global std half misreads every class as
    wider; corpus normalisation divides each corpus's stds by its own std and the classes line up again."""
    spec = resolve_spec("toy", "emodb", "emodb,cremad", variance_stores, head="linear", pool="mean+std", norm=norm,
                        training=FAST, n_boot=10)
    run = probe_run(spec, variance_stores)
    assert auroc(run, "emodb") > 0.95 and auroc(run, "cremad") > 0.95
    # the evaluation vectors: [normalised mean, utterance std / its group's std], exactly
    from sergen.experiments.probe import normalised_vectors
    from sergen.train.norms import norm_strategy
    from sergen.train.norms.standardise import fit_groups

    root = data.stores_root_key(variance_stores)
    bank = data.training_bank("toy", ("emodb",), root, norm=norm, pool="mean+std")
    corpus, rows = data.split_rows("toy", "cremad", "test", root)
    stds = data.utterance_std(corpus, rows)
    keys = norm_strategy(norm).keys("cremad", corpus.speaker[rows])
    scope = np.flatnonzero(corpus.is_clean) if norm == "corpus" else rows
    fitted = fit_groups(norm_strategy(norm).keys("cremad", corpus.speaker[scope]), corpus.pooled[scope],
                        data.utterance_std(corpus, scope), corpus.stop[scope] - corpus.start[scope])
    expected = stds / fitted.std[np.searchsorted(fitted.names, keys.astype(str))]
    np.testing.assert_allclose(normalised_vectors(spec, bank, corpus, rows, root)[:, DIM:], expected, rtol=1e-5)


def test_global_std_half_fails_across_a_scaled_corpus_where_corpus_norm_does_not(variance_stores):
    runs = {norm: probe_run(resolve_spec("toy", "emodb", "cremad", variance_stores, head="linear", pool="mean+std",
                                         norm=norm, training=FAST, n_boot=10), variance_stores)
            for norm in ("global", "corpus")}
    assert auroc(runs["corpus"], "cremad") > auroc(runs["global"], "cremad") + 0.05


def test_run_ids_mean_unchanged_mean_std_different():
    spec = ProbeSpec(model="melspec", train=("emodb",), test=("emodb", "ravdess"), head="linear")
    # the id main's code (before --pool existed) gave this very spec: the poster's runs keep their ids
    assert spec.run_id == "e6825a85618b77d2"
    assert "pool" not in spec.as_dict()
    other = ProbeSpec(model="melspec", train=("emodb",), test=("emodb", "ravdess"), head="linear", pool="mean+std")
    assert other.run_id != spec.run_id and other.as_dict()["pool"] == "mean+std"


def test_bad_pool_values_are_refused(variance_stores):
    with pytest.raises(SergenError, match=r"unknown --pool 'std'; known: mean, mean\+std"):
        resolve_spec("toy", "emodb", "emodb", variance_stores, pool="std")


@pytest.fixture
def cached_banks(variance_stores, tmp_path, monkeypatch):
    monkeypatch.setenv("SERGEN_BANK_CACHE_MIB", "0")  # every bank a file
    monkeypatch.setenv("SERGEN_CACHE", str(tmp_path / "banks"))
    for cache in (data._training_bank, data._store_bank):
        cache.cache_clear()
    yield tmp_path / "banks"
    for cache in (data._training_bank, data._store_bank):
        cache.cache_clear()


def test_the_squares_bank_is_its_own_file_and_the_memory_plan_counts_it(variance_stores, cached_banks):
    root = data.stores_root_key(variance_stores)
    mean = data.training_set_bytes("toy", ("emodb",), root)
    both = data.training_set_bytes("toy", ("emodb",), root, pool="mean+std")
    assert len(mean) == 1 and len(both) == 2 and sum(both.values()) == 2 * sum(mean.values())
    squares_file, = set(both) - set(mean)
    sums_file, = set(both) & set(mean)
    assert squares_file.startswith("toy-emodb-layerlast-squares.") and sums_file.startswith("toy-emodb-layerlast.")
    assert data.prepare_store_bank("toy", "emodb", root, pool="mean") == data.bank_bytes(
        data.bank_layout(data.store_index("toy", "emodb", root))[0])
    size = data.prepare_store_bank("toy", "emodb", root, pool="mean+std")
    assert size == 2 * data.prepare_store_bank("toy", "emodb", root)
    assert sorted(p.name.split(".")[0] for p in cached_banks.glob("*.meta.npz")) == [
        "toy-emodb-layerlast", "toy-emodb-layerlast-squares"]
    # the mapped squares table holds the frames' squares; the sums bank is the very one mean runs map
    bank = data.store_bank("toy", "emodb", root, pool="mean+std")
    assert isinstance(bank.squares, np.memmap) and bank.prefix is data.store_bank("toy", "emodb", root).prefix
    import zarr

    frames = zarr.open_array(str(variance_stores / "toy" / "emodb.zarr" / "frames"), mode="r")[:30]
    np.testing.assert_allclose(bank.squares[bank.base[0] + 15], (frames.astype(np.float64) ** 2).sum(0), rtol=1e-6)
    # the plan: twice the mapped bytes for a mean+std training set (1 MiB budget units: scaled up to count)
    scaled = lambda sets: [{k: v * 2**20 for k, v in s.items()} for s in sets]  # noqa: E731
    assert plan_grid(scaled([both]), 1, 1, budget_mib=10**6).shared_mib == 2 * plan_grid(
        scaled([mean]), 1, 1, budget_mib=10**6).shared_mib


def invoke(*args):
    return CliRunner().invoke(app, list(args))


def test_an_experiment_file_and_the_command_line_give_the_same_run_id(variance_stores, tmp_path, monkeypatch):
    monkeypatch.setenv("SERGEN_STORES", str(variance_stores))
    monkeypatch.setenv("SERGEN_RESULTS", str(tmp_path / "results"))
    (tmp_path / "manifests").mkdir()  # the conftest's SERGEN_MANIFESTS: a chosen folder must exist (none in it)
    exp = tmp_path / "exp.toml"
    exp.write_text('models = ["toy"]\ntrain = "emodb"\ntest = "emodb"\nheads = ["linear"]\npool = "mean+std"\n'
                   'n_boot = 10\n\n[training]\nmax_steps = 200\nmin_steps = 100\neval_every = 100\n')
    from_file = invoke("grid", "--config", str(exp), "--json")
    assert from_file.exit_code == 0, from_file.output
    ids = json.loads(from_file.stdout)["run_ids"]
    cli = invoke("grid", "--models", "toy", "--train", "emodb", "--test", "emodb", "--heads", "linear",
                 "--pool", "mean+std", "--set", "n_boot=10", "--set", "training.max_steps=200",
                 "--set", "training.min_steps=100", "--set", "training.eval_every=100", "--json")
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.stdout)["run_ids"] == ids and json.loads(cli.stdout)["ran"] == 0
    spec = ProbeSpec(model="toy", train=("emodb",), test=("emodb",), head="linear", pool="mean+std", n_boot=10,
                     training=TrainConfig(max_steps=200, min_steps=100, eval_every=100))
    assert ids == [spec.run_id]
    again = invoke("probe", "--rerun", str(tmp_path / "results" / "runs" / f"{ids[0]}.json"), "--json")
    assert again.exit_code == 0, again.output  # a saved mean+std run repeats exactly
    repeat = json.loads(again.stdout)
    assert repeat["run_id"] == ids[0] and repeat["spec"]["pool"] == "mean+std"
    assert {row["pool"] for row in repeat["rows"]} == {"mean+std"}
    both = invoke("grid", "--models", "toy", "--train", "emodb", "--test", "emodb", "--heads", "linear",
                  "--pool", "mean,mean+std", "--set", "n_boot=10", "--set", "training.max_steps=200",
                  "--set", "training.min_steps=100", "--set", "training.eval_every=100", "--json")
    assert both.exit_code == 0, both.output
    out = json.loads(both.stdout)
    assert len(out["run_ids"]) == 2 and ids[0] in out["run_ids"] and out["ran"] == 1
    assert sorted(out["matrices"]) == ["auroc_toy_linear_true_aug0_eval_every-100-max_steps-200-min_steps-100",
                                    "auroc_toy_linear_true_aug0_pool-mean-std_eval_every-100-max_steps-200-min_steps-100"]


def test_bad_pool_on_the_command_line_and_in_a_file(variance_stores, tmp_path, monkeypatch):
    monkeypatch.setenv("SERGEN_STORES", str(variance_stores))
    bad = invoke("probe", "--model", "toy", "--train", "emodb", "--pool", "max")
    assert bad.exit_code == 2 and "unknown --pool 'max'" in bad.output
    bad_grid = invoke("grid", "--models", "toy", "--pool", "mean,")
    assert bad_grid.exit_code == 2 and "empty item" in bad_grid.output
    exp = tmp_path / "bad.toml"
    exp.write_text('model = "toy"\ntrain = "emodb"\n\npool = "median"\n')
    from_file = invoke("probe", "--config", str(exp))
    assert isinstance(from_file.exception, SergenError)
    assert 'pool = "median": unknown --pool \'median\'' in from_file.exception.what
    assert from_file.exception.where == f"{exp}, line 4"
    typed = tmp_path / "typed.toml"
    typed.write_text('model = "toy"\ntrain = "emodb"\npool = 2\n')
    wrong = invoke("probe", "--config", str(typed))
    assert isinstance(wrong.exception, SergenError) and "pool = 2: expected a string or a list of strings" in wrong.exception.what
    assert wrong.exception.where == f"{typed}, line 3"


def test_old_rows_read_as_mean_and_mean_std_runs_are_their_own_report_group(variance_stores, tmp_path):
    from sergen.experiments.probe import save_run
    from sergen.report.protocols import group_title, is_poster_protocol, protocol_groups, with_protocol_columns
    from sergen.results import load_runs

    run = probe_run(resolve_spec("toy", "emodb", "emodb", variance_stores, head="linear", training=FAST, n_boot=10),
                    variance_stores)
    run.rows = run.rows.drop(columns="pool")  # a run saved before pooling was a choice
    save_run(run, tmp_path / "results")
    rows = load_runs(tmp_path / "results").rows
    assert len(rows) and set(rows["pool"]) == {"mean"}
    both = pd.concat([rows, rows.assign(pool="mean+std", run_id="other")], ignore_index=True)
    both = with_protocol_columns(both.drop(columns="pool").assign(pool=[np.nan] * len(rows) + ["mean+std"] * len(rows)))
    assert is_poster_protocol(both).tolist() == [True] * len(rows) + [False] * len(rows)
    (group, part), = protocol_groups(both)
    assert group["pool"] == "mean+std" and set(part.run_id) == {"other"}
    assert group_title(group).endswith("· pooling: mean+std (--pool mean+std)")

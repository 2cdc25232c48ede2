"""Probes and grids on the demo stores."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sergen import CORPORA
from sergen.cli import app
from sergen.errors import SergenError
from sergen.experiments.grid import auroc_matrices, grid_specs, run_grid
from sergen.experiments.probe import load_results, resolve_spec, run_probe
from sergen.experiments.scramble import scramble_permutations
from sergen.train.loop import TrainConfig

FAST = TrainConfig(max_steps=600)


def test_scramble_is_fixed_per_corpus_and_differs_between_corpora():
    perms = scramble_permutations(list(CORPORA))
    again = scramble_permutations(list(CORPORA))
    assert all(np.array_equal(perms[c], again[c]) for c in CORPORA)
    keys = {tuple(p) for p in perms.values()}
    assert len(keys) == 5 and (0, 1, 2, 3) not in keys
    alone = scramble_permutations(["emodb"])
    assert np.array_equal(alone["emodb"], perms["emodb"])  # independent of the other training corpora


def test_within_corpus_well_above_chance_and_seeded(in_demo_workspace):
    spec = resolve_spec("melspec", "cremad", "all", head="linear", training=FAST)
    a = run_probe(spec)
    auroc = a[a.metric == "auroc"].set_index("test").value
    assert auroc["cremad"] > 0.85
    assert auroc.drop("cremad").mean() < auroc["cremad"] - 0.1  # across corpora: harder
    b = run_probe(spec)
    pd.testing.assert_frame_equal(a.drop(columns="seconds"), b.drop(columns="seconds"))
    assert set(a.test) == set(CORPORA) and a.synthetic.all()


def test_scrambled_labels_apply_to_valid_and_test_alike(in_demo_workspace):
    """Scrambling the one training corpus permutes its test labels too: within-corpus AUROC stays high."""
    spec = resolve_spec("melspec", "emodb", "emodb", head="linear", training=FAST, scramble=True)
    auroc = run_probe(spec).query("metric == 'auroc'").value.iloc[0]
    assert auroc > 0.8


def test_unknown_names_and_missing_stores(in_demo_workspace):
    with pytest.raises(SergenError, match="no melspec store for corpus 'tess'; stores exist for: "):
        resolve_spec("melspec", "tess", "all")
    with pytest.raises(SergenError, match="no stores for model 'cdpam-content'"):
        resolve_spec("cdpam-content", "emodb", "all")
    with pytest.raises(KeyError, match="unknown head 'svm'"):
        CliRunner().invoke(app, ["probe", "--model", "melspec", "--train", "emodb", "--head", "svm"],
                           catch_exceptions=False)


def test_grid_resumes_and_writes_matrices(in_demo_workspace, tmp_path):
    specs = grid_specs(["melspec"], "emodb,ravdess,emodb+ravdess", heads=("linear",), training=FAST, n_boot=20)
    assert [s.train_name for s in specs] == ["emodb", "ravdess", "emodb+ravdess"]
    results = run_grid(specs, workers=2)
    assert len(results) == 3 * 5 * 5  # train sets × test corpora × metrics
    done = {p.stem for p in (tmp_path / "results/runs").glob("*.csv")}
    assert done == {s.run_id for s in specs}
    mtimes = {p: p.stat().st_mtime for p in (tmp_path / "results/runs").glob("*.csv")}
    run_grid(specs, workers=2)  # everything done: nothing rerun
    assert mtimes == {p: p.stat().st_mtime for p in (tmp_path / "results/runs").glob("*.csv")}
    paths = auroc_matrices(load_results())
    matrix = pd.read_csv(paths["auroc_melspec_linear_true_aug0"], index_col=0)
    assert list(matrix.index) == ["emodb", "ravdess", "emodb+ravdess"]  # single corpora first
    assert list(matrix.columns) == list(CORPORA)
    cell = results.query("metric == 'auroc' and train == 'emodb' and test == 'ravdess'").value.iloc[0]
    assert matrix.loc["emodb", "ravdess"] == pytest.approx(cell, abs=1e-4)


def test_probe_command_as_a_user_types_it(in_demo_workspace):
    result = CliRunner().invoke(app, ["probe", "--model", "melspec", "--train", "cremad", "--test", "all"])
    assert result.exit_code == 0, result.output
    assert "trained on cremad" in result.output and "SYNTHETIC" in result.output
    assert "cremad *" in result.output
    df = load_results()
    assert set(df.test) == set(CORPORA) and set(df["head"]) == {"mlp"}

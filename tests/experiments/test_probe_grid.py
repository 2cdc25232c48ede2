"""Probes and grids on the demo stores."""

import shutil
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sergen import CORPORA
from sergen.cli import app
from sergen.errors import SergenError
from sergen.train.metrics import METRICS
from sergen.experiments.grid import auroc_matrices, grid_specs, plan_grid, run_grid
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
    unknown_head = CliRunner().invoke(app, ["probe", "--model", "melspec", "--train", "emodb", "--head", "svm"])
    assert unknown_head.exit_code == 2  # refused at the boundary, before any store is read
    assert "'svm' is not a head: give linear, mlp, mlp-dann (several training corpora only), attn" in " ".join(unknown_head.output.replace("│", " ").split())


def test_grid_resumes_and_writes_matrices(in_demo_workspace, tmp_path):
    specs = grid_specs(["melspec"], "emodb,ravdess,emodb+ravdess", heads=("linear",), training=FAST, n_boot=20)
    assert [s.train_name for s in specs] == ["emodb", "ravdess", "emodb+ravdess"]
    results = run_grid(specs, workers=2)
    assert len(results) == 3 * 5 * len(METRICS)  # train sets × test corpora × metrics
    done = {p.stem for p in (tmp_path / "results/runs").glob("*.csv")}
    assert done == {s.run_id for s in specs}
    mtimes = {p: p.stat().st_mtime for p in (tmp_path / "results/runs").glob("*.csv")}
    run_grid(specs, workers=2)  # everything done: nothing rerun
    assert mtimes == {p: p.stat().st_mtime for p in (tmp_path / "results/runs").glob("*.csv")}
    paths = auroc_matrices()
    matrix = pd.read_csv(paths["auroc_melspec_linear_true_aug0_max_steps-600"], index_col=0)
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


def test_aug_share_recorded_is_the_one_training_used(in_demo_workspace, monkeypatch):
    """``resolve_spec(..., aug_share=0.5)`` used to train at 0.0 while its rows said 0.5."""
    import sergen.experiments.probe as probe

    spec = resolve_spec("melspec", "emodb", "emodb", head="linear", training=FAST, n_boot=10, aug_share=0.5)
    assert spec.sampler.aug_share == 0.5 and spec.aug_share == 0.5
    # the demo stores hold no views: a stream that really draws views at 0.5 must refuse
    with pytest.raises(SergenError, match="no augmented views"):
        run_probe(spec)
    used = []
    real = probe.make_sampler
    monkeypatch.setattr(probe, "make_sampler", lambda bank, rate, cfg, seed, **kw: used.append(cfg.aug_share)
                        or real(bank, rate, replace(cfg, aug_share=0.0), seed, **kw))
    rows = run_probe(spec)
    assert used == [0.5] and set(rows.aug_share) == {0.5}
    plain = resolve_spec("melspec", "emodb", "emodb", training=FAST)
    assert plain.aug_share == 0.0 and plain.run_id != spec.run_id


def _copy_stores(demo_workspace, dest, corpora=("emodb", "ravdess")):
    for corpus in corpora:
        shutil.copytree(demo_workspace / "stores" / "melspec" / f"{corpus}.zarr", dest / "melspec" / f"{corpus}.zarr")
    return dest


def test_stale_runs_rerun_and_are_kept_out_of_reports(demo_workspace, tmp_path):
    """A store rebuilt with --overwrite makes the runs that read it stale: grid reruns exactly those,
    report leaves them out and says why."""
    from sergen.extract import extract
    from sergen.report.markdown import build_report
    from sergen.results import load_runs

    stores = _copy_stores(demo_workspace, tmp_path / "stores")
    specs = grid_specs(["melspec"], "emodb,ravdess", "ravdess", heads=("linear",), training=FAST, n_boot=10,
                       stores_root=stores)
    run_grid(specs, stores_root=stores, workers=1, show_progress=False)
    by_train = {s.train_name: s.run_id for s in specs}
    csv = {t: tmp_path / "results/runs" / f"{i}.csv" for t, i in by_train.items()}
    first = {t: p.stat().st_mtime_ns for t, p in csv.items()}
    record = load_runs().records[by_train["emodb"]]
    assert set(record.stores) == {"melspec/emodb", "melspec/ravdess"}
    assert record.sergen_version and len(record.stores["melspec/emodb"]["fingerprint"]) == 16
    assert plan_grid(specs, stores_root=stores).todo == []

    time.sleep(1.1)  # store times have one-second resolution
    extract("melspec", "emodb", stores_root=stores, manifest_file=demo_workspace / "manifests/emodb.csv",
            overwrite=True, show_progress=False)
    plan = plan_grid(specs, stores_root=stores)
    assert [s.train_name for s in plan.todo] == ["emodb"]  # the ravdess run never read emodb
    assert "melspec/emodb was rebuilt" in plan.stale[by_train["emodb"]]
    runs = load_runs()
    assert set(runs.records) == {by_train["ravdess"]} and set(runs.stale) == {by_train["emodb"]}
    text = build_report(tmp_path / "results", tmp_path / "out").read_text()
    assert "Left out: 1 stale run" in text and "melspec/emodb was rebuilt or changed since the run" in text

    run_grid(specs, stores_root=stores, workers=1, show_progress=False)
    assert csv["emodb"].stat().st_mtime_ns > first["emodb"]
    assert csv["ravdess"].stat().st_mtime_ns == first["ravdess"]
    assert not load_runs().stale
    again = build_report(tmp_path / "results", tmp_path / "out").read_text()
    assert "Left out" not in again and "from 2 fresh probe runs" in again


def test_matrices_keep_rows_of_earlier_grids(in_demo_workspace, tmp_path):
    """`grid --train cremad` after `grid --train emodb` used to drop the emodb row."""
    for train in ("emodb", "ravdess"):
        specs = grid_specs(["melspec"], train, "emodb,ravdess", heads=("linear",), training=FAST, n_boot=10)
        run_grid(specs, workers=1, show_progress=False)
        paths = auroc_matrices()
    matrix = pd.read_csv(paths["auroc_melspec_linear_true_aug0_max_steps-600"], index_col=0)
    assert list(matrix.index) == ["emodb", "ravdess"] and list(matrix.columns) == ["emodb", "ravdess"]
    rows = load_results().query("metric == 'auroc'").set_index(["train", "test"]).value
    assert matrix.loc["emodb", "ravdess"] == pytest.approx(rows["emodb", "ravdess"], abs=1e-4)
    assert matrix.loc["ravdess", "ravdess"] == pytest.approx(rows["ravdess", "ravdess"], abs=1e-4)
    # a matrix no fresh run supports any more goes; a file sergen did not write stays
    mine = paths["auroc_melspec_linear_true_aug0_max_steps-600"].parent
    (mine / "auroc_by_hand.csv").write_text("mine")
    for run in (tmp_path / "results/runs").glob("*.csv"):
        run.unlink()
    assert auroc_matrices() == {}
    assert sorted(p.name for p in mine.glob("*.csv")) == ["auroc_by_hand.csv"]


def test_run_record_has_history_and_confusion_equal_to_sklearn(in_demo_workspace, monkeypatch):
    from sklearn.metrics import confusion_matrix

    import sergen.experiments.probe as probe
    from sergen.experiments.probe import probe_run

    probe._utterance_vectors.cache_clear()  # the spy below must see every split read
    seen = {}
    real = probe.predict_proba
    monkeypatch.setattr(probe, "predict_proba", lambda model, x: seen.setdefault(len(seen), real(model, x)))
    real_rows = probe.split_rows
    labels = []

    def spy(*args):
        data, rows = real_rows(*args)
        labels.append(data.label[rows])
        return data, rows

    monkeypatch.setattr(probe, "split_rows", spy)
    spec = resolve_spec("melspec", "emodb", "emodb,ravdess", head="linear", training=FAST, n_boot=10)
    run = probe_run(spec)
    tests = labels[-2:]
    for k, corpus in enumerate(("emodb", "ravdess")):
        expected = confusion_matrix(tests[k], seen[k].argmax(1), labels=[0, 1, 2, 3])
        assert np.array_equal(np.array(run.record.confusion[corpus]), expected)
        assert np.array(run.record.confusion[corpus]).sum() == run.rows.query("test == @corpus").n_test.iloc[0]
    steps = [h[0] for h in run.record.history]
    assert steps == list(range(50, 50 * len(steps) + 1, 50)) and all(0 < h[1] <= 1 and h[2] > 0 for h in run.record.history)

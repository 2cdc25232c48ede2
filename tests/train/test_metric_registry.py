"""One metric registry (``sergen.train.metric_base``): a metric registered in a test, and nowhere else, is
scored in a run's results rows with its bootstrap interval, is a choice of ``sergen compare --metric`` and a
column of the probe's and the report's tables. Its value with and without a weighted form agree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import typer

from sergen.train import metrics
from sergen.train.loop import TrainConfig
from sergen.train.metric_base import METRICS, Metric, Resamples, TestSet, register
from tests.fake_stores import layered_store


def balanced_error(t: TestSet) -> float:
    """1 − UAR, from the predicted classes alone: lower is better."""
    return 1.0 - float(np.mean([np.mean(t.pred[t.y == k] == k) for k in t.present]))


def balanced_error_resampled(r: Resamples) -> np.ndarray:
    return 1.0 - np.where(r.present, r.tp / r.n_true, 0.0).sum(1) / r.n_present


@pytest.fixture
def registered(monkeypatch):
    """``balanced_error`` (weighted form) and ``balanced_error_slow`` (scored resample by resample) registered
    for this test only: the registry is restored afterwards."""
    monkeypatch.setattr(METRICS, "_items", dict(METRICS._items))
    monkeypatch.setattr(METRICS, "_aliases", dict(METRICS._aliases))
    register(Metric("balanced_error", "BER", "balanced error rate, 1 − UAR", point=balanced_error,
                    resampled=balanced_error_resampled, higher_is_better=False))
    register(Metric("balanced_error_slow", "BER (slow)", "the same, each resample scored on its own",
                    point=balanced_error, higher_is_better=False))
    return ["balanced_error", "balanced_error_slow"]


def case(n=150, k=4, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    proba = rng.random((n, k)) + 0.3 * np.eye(k)[y]
    return y, proba / proba.sum(1, keepdims=True)


def test_sergen_registers_six_metrics_in_order():
    assert list(METRICS) == ["auroc", "acc", "f1", "avprec", "uar", "emobox_f1"] == METRICS.names()
    assert [m.title for m in METRICS.all()] == ["AUROC", "ACC", "F1", "AvPrec", "UAR", "EmoBox F1"]
    assert [m.name for m in METRICS.all() if m.poster] == ["auroc", "acc", "f1", "avprec"]
    assert [m.name for m in METRICS.all() if m.needs_proba] == ["auroc", "avprec"]


def test_a_registered_metric_is_bootstrapped_with_and_without_a_weighted_form(registered):
    y, proba = case()
    scores = metrics.bootstrap_metrics(y, proba, n_boot=120, seed=3)
    assert list(scores) == [*METRICS.names()[:6], *registered]
    uar, ber, slow = scores["uar"], scores["balanced_error"], scores["balanced_error_slow"]
    assert ber == slow  # the weighted form equals scoring each resample's arrays, bit for bit here
    assert ber[0] == pytest.approx(1 - uar[0], abs=1e-15)
    assert (ber[1], ber[2]) == (pytest.approx(1 - uar[2], abs=1e-12), pytest.approx(1 - uar[1], abs=1e-12))
    assert ber[1] < ber[0] < ber[2]
    # every other metric's numbers are those of the registry without it
    for name in METRICS.names()[:6]:
        assert scores[name] == metrics.bootstrap_metrics(y, proba, n_boot=120, seed=3)[name]


def test_a_registered_metric_is_a_choice_of_compare(registered):
    from sergen.cli import validate
    from sergen.experiments.compare import paired_test

    y, proba_a = case(seed=1)
    proba_b = np.roll(proba_a, 1, axis=1)  # B predicts the wrong class everywhere A is right
    diff, low, high, p = paired_test(y, proba_a, proba_b, "balanced_error", n_resamples=200, seed=0)
    want = balanced_error(TestSet(y, proba_a)) - balanced_error(TestSet(y, proba_b))
    assert diff == pytest.approx(want, abs=1e-15) and diff < 0  # lower is better: A wins
    assert low <= diff <= high and p == pytest.approx(1 / 201)
    assert validate.metric("balanced_error") == "balanced_error"
    with pytest.raises(typer.BadParameter, match="'ber' is not a metric: give auroc, acc, f1, avprec, uar, "
                                                 "emobox_f1, balanced_error, balanced_error_slow"):
        validate.metric("ber")
    assert metrics.metric_choices().endswith("balanced_error: balanced error rate, 1 − UAR (lower is better); "
                                             "balanced_error_slow: the same, each resample scored on its own "
                                             "(lower is better)")


def test_an_unknown_metric_is_refused_naming_the_registered_ones():
    from sergen.errors import SergenError
    from sergen.experiments.compare import paired_test

    y, proba = case(20)
    with pytest.raises(SergenError, match="unknown metric 'ber'") as caught:
        paired_test(y, proba, proba, "ber")
    assert caught.value.fix == "use one of auroc, acc, f1, avprec, uar, emobox_f1"


def test_a_registered_metric_is_a_column_of_the_report_and_the_probe_table(registered):
    from sergen.cli.experiments import results_table
    from sergen.report.protocols import poster_columns
    from sergen.report.tables import intra_metrics

    assert poster_columns() == (("AUROC", "auroc", False), ("ACC", "acc", False), ("F1", "f1", False),
                                ("AvPrec", "avprec", False), ("UAR", "uar", False), ("BER", "balanced_error", False),
                                ("BER (slow)", "balanced_error_slow", False))
    assert intra_metrics() == ["auroc", "acc", "f1", "avprec"]  # not one of the poster's four
    rows = pd.DataFrame([{"test": "emodb", "metric": m, "value": 0.5, "ci_low": 0.4, "ci_high": 0.6,
                          "absent_classes": "", "in_training": True} for m in METRICS])
    headers = [c.header for c in results_table(rows, "t").columns]
    assert headers == ["test", "AUROC", "95% CI", "ACC", "F1", "AvPrec", "UAR", "EmoBox F1", "BER", "BER (slow)"]


def test_a_registered_metric_is_in_a_runs_results_rows(registered, workspace):
    from sergen.experiments.probe import probe_run, resolve_spec

    root = workspace / "stores"
    (workspace / "manifests").mkdir()
    layered_store(root, "emodb", layers=(8,), signal_layer=8, seed=0)
    spec = resolve_spec("toy", "emodb", "emodb", root, head="linear", n_boot=50,
                        training=TrainConfig(max_steps=100, eval_every=50, min_steps=50))
    rows = probe_run(spec, root).rows.set_index("metric")
    assert list(rows.index) == METRICS.names()
    ber, uar = rows.loc["balanced_error"], rows.loc["uar"]
    assert ber.value == pytest.approx(1 - uar.value, abs=1e-15)
    assert (ber.ci_low, ber.ci_high) == (pytest.approx(1 - uar.ci_high, abs=1e-12),
                                         pytest.approx(1 - uar.ci_low, abs=1e-12))
    assert rows.loc["balanced_error_slow", ["value", "ci_low", "ci_high"]].tolist() == \
        ber[["value", "ci_low", "ci_high"]].tolist()

"""Validation's AUROC without scikit-learn's per-call checks (issue 26): ``sklearn_binary_auroc`` must equal
``roc_auc_score`` to the last bit, so validation histories, early stopping and the reported AUROC stay as they
were; and a whole run with it equals, value for value, the same run scored by scikit-learn."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import sergen.train.metrics as metrics
from sergen.experiments.probe import probe_run, resolve_spec
from sergen.train.loop import TrainConfig
from sergen.train.metrics import macro_auroc, sklearn_binary_auroc


def cases(seed: int):
    """Scores as heads give them (float32 softmax columns), heavily tied ones, and every class balance."""
    rng = np.random.default_rng(seed)
    for t in range(600):
        n = int(rng.integers(2, 700))
        positive = rng.random(n) < rng.uniform(0.01, 0.99)
        positive[rng.integers(n)] = True
        positive[(np.flatnonzero(positive)[0] + 1) % n] = False  # both classes, always
        score = (rng.dirichlet(np.ones(4), n).astype(np.float32)[:, 0], np.round(rng.random(n), 1),
                 rng.integers(3, size=n).astype(np.float64), rng.random(n))[t % 4]
        yield positive, score


@pytest.mark.parametrize("seed", [0, 1])
def test_equals_scikit_learn_bit_for_bit(seed):
    n = 0
    for positive, score in cases(seed):
        assert sklearn_binary_auroc(positive, score) == roc_auc_score(positive, score)
        n += 1
    assert n == 600


def test_edge_cases():
    assert sklearn_binary_auroc(np.array([True, False]), np.array([0.9, 0.1])) == 1.0
    assert sklearn_binary_auroc(np.array([True, False]), np.array([0.1, 0.9])) == 0.0
    assert sklearn_binary_auroc(np.array([True, False, True]), np.array([0.5, 0.5, 0.5])) == 0.5
    rng = np.random.default_rng(3)
    y, proba = rng.integers(4, size=400), rng.dirichlet(np.ones(4), size=400).astype(np.float32)
    assert macro_auroc(y, proba) == float(np.mean([roc_auc_score(y == k, proba[:, k]) for k in range(4)]))
    assert np.isnan(macro_auroc(np.zeros(5, int), proba[:5]))


def test_run_equals_the_run_scored_by_scikit_learn(in_demo_workspace, monkeypatch):
    spec = resolve_spec("melspec", "emodb+ravdess", "all", head="mlp", training=TrainConfig(max_steps=600),
                        n_boot=10, seed=2)

    def comparable(run):
        record = json.loads(run.record.to_json())
        record.pop("finished", None)
        return record, run.rows.drop(columns="seconds")

    now = comparable(probe_run(spec))
    monkeypatch.setattr(metrics, "sklearn_binary_auroc", lambda p, s: float(roc_auc_score(p, s)))
    before = comparable(probe_run(spec))
    assert len(now[0]["history"]) >= 10 and now[0] == before[0]  # history, steps, confusion, diagnostics
    pd.testing.assert_frame_equal(now[1], before[1], check_exact=True)

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from sergen.train.metrics import bootstrap_metrics, fast_metrics, point_metrics


def test_equal_to_sklearn_on_known_inputs():
    y = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    p = np.eye(4)[[0, 1, 2, 3, 1, 1, 2, 0]] * 0.7 + 0.075
    m = point_metrics(y, p)
    assert m["acc"] == accuracy_score(y, p.argmax(1)) == 0.75
    assert m["auroc"] == roc_auc_score(y, p, multi_class="ovr", average="macro")
    assert m["f1"] == f1_score(y, p.argmax(1), average="macro")
    assert m["uar"] == 0.75


def test_fast_metrics_equal_sklearn_with_ties():
    rng = np.random.default_rng(0)
    for trial in range(40):
        n = int(rng.integers(8, 200))
        y = rng.integers(0, 4, n)
        p = rng.random((n, 4))
        if trial % 2:
            p = np.round(p, 1)  # many ties
        a, b = point_metrics(y, p), fast_metrics(y, p)
        for k in a:
            assert abs(a[k] - b[k]) < 1e-12, (k, a[k], b[k])


def test_missing_class_is_left_out_of_macro_averages():
    y = np.array([0, 0, 1, 1])
    p = np.array([[0.9, 0.1, 0, 0], [0.8, 0.2, 0, 0], [0.1, 0.9, 0, 0], [0.3, 0.7, 0, 0]])
    assert point_metrics(y, p)["auroc"] == 1.0


def test_bootstrap_is_seeded_and_brackets_the_value():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 300)
    p = np.eye(4)[y] * 0.3 + rng.random((300, 4))
    a = bootstrap_metrics(y, p, n_boot=100, seed=0)
    assert a == bootstrap_metrics(y, p, n_boot=100, seed=0)
    assert a != bootstrap_metrics(y, p, n_boot=100, seed=1)
    for value, low, high in a.values():
        assert low <= value <= high

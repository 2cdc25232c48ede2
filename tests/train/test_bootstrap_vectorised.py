"""The vectorised bootstrap (all resamples scored at once as weighted sums) gives the intervals of the loop it
replaced, resample by resample: same seed, same indices, same metric values."""

import numpy as np
import pytest

from sergen.train import metrics
from sergen.train.metrics import METRICS, bootstrap_metrics, fast_metrics, point_metrics, resampled_metrics


def loop_bootstrap(y, proba, n_boot=200, seed=0, level=0.95):
    """The implementation before issue 26, kept here as the reference."""
    point = point_metrics(y, proba)
    rng = np.random.default_rng(seed)
    draws = {m: [] for m in METRICS}
    for _ in range(n_boot):
        idx = rng.integers(len(y), size=len(y))
        if len(np.unique(y[idx])) < 2:
            continue
        for m, v in fast_metrics(y[idx], proba[idx]).items():
            draws[m].append(v)
    alpha = (1 - level) / 2
    out = {}
    for m in METRICS:
        vals = np.asarray(draws[m])
        vals = vals[np.isfinite(vals)]
        lo, hi = (np.quantile(vals, [alpha, 1 - alpha]) if len(vals) else (np.nan, np.nan))
        out[m] = (point[m], float(lo), float(hi))
    return out


def case(n, k=4, seed=0, ties=None, skew=1.0):
    rng = np.random.default_rng(seed)
    y = rng.choice(k, n, p=np.r_[skew, np.ones(k - 1)] / (skew + k - 1))
    logits = rng.standard_normal((n, k)) + 1.5 * np.eye(k)[y]
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    if ties:
        proba = np.round(proba, ties)  # many tied scores within a class
    return y, proba


def assert_same(a, b):
    assert a.keys() == b.keys()
    for m in a:
        np.testing.assert_allclose(a[m], b[m], rtol=1e-12, atol=1e-12, equal_nan=True, err_msg=m)


@pytest.mark.parametrize("n,ties,seed", [(300, None, 0), (300, 1, 1), (57, 2, 2), (1000, 1, 3)])
def test_intervals_equal_the_loop(n, ties, seed):
    y, proba = case(n, seed=seed, ties=ties)
    assert_same(bootstrap_metrics(y, proba, n_boot=150, seed=seed), loop_bootstrap(y, proba, n_boot=150, seed=seed))


def test_each_resample_equals_scoring_the_resampled_arrays():
    y, proba = case(40, seed=5, ties=1)
    rng = np.random.default_rng(9)
    for _ in range(30):
        idx = rng.integers(len(y), size=len(y))
        got = resampled_metrics(y, proba, np.bincount(idx, minlength=len(y))[None].astype(float))
        want = fast_metrics(y[idx], proba[idx])
        for m in METRICS:
            assert got[m][0] == pytest.approx(want[m], abs=1e-12), m


def test_tiny_sets_skip_single_class_resamples_as_the_loop_did():
    # 6 utterances, one of them the only "ang": many resamples hold a single class or miss a class
    y = np.array([0, 1, 1, 1, 1, 1])
    proba = np.tile([0.3, 0.3, 0.2, 0.2], (6, 1))
    proba[0] = [0.1, 0.2, 0.6, 0.1]  # predicted as a class that is never true (EmoBox's F1 counts it)
    for seed in range(5):
        assert_same(bootstrap_metrics(y, proba, n_boot=80, seed=seed), loop_bootstrap(y, proba, n_boot=80, seed=seed))


def test_absent_classes_and_skewed_sets():
    y, proba = case(200, k=4, seed=4, skew=8.0)
    y[y == 3] = 2  # class 3 absent from the test set
    assert_same(bootstrap_metrics(y, proba, n_boot=100, seed=7), loop_bootstrap(y, proba, n_boot=100, seed=7))


def test_chunked_scoring_changes_nothing(monkeypatch):
    y, proba = case(120, seed=6, ties=2)
    whole = bootstrap_metrics(y, proba, n_boot=50, seed=1)
    monkeypatch.setattr(metrics, "BOOTSTRAP_CELLS", 120 * 7)  # 7 resamples at a time, the last chunk short
    assert bootstrap_metrics(y, proba, n_boot=50, seed=1) == whole

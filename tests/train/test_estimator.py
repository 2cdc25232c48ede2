"""The scikit-learn-style ``Probe`` on plain arrays (issue 23 item 4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sergen.errors import SergenError
from sergen.train.estimator import Probe
from sergen.train.metrics import macro_auroc


def test_fit_predict_proba_on_vectors_with_any_labels():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 5))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "hap", "sad")
    probe = Probe(head="linear", max_steps=1000).fit(X[:80], y[:80])
    proba = probe.predict_proba(X[80:])
    assert proba.shape == (40, 2) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert list(probe.classes_) == ["hap", "sad"]
    assert macro_auroc(np.searchsorted(probe.classes_, y[80:]), proba) > 0.9
    assert set(probe.predict(X[80:])) <= {"hap", "sad"}
    again = Probe(head="linear", max_steps=1000).fit(X[:80], y[:80]).predict_proba(X[80:])
    np.testing.assert_array_equal(again, proba)  # same seed, same numbers


def test_attn_on_frame_arrays_and_the_refusals():
    torch.set_num_threads(1)
    rng = np.random.default_rng(1)
    frames = [rng.standard_normal((20, 3)) + (c, 0, 0) for c in np.arange(40) % 2]
    y = np.arange(40) % 2
    probe = Probe(head="attn", head_opt="attention=8", max_steps=100, frame_rate=10.0).fit(frames, y)
    assert probe.head_opt_ == "attention=8" and probe.predict_proba(frames[:6]).shape == (6, 2)
    with pytest.raises(SergenError, match="head attn sees frames: X must be a list of frame arrays"):
        Probe(head="attn").fit(np.zeros((10, 3)), y[:10])
    with pytest.raises(SergenError, match="this Probe is not fitted yet"):
        Probe().predict_proba(np.zeros((2, 3)))
    with pytest.raises(SergenError, match="not finite or beyond float16"):
        Probe().fit(np.full((10, 3), 1e6), y[:10])

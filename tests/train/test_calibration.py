"""Expected calibration error and the reliability table against hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from sergen.train.calibration import confidence_bins, expected_calibration_error, reliability_table


def test_ece_by_hand():
    """Five utterances, two classes, 10 bins. Top confidences 0.95, 0.95 (bin 9, one right: accuracy 1/2),
    0.65 (bin 6, right), 0.55, 0.55 (bin 5, both wrong). ECE = 2/5·|0.5 − 0.95| + 1/5·|1 − 0.65| +
    2/5·|0 − 0.55| = 0.18 + 0.07 + 0.22 = 0.47."""
    proba = np.array([[0.95, 0.05], [0.05, 0.95], [0.65, 0.35], [0.45, 0.55], [0.55, 0.45]])
    y = np.array([0, 0, 0, 0, 1])
    assert expected_calibration_error(y, proba) == pytest.approx(0.47)
    table = reliability_table(y, proba).set_index("low")
    assert table["count"].tolist() == [0, 0, 0, 0, 0, 2, 1, 0, 0, 2]
    assert table.loc[0.9, ["confidence", "accuracy"]].tolist() == pytest.approx([0.95, 0.5])
    assert table.loc[0.5, ["confidence", "accuracy"]].tolist() == pytest.approx([0.55, 0.0])
    assert np.isnan(table.loc[0.0, "accuracy"])


def test_bins_are_closed_on_the_right():
    assert confidence_bins(np.array([0.0, 0.1, 0.1000001, 0.5, 1.0])).tolist() == [0, 0, 1, 4, 9]


def test_a_calibrated_head_has_ece_near_zero_and_an_overconfident_one_does_not():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1.0, 20000)  # the top class: at least one half
    right = rng.random(20000) < confidence  # right as often as it is confident
    proba = np.stack([confidence, 1 - confidence], 1)
    y = np.where(right, 0, 1)
    assert expected_calibration_error(y, proba) < 0.01
    y_over = np.where(rng.random(20000) < confidence - 0.2, 0, 1)  # 20 points less often right
    assert expected_calibration_error(y_over, proba) == pytest.approx(0.2, abs=0.02)

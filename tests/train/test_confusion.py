"""Confusion counts are scikit-learn's, over all four classes even when a test set lacks some."""

import numpy as np
from sklearn.metrics import confusion_matrix

from sergen.train.metrics import confusion_counts, row_normalised


def test_confusion_counts_equal_sklearn_with_absent_classes():
    rng = np.random.default_rng(3)
    for trial in range(20):
        n = int(rng.integers(5, 80))
        y = rng.choice([0, 2, 3] if trial % 2 else [0, 1, 2, 3], size=n)
        proba = rng.dirichlet(np.ones(4), size=n)
        counts = confusion_counts(y, proba, 4)
        assert counts.shape == (4, 4) and counts.sum() == n
        assert np.array_equal(counts, confusion_matrix(y, proba.argmax(1), labels=[0, 1, 2, 3]))
        if trial % 2:
            assert counts[1].sum() == 0  # the absent class: a zero row, kept in place


def test_row_normalised_shares():
    counts = np.array([[3, 1, 0, 0], [0, 0, 0, 0], [1, 1, 2, 0], [0, 0, 0, 5]])
    shares = row_normalised(counts)
    assert shares[0].tolist() == [0.75, 0.25, 0.0, 0.0] and shares[2].tolist() == [0.25, 0.25, 0.5, 0.0]
    assert np.isnan(shares[1]).all() and shares[3, 3] == 1.0

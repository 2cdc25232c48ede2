"""EmoBox's WA / UA / micro-F1 / macro-F1 against confusion matrices worked out by hand."""

import numpy as np
import pytest

from sergen.train.emobox_metrics import emobox_confusion, emobox_scores
from sergen.train.metrics import point_metrics


def from_confusion(counts, labels):
    """(y_true, y_pred) holding counts[i][j] utterances of true class i predicted as j."""
    y_true, y_pred = [], []
    for i, row in enumerate(counts):
        for j, n in enumerate(row):
            y_true += [labels[i]] * n
            y_pred += [labels[j]] * n
    return np.array(y_true), np.array(y_pred)


# rows: true hap, sad, neu; columns: predicted hap, sad, neu
THREE = [[3, 1, 0],
         [0, 2, 2],
         [1, 0, 1]]


def test_scores_of_a_three_class_confusion_matrix():
    y_true, y_pred = from_confusion(THREE, ["hap", "sad", "neu"])
    scores = emobox_scores(y_true, y_pred)
    # WA: 6 of 10 on the diagonal; UA: recalls 3/4, 2/4, 1/2
    assert scores["wa"] == pytest.approx(6 / 10)
    assert scores["ua"] == pytest.approx((3 / 4 + 2 / 4 + 1 / 2) / 3)
    assert scores["micro_f1"] == pytest.approx(6 / 10)
    # F1 per class: hap P=3/4 R=3/4 -> 3/4; sad P=2/3 R=1/2 -> 4/7; neu P=1/3 R=1/2 -> 2/5
    assert scores["macro_f1"] == pytest.approx((3 / 4 + 4 / 7 + 2 / 5) / 3)
    assert scores["n"] == 10
    assert emobox_confusion(y_true, y_pred).tolist() == [[3, 0, 1], [1, 1, 0], [0, 2, 2]]  # sorted: hap, neu, sad


def test_a_predicted_class_missing_from_the_test_set_counts_in_macro_f1():
    """EmoBox averages F1 over the classes of y_true and y_pred; sergen's metrics over those of y_true."""
    y_true, y_pred = from_confusion([[2, 0, 1], [0, 1, 1], [0, 0, 0]], [0, 1, 2])
    scores = emobox_scores(y_true, y_pred)
    assert scores["wa"] == pytest.approx(3 / 5)
    assert scores["ua"] == pytest.approx((2 / 3 + 1 / 2) / 2)  # class 2 is not in y_true: not in UA
    # F1: class 0 P=1 R=2/3 -> 4/5; class 1 P=1 R=1/2 -> 2/3; class 2 predicted twice, never true -> 0
    assert scores["macro_f1"] == pytest.approx((4 / 5 + 2 / 3 + 0) / 3)
    proba = np.eye(3)[y_pred]
    ours = point_metrics(y_true, proba)
    assert ours["uar"] == pytest.approx(scores["ua"])  # sergen's UAR is EmoBox's UA
    assert ours["f1"] == pytest.approx((4 / 5 + 2 / 3) / 2)  # but its macro F1 skips the absent class
    assert ours["acc"] == pytest.approx(scores["wa"])


def test_perfect_and_constant_predictions():
    y = np.array(["a", "a", "b", "c"])
    assert emobox_scores(y, y) == {"wa": 1.0, "ua": 1.0, "micro_f1": 1.0, "macro_f1": 1.0, "n": 4}
    constant = emobox_scores(y, np.array(["a"] * 4))
    assert constant["wa"] == pytest.approx(0.5)
    assert constant["ua"] == pytest.approx(1 / 3)  # recall 1, 0, 0
    assert constant["macro_f1"] == pytest.approx((2 * 0.5 * 1 / 1.5) / 3)  # a: P=1/2 R=1 -> 2/3; b, c: 0


@pytest.mark.parametrize("y_true, y_pred", [([0, 1], [0]), ([], []), ([[0, 1]], [[0, 1]])])
def test_mismatched_or_empty_inputs_are_refused(y_true, y_pred):
    with pytest.raises(ValueError, match="equal-length 1-d"):
        emobox_scores(y_true, y_pred)

"""EmoBox's four scores, computed as EmoBox's ``EmoEval.ComputePerformance`` computes them (scikit-learn):

- WA, weighted accuracy: ``accuracy_score``;
- UA, unweighted average recall: ``balanced_accuracy_score`` (mean recall over the classes of ``y_true``);
- micro-F1: ``f1_score(average="micro")`` (equal to WA for single-label classification);
- macro-F1: ``f1_score(average="macro")`` over every class in ``y_true`` *or* ``y_pred``: a class predicted
  but absent from the test set counts with F1 = 0. sergen's own macro F1 (``sergen.train.metrics``) averages
  over the classes present in the test set only, so the two differ exactly when a model predicts a class
  the test set lacks.

Values are fractions (EmoBox's leaderboard prints percentages). EmoBox leaves scikit-learn's warnings on; here
a zero division counts as 0 (scikit-learn's value after its warning), silently.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score

EMOBOX_METRICS = ("wa", "ua", "micro_f1", "macro_f1")


def emobox_scores(y_true, y_pred) -> dict[str, float]:
    """WA, UA, micro-F1 and macro-F1 of one test set (labels of any type), plus ``n`` (EmoBox's ``num``)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError(f"y_true and y_pred must be equal-length 1-d sequences, got shapes {y_true.shape} and {y_pred.shape}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "y_pred contains classes not in y_true"
        ua = balanced_accuracy_score(y_true, y_pred)
    return {
        "wa": float(accuracy_score(y_true, y_pred)),
        "ua": float(ua),
        "micro_f1": float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "n": int(len(y_true)),
    }


def emobox_confusion(y_true, y_pred) -> np.ndarray:
    """EmoBox's ``confusion``: scikit-learn's ``confusion_matrix`` over the sorted union of the labels."""
    return confusion_matrix(np.asarray(y_true), np.asarray(y_pred))

"""sergen's linear head against scikit-learn's LogisticRegression on the demo corpora.

Reduce the stream to whole-utterance means — a window longer than any utterance, no mixing, no masking, no
noise — and what remains is class-first draws of training utterances: in expectation, the class-balanced
mean cross-entropy that ``LogisticRegression(class_weight="balanced")`` minimises. Adam's coupled weight
decay ``wd`` on the weight matrix (not the biases) adds ``wd/2·|W|²`` to that mean; scikit-learn's objective
``C·Σ w_i·loss_i + |W|²/2`` is the same one divided by ``C·n``, so ``C = 1/(wd·n)``. Both see the same
standardisation (the head's own mean and std). Then the two must make the same decisions.

The L2 here (wd = 0.03, C ≈ 0.15 for 224 utterances) is stronger than sergen's default so that 1,500 Adam
steps reach the optimum on 2 cores in seconds; with the default 1e-4 (C ≈ 45) the optimum is the same kind
of thing, just slower to reach. ``min_steps = max_steps`` keeps the final head rather than a
validation-selected one: the comparison is between optimisers, not stopping rules.
"""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from sergen import CORPORA
from sergen.experiments.data import load_corpus, split_vectors, stores_root_key, training_bank
from sergen.train.loop import TrainConfig, predict_proba, train_head
from sergen.train.metrics import point_metrics
from sergen.bounds import MAX_WINDOW_S
from sergen.train.sampler import SamplerConfig, WindowSampler

WEIGHT_DECAY = 0.03
STEPS = 1500
WHOLE_UTTERANCES = SamplerConfig(window_s=(MAX_WINDOW_S, MAX_WINDOW_S), mix_prob=0.0, mask_frac=0.0, noise_std=0.0)
OPTIMUM = TrainConfig(batch_size=2048, lr=1e-3, weight_decay=WEIGHT_DECAY, max_steps=STEPS, min_steps=STEPS)


@pytest.mark.parametrize("corpus", CORPORA)
def test_linear_head_equals_logistic_regression(in_demo_workspace, corpus):
    root = stores_root_key(in_demo_workspace / "stores")
    bank = training_bank("melspec", (corpus,), root)
    x_train, y_train = split_vectors("melspec", corpus, "train", root)
    x_val, y_val = split_vectors("melspec", corpus, "valid", root)
    x_test, y_test = split_vectors("melspec", corpus, "test", root)
    assert len(x_train) == int(bank.is_clean.sum())  # the bank holds exactly the utterances scikit-learn sees

    sampler = WindowSampler(bank, load_corpus("melspec", corpus, root).frame_rate, WHOLE_UTTERANCES, seed=0)
    x_drawn, _ = sampler.sample(256)  # every drawn vector is one training utterance's mean, untouched
    # nearest stored utterance mean, in units of each feature's std: ~1e-3 (the store keeps means in float16),
    # against > 0.1 to any other utterance
    gap = (np.abs(x_drawn[:, None, :] - x_train[None]) / bank.feature_std).max(2)
    assert gap.min(1).max() < 0.01

    result = train_head(sampler, x_val, y_val, 4, "linear", OPTIMUM, seed=0)
    assert result.best_step == STEPS  # the final head

    def standardise(x):  # the head's own statistics
        return (x - bank.feature_mean) / np.maximum(bank.feature_std, 1e-6)

    reference = LogisticRegression(C=1 / (WEIGHT_DECAY * len(y_train)), class_weight="balanced",
                                   max_iter=10_000, tol=1e-8).fit(standardise(x_train), y_train)
    p_ours, p_theirs = predict_proba(result.model, x_test), reference.predict_proba(standardise(x_test))
    ours, theirs = point_metrics(y_test, p_ours), point_metrics(y_test, p_theirs)
    assert abs(ours["auroc"] - theirs["auroc"]) <= 0.01, (ours, theirs)
    assert np.abs(p_ours - p_theirs).max() < 0.05  # the same probabilities, utterance by utterance (to Adam's noise)
    # the same decisions, except where scikit-learn's own top two classes are a near-tie (a demo test set
    # is 28–64 utterances: one flipped tie moves ACC by up to 0.036, and Adam's last steps decide ties)
    top2 = np.sort(p_theirs, axis=1)[:, -2:]
    differ = p_ours.argmax(1) != p_theirs.argmax(1)
    assert (top2[differ, 1] - top2[differ, 0] < 0.03).all(), top2[differ]
    assert abs(ours["acc"] - theirs["acc"]) <= 0.02 + differ.sum() / len(y_test), (ours, theirs)
    # the fitted weights themselves, not only the scores: same norm within 3 %
    weight = result.model[1].weight.detach().numpy()
    assert abs(np.linalg.norm(weight) / np.linalg.norm(reference.coef_) - 1) < 0.03

"""``--head mlp-dann``: the gradient reversal flips the corpus gradient (checked directly), the head needs a
multi-corpus training set, and on stores with a corpus offset it hides the corpus from its features."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sergen.errors import SergenError
from sergen.experiments.probe import probe_run, resolve_spec
from sergen.train.heads import AdversarialMLP, make_head, reversal_weight


def test_gradient_reversal_flips_the_corpus_gradient_and_only_it():
    torch.manual_seed(0)
    model = AdversarialMLP(6, 3, np.zeros(6), np.ones(6), n_corpora=2).eval()
    x = torch.randn(16, 6, requires_grad=True)
    corpus = torch.randint(0, 2, (16,))
    model.reversal = 0.7
    loss = torch.nn.functional.cross_entropy(model.corpus_logits(x), corpus)
    reversed_x, reversed_w = torch.autograd.grad(loss, [x, model.corpus_classifier[0].weight])
    plain = torch.nn.functional.cross_entropy(model.corpus_classifier(model.features(x)), corpus)
    plain_x, plain_w = torch.autograd.grad(plain, [x, model.corpus_classifier[0].weight])
    assert torch.allclose(reversed_x, -0.7 * plain_x, atol=1e-7)  # the features are pushed the other way
    assert torch.allclose(reversed_w, plain_w)  # the corpus classifier itself still learns to succeed
    assert reversal_weight(0.0) == 0.0 and reversal_weight(1.0) == pytest.approx(0.9999092, abs=1e-6)
    assert isinstance(make_head("dann", 6, 3, np.zeros(6), np.ones(6), n_corpora=3), AdversarialMLP)


def test_adversarial_head_hides_a_corpus_offset_from_its_features(tmp_path):
    from tests.experiments.test_normalise import DIM, write_store

    write_store(tmp_path, "emodb", np.ones(DIM), np.zeros(DIM), seed=0, n=400)
    write_store(tmp_path, "cremad", np.ones(DIM), np.array([0, 0, 0, 0, 1.0, 1.0, 1.0, 1.0]), seed=1, n=400)
    accuracy, runs = {}, {}
    for head in ("mlp", "mlp-dann"):
        spec = resolve_spec("toy", "emodb+cremad", "emodb,cremad", tmp_path, head=head)
        run = runs[head] = probe_run(spec, tmp_path)
        accuracy[head] = run.record.corpus_id_accuracy
        assert set(run.rows.corpus_id_acc) == {accuracy[head]}
        assert run.rows[run.rows.metric == "auroc"].value.min() > 0.8  # emotions are still learnt
    assert accuracy["mlp"] > 0.95  # the plain MLP's features tell the corpora apart
    assert accuracy["mlp-dann"] < accuracy["mlp"], accuracy  # a fresh probe reads the corpus less well …
    assert runs["mlp-dann"].record.discriminator_accuracy < 0.65  # … and the head's own discriminator is fooled
    assert runs["mlp"].record.discriminator_accuracy is None
    with pytest.raises(SergenError, match="needs a multi-corpus training set, not emodb alone"):
        resolve_spec("toy", "emodb", "emodb", tmp_path, head="mlp-dann")
    linear = probe_run(resolve_spec("toy", "emodb+cremad", "emodb", tmp_path, head="linear"), tmp_path)
    assert linear.record.corpus_id_accuracy is None  # no hidden features (and cremad's test split unscored)

"""Held-out silhouettes of a head's hidden features, by class and by corpus: exact against scikit-learn on the
head's own features, recorded by every probe run with a hidden layer and read back from its record."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import silhouette_score

from sergen.experiments.probe import held_out_silhouettes, probe_run, resolve_spec, save_run
from sergen.results import read_run
from sergen.train.heads import hidden_features, make_head


def test_held_out_silhouettes_are_those_of_the_heads_hidden_features():
    rng = np.random.default_rng(0)
    model = make_head("mlp", 6, 4, np.zeros(6), np.ones(6))
    x = {"emodb": rng.normal(size=(30, 6)), "cremad": rng.normal(size=(20, 6)) + 2.0}
    y = {"emodb": rng.integers(0, 4, 30), "cremad": rng.integers(0, 4, 20)}
    by_class, by_corpus = held_out_silhouettes(model, ("emodb", "cremad"), x, y)
    features = np.concatenate([hidden_features(model, x["emodb"]), hidden_features(model, x["cremad"])])
    assert by_class == silhouette_score(features, np.concatenate([y["emodb"], y["cremad"]]))
    assert by_corpus == silhouette_score(features, np.repeat([0, 1], [30, 20]))
    linear = make_head("linear", 6, 4, np.zeros(6), np.ones(6))
    assert held_out_silhouettes(linear, ("emodb", "cremad"), x, y) == (None, None)
    assert held_out_silhouettes(model, ("emodb", "msp"), x, y) == (None, None)  # msp's test split not scored
    assert held_out_silhouettes(model, ("emodb",), x, y) == (None, None)  # one corpus: no fragmentation by corpus


def test_a_probe_run_records_them_and_its_record_keeps_them(tmp_path):
    from tests.experiments.test_normalise import DIM, write_store

    write_store(tmp_path, "emodb", np.ones(DIM), np.zeros(DIM), seed=0, n=240)
    write_store(tmp_path, "cremad", np.ones(DIM), np.full(DIM, 3.0), seed=1, n=240)
    run = probe_run(resolve_spec("toy", "emodb+cremad", "emodb,cremad", tmp_path, head="mlp"), tmp_path)
    record = run.record
    assert -1 <= record.silhouette_class <= 1 and -1 <= record.silhouette_corpus <= 1
    # the stores' classes sit at separate centres and the MLP learns them: its features group by class first
    assert record.silhouette_class > 0.4 > record.silhouette_corpus
    save_run(run, tmp_path / "results")
    _, back = read_run(record.run_id, tmp_path / "results")
    assert (back.silhouette_class, back.silhouette_corpus) == (record.silhouette_class, record.silhouette_corpus)

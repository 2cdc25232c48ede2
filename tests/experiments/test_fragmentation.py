"""The fragmentation figures are right on constructed data."""

import numpy as np

from sergen import LABELS
from sergen.experiments.fragmentation import analyse


def constructed(by: str, seed=0):
    rng = np.random.default_rng(seed)
    corpora = np.repeat(["a", "b", "c", "d"], 200)
    labels = np.tile(np.repeat(np.array(LABELS), 50), 4)
    centres_corpus = {c: rng.normal(0, 6, 16) for c in "abcd"}
    centres_label = {lab: rng.normal(0, 6, 16) for lab in LABELS}
    strong, weak = (centres_corpus, centres_label) if by == "corpus" else (centres_label, centres_corpus)
    key_strong = corpora if by == "corpus" else labels
    key_weak = labels if by == "corpus" else corpora
    x = np.stack([strong[s] + 0.05 * weak[w] for s, w in zip(key_strong, key_weak)]) + rng.normal(0, 1, (800, 16))
    return x, labels, corpora


def summary(result):
    return dict(zip(result.summary.metric, result.summary.value))


def test_clustered_by_corpus():
    s = summary(analyse(*constructed("corpus")))
    assert s["corpus_probe_uar"] > 0.98
    assert s["silhouette_by_corpus"] > s["silhouette_by_class"]
    assert s["centroid_sim_same_corpus_other_class"] > s["centroid_sim_same_class_other_corpus"]


def test_clustered_by_class():
    result = analyse(*constructed("class"))
    s = summary(result)
    assert s["emotion_probe_uar"] > 0.98
    assert s["silhouette_by_class"] > s["silhouette_by_corpus"]
    assert s["centroid_sim_same_class_other_corpus"] > s["centroid_sim_same_corpus_other_class"]
    assert result.centroid_similarity.shape == (16, 16)
    assert list(result.projection.columns) == ["x", "y", "label", "corpus"] and len(result.projection) == 800


def test_stores_under_another_label_set(in_demo_workspace, tmp_path):
    """The same stores, labelled by the corpora's native classes through the protocol (nothing re-extracted):
    the classes are the manifests' native ones; a class no two corpora share makes same-class similarity
    undefined (NaN), not zero."""
    import pandas as pd

    from sergen.experiments.fragmentation import analyse_stores, output_name

    four = analyse_stores("melspec", ["ravdess", "emodb"])
    assert four.classes == list(LABELS)
    native = analyse_stores("melspec", ["ravdess", "emodb"], labels="native")
    manifests = [pd.read_csv(in_demo_workspace / "manifests" / f"{c}.csv", dtype=str) for c in ("ravdess", "emodb")]
    expected = sorted(set().union(*(set(m.native_label) for m in manifests)))
    assert native.classes == expected and len(native.projection) == sum(len(m) for m in manifests)
    summary = dict(zip(native.summary.metric, native.summary.value))
    shared = set(manifests[0].native_label) & set(manifests[1].native_label)
    assert np.isnan(summary["centroid_sim_same_class_other_corpus"]) == (not shared)
    assert output_name("melspec") == "melspec" and output_name("melspec", "native") == "melspec-labels-native"
    assert output_name("melspec", "map:/x/my_map.csv") == "melspec-labels-my_map"


def test_one_class_and_an_unknown_label_set_are_refused():
    from typer.testing import CliRunner

    import pytest

    from sergen.cli import app
    from sergen.errors import SergenError

    x, labels, corpora = constructed("class")
    with pytest.raises(SergenError, match="needs utterances of two or more classes, and got only hap"):
        analyse(x[labels == "hap"], labels[labels == "hap"], corpora[labels == "hap"])
    result = CliRunner().invoke(app, ["analyze", "fragmentation", "--model", "melspec", "--labels", "nonsense"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "Invalid value for '--labels': --labels 'nonsense' is neither 4, native nor a" in result.output

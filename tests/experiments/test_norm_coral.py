"""``--norm coral`` (correlation alignment), added through the normalisation registry alone: on constructed data
a test corpus's covariance after the map is the training pool's, one training corpus maps onto itself, windows
are mapped as utterances are, and every layer (run id, checks, CLI, report) knows it from its registration."""

from __future__ import annotations

import numpy as np
import pytest

from sergen.errors import SergenError
from sergen.experiments.probe import probe_run, resolve_spec
from sergen.train.norms import Utterances, norm_strategy
from tests.experiments.test_norm_registry import FAST, aurocs, write_store
from tests.test_bad_input import cli  # noqa: F401 (fixture)

DIM = 4


def correlated(rng, n: int, mixing: np.ndarray, offset: np.ndarray) -> np.ndarray:
    return rng.standard_normal((n, DIM)) @ mixing + offset


def utterances(corpus: str, mean: np.ndarray) -> Utterances:
    n = len(mean)
    return Utterances(corpus, np.array(["s"] * n), mean, np.ones_like(mean), np.full(n, 10))


@pytest.fixture(scope="module")
def pools():
    """Two training corpora and a test corpus, each with its own covariance and mean, 20 000 utterances each
    (Ledoit–Wolf then shrinks by a hair: the empirical covariances are matched to well within 1 %)."""
    rng = np.random.default_rng(0)
    a = correlated(rng, 20_000, np.array([[2.0, 0.5, 0, 0], [0, 1.0, 0.3, 0], [0, 0, 0.5, 0.2], [0, 0, 0, 3.0]]),
                   np.array([1.0, 2.0, 3.0, 4.0]))
    b = correlated(rng, 20_000, np.array([[0.5, 0, 0, 0.4], [0.2, 3.0, 0, 0], [0, 0, 1.0, 0], [0, 0.7, 0, 1.0]]),
                   np.array([-1.0, 0.0, 5.0, 0.0]))
    test = correlated(rng, 20_000, np.array([[1.0, 0.9, 0.0, 0], [0, 0.3, 0, 0], [0, 0, 4.0, 0], [0.5, 0, 0, 0.2]]),
                      np.array([10.0, -3.0, 0.0, 1.0]))
    return a, b, test


def test_a_test_corpus_reaches_the_training_pools_covariance(pools):
    a, b, test = pools
    coral = norm_strategy("coral")
    train = np.concatenate([a, b])
    keys = np.array(["a"] * len(a) + ["b"] * len(b))
    fitted = coral.fit(keys, train, np.ones_like(train), np.full(len(train), 10))
    target = np.cov(train, rowvar=False)
    mapped = coral.vectors(fitted, utterances("t", test), lambda: utterances("t", test), in_training=False)
    np.testing.assert_allclose(np.cov(mapped, rowvar=False), target, rtol=0.01, atol=0.01 * np.abs(target).max())
    np.testing.assert_allclose(mapped.mean(0), train.mean(0), atol=1e-4)
    for name, part in (("a", a), ("b", b)):  # each training corpus reaches it too
        x = coral.vectors(fitted, utterances(name, part), None, in_training=True)
        np.testing.assert_allclose(np.cov(x, rowvar=False), target, rtol=0.01, atol=0.01 * np.abs(target).max())
    assert np.abs(np.cov(test, rowvar=False) - target).max() > 5  # far apart before


def test_the_shrunk_covariances_are_matched_exactly():
    """Few utterances (shrinkage large): the map takes the test corpus's shrunk covariance to the pool's."""
    from sergen.train.norms.coral import moments

    rng = np.random.default_rng(1)
    train, test = rng.standard_normal((30, DIM)) * [1, 2, 3, 4], rng.standard_normal((25, DIM)) @ rng.random((DIM, DIM))
    coral = norm_strategy("coral")
    fitted = coral.fit(np.array(["a"] * 30), train, np.ones_like(train), np.full(30, 10))
    mapping = coral.evaluation_map(fitted, utterances("t", test), lambda: utterances("t", test), False)
    source, target = moments(test, "t"), moments(train, "pool")
    shrunk = lambda m: (m.half @ m.half) * np.outer(m.scale, m.scale)  # noqa: E731  (the covariance, in x units)
    matrix = mapping.matrix[0].astype(np.float64)
    np.testing.assert_allclose(matrix.T @ shrunk(source) @ matrix, shrunk(target), rtol=1e-5, atol=1e-5)


def test_one_training_corpus_maps_onto_itself(pools):
    a = pools[0]
    coral = norm_strategy("coral")
    fitted = coral.fit(np.array(["a"] * len(a)), a, np.ones_like(a), np.full(len(a), 10))
    np.testing.assert_allclose(fitted.matrix[0], np.eye(DIM), atol=1e-6)
    np.testing.assert_allclose(coral.vectors(fitted, utterances("a", a[:50]), None, True), a[:50], atol=1e-5)


def test_the_cache_holds_one_whitening_per_corpus(pools):
    from sergen.train.norms import coral as module

    a, _, test = pools
    coral = norm_strategy("coral")
    fitted = coral.fit(np.array(["a"] * len(a)), a, np.ones_like(a), np.full(len(a), 10))
    every = Utterances("t", np.array(["s"] * len(test)), test, np.ones_like(test), np.full(len(test), 10),
                       key=("toy", "t", "v1"))
    first = coral.evaluation_map(fitted, every, lambda: every, False)
    assert module._WHITENING[("toy", "t", "v1")] is module.cached_moments(test, "t", ("toy", "t", "v1"))
    np.testing.assert_array_equal(coral.evaluation_map(fitted, every, lambda: every, False).matrix, first.matrix)


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("coral-stores")
    write_store(root, "emodb", 0, np.ones(5), np.zeros(5))
    write_store(root, "cremad", 1, np.array([2.0, 0.5, 1.0, 3.0, 1.0]), np.array([1.0, -1.0, 0.5, 2.0, 3.0]))
    write_store(root, "ravdess", 2, np.array([0.5, 2.0, 1.5, 1.0, 0.7]), np.array([-2.0, 1.0, 0.0, 1.0, -3.0]))
    return root


def test_the_probe_runs_coral_under_its_own_id(stores):
    runs = {norm: probe_run(resolve_spec("toy", "emodb", "emodb,cremad,ravdess", stores, head="linear",
                                         norm=norm, training=FAST), stores) for norm in ("global", "corpus", "coral")}
    ids = {norm: run.record.run_id for norm, run in runs.items()}
    assert len(set(ids.values())) == 3 and runs["coral"].record.spec["norm"] == "coral"
    assert "norm" not in runs["global"].record.spec  # the poster's runs keep their ids
    assert set(runs["coral"].rows.norm) == {"coral"}
    coral, poster = aurocs(runs["coral"]), aurocs(runs["global"])
    assert coral["cremad"] > poster["cremad"] + 0.1 and coral["ravdess"] > poster["ravdess"] + 0.1  # aligned
    assert coral["emodb"] == pytest.approx(poster["emodb"], abs=0.01)  # one training corpus: mapped onto itself


def test_training_windows_are_mapped_as_utterances_are(stores):
    """With no mixing and no noise the coral bank's stream is the global bank's, each window mapped by its
    corpus's map."""
    from sergen.experiments import data
    from sergen.train.sampler import SamplerConfig, WindowSampler

    root = data.stores_root_key(stores)
    plain = data.training_bank("toy", ("emodb", "cremad"), root, norm="global")
    mapped = data.training_bank("toy", ("emodb", "cremad"), root, norm="coral")
    config = SamplerConfig(mix_prob=0.0, noise_std=0.0)
    x, y = WindowSampler(plain, 10.0, config, seed=3).draw(500)
    sampler = WindowSampler(mapped, 10.0, config, seed=3)
    x_coral, y_coral = sampler.draw(500)
    np.testing.assert_array_equal(y, y_coral)
    group = mapped.group_map.names.searchsorted(np.array(["emodb", "cremad"])[sampler.drawn_corpus])
    np.testing.assert_allclose(x_coral, mapped.group_map.apply(x, group), rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(mapped.feature_mean, plain.feature_mean)  # the head standardises as for global


def test_coral_is_refused_with_mean_std_pooling_and_listed_among_the_choices(stores):
    with pytest.raises(SergenError, match=r"--norm coral with --pool mean\+std: CORAL maps window means"):
        resolve_spec("toy", "emodb", "cremad", stores, norm="coral", pool="mean+std")
    with pytest.raises(SergenError) as caught:
        resolve_spec("toy", "emodb", "cremad", stores, norm="zscore")
    assert caught.value.what == "unknown --norm 'zscore'; known: global, corpus, speaker, coral"
    assert caught.value.fix.endswith("; coral: each corpus whitened by its own covariance and re-coloured with the "
                                     "training pool's (CORAL)")


def test_a_bad_norm_on_the_command_line_lists_coral(cli):
    code, out = cli("grid", "--models", "melspec", "--norm", "global,zscore")
    assert code == 2
    assert "Invalid value for '--norm': in 'global,zscore': unknown --norm 'zscore'; known: global, corpus, " \
           "speaker, coral" in out, out
    code, out = cli("probe", "--help")
    assert "coral: each corpus whitened by its own covariance and re-coloured with the training pool's" in out, out


def test_the_report_sets_coral_beside_global_as_a_transductive_remedy(tmp_path):
    from sergen.report.markdown import build_report
    from tests.report.test_report import fake_stores
    from tests.report.test_remedies import save, side_rows

    stores, rows = fake_stores(tmp_path / "stores"), []
    for s in range(2):
        rows += side_rows(f"global-{s}", s, False, 0.80, 0.60 + 0.01 * s, norm="global")
        rows += side_rows(f"coral-{s}", s, False, 0.81, 0.70 + 0.01 * s, norm="coral")
    save(rows, tmp_path / "results", stores)
    text = build_report(tmp_path / "results", tmp_path / "out").read_text()
    assert "### melspec · mlp · trained on iemocap+cremad: --norm coral against --norm global" in text
    assert ("> Runs with `--norm corpus`, `--norm speaker` or `--norm coral` standardised each test corpus (or test "
            "speaker) with statistics of its own unlabelled audio: transductive") in text
    rows = [" ".join(line.split()) for line in text.splitlines()]
    assert ("| AUROC off the diagonal (test corpora outside the training set): msp | 0.705 ± 0.007 (n=2) | "
            "0.605 ± 0.007 (n=2) | +0.100 |") in rows


def test_too_many_features_or_utterances_are_refused_before_any_eigh():
    from sergen.train.norms.coral import MAX_FEATURES, moments

    with pytest.raises(SergenError) as caught:
        moments(np.zeros((3, MAX_FEATURES + 1), np.float32), "emodb")
    assert caught.value.what == "--norm coral: 4097 features; its covariances are D×D, so at most 4096"
    with pytest.raises(SergenError) as caught:
        moments(np.zeros((1, 4)), "emodb")
    assert caught.value.what == "--norm coral: emodb has 1 utterance(s); a covariance needs two or more"


def test_a_constant_feature_is_mapped_to_the_pools_value_not_divided_by_zero():
    rng = np.random.default_rng(2)
    train, test = rng.standard_normal((200, DIM)), rng.standard_normal((100, DIM)) * 2 + 1
    train[:, 3], test[:, 3] = 5.0, 7.0
    coral = norm_strategy("coral")
    fitted = coral.fit(np.array(["a"] * 200), train, np.ones_like(train), np.full(200, 10))
    mapped = coral.vectors(fitted, utterances("t", test), lambda: utterances("t", test), False)
    assert np.isfinite(mapped).all()
    np.testing.assert_allclose(mapped[:, 3], 5.0, atol=1e-5)


def test_the_probe_command_runs_coral_on_the_demo_stores_and_says_it_is_transductive(cli, in_demo_workspace,
                                                                                     tmp_path, monkeypatch):
    monkeypatch.setenv("SERGEN_RESULTS", str(tmp_path / "results"))
    code, out = cli("probe", "--model", "egemaps", "--train", "emodb", "--test", "emodb,ravdess", "--head", "linear",
                    "--norm", "coral")
    assert code == 0, out
    assert ("--norm coral: ravdess standardised by the statistics of their own unlabelled utterances "
            "(transductive)") in out
    from sergen.results import load_results

    rows = load_results(tmp_path / "results")
    assert set(rows.norm) == {"coral"} and set(rows.test) == {"emodb", "ravdess"}


def test_a_grid_of_coral_beside_mean_std_is_refused_before_any_run(stores):
    from sergen.experiments.grid import grid_specs

    with pytest.raises(SergenError) as caught:
        grid_specs(["toy"], "emodb", "all", stores_root=stores, norms=("global", "coral"), pools=("mean", "mean+std"))
    assert caught.value.what == "--norm coral with --pool mean+std: CORAL maps window means, not their stds"
    specs = grid_specs(["toy"], "emodb", "all", heads=("linear",), stores_root=stores, norms=("global", "coral"))
    assert [s.norm for s in specs] == ["global", "coral"] and len({s.run_id for s in specs}) == 2


def test_a_resident_subset_keeps_each_entrys_group_and_the_map(stores):
    from sergen.experiments import data
    from sergen.train.resident import subset_bank

    bank = data.training_bank("toy", ("emodb", "cremad"), data.stores_root_key(stores), norm="coral")
    entries = np.flatnonzero(bank.corpus == 1)[:7]
    sub = subset_bank(bank, entries)
    assert sub.group_map is bank.group_map
    np.testing.assert_array_equal(sub.group, bank.group[entries])
    assert list(bank.group_map.names[sub.group]) == ["cremad"] * 7

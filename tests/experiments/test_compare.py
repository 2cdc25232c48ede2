"""Paired comparison of two runs: the test against hand computations, its false-positive rate on two seeds
of one model, Holm's correction, the refusals, and ``sergen compare`` on runs saved with their scores."""

from __future__ import annotations

import numpy as np
import pytest

from sergen.errors import SergenError
from sergen.experiments.compare import compare_runs, holm, paired_test
from sergen.experiments.run_scores import UtteranceScores, read_scores, scores_size, write_scores
from sergen.results import RunRecord, save_run


def one_hot(pred, k=4):
    return np.eye(k)[np.asarray(pred)]


def test_accuracy_difference_interval_and_p_by_hand():
    """A is right on utterances 0-2 where B is wrong, both agree on 3-5: d = (1,1,1,0,0,0), difference 1/2.
    Randomisation flips the signs of the three non-zero d: |mean| ≥ 1/2 only when all three agree, 2 of 8
    ways, p = 1/4. The bootstrap mean of d is Binomial(6, 1/2)/6 in law: its 2.5 % and 97.5 % quantiles are
    1/6 and 5/6 (P(0) = 1/64 < 2.5 % < P(≤1) = 7/64)."""
    y = np.zeros(6, int)
    a, b = one_hot([0, 0, 0, 0, 0, 0]), one_hot([1, 1, 1, 0, 0, 0])
    diff, low, high, p = paired_test(y, a, b, "acc", n_resamples=40000, seed=1)
    assert diff == 0.5
    assert (low, high) == (pytest.approx(1 / 6), pytest.approx(5 / 6))
    assert p == pytest.approx(0.25, abs=0.01)


def test_a_metric_over_classes_by_hand():
    """UAR: A right everywhere (1.0), B wrong on one of class 0's two (0.75): difference 1/4. Swapping the one
    utterance where they differ only turns the sign, so every resample is as extreme: p = 1."""
    y = np.array([0, 0, 1, 1])
    a, b = one_hot([0, 0, 1, 1], 2), one_hot([0, 1, 1, 1], 2)
    diff, low, high, p = paired_test(y, a, b, "uar", n_resamples=500, seed=0)
    assert (diff, p) == (0.25, 1.0)
    assert 0 <= low <= high <= 0.5


@pytest.mark.parametrize("metric", ["acc", "uar"])
def test_false_positive_rate_near_five_percent_on_two_seeds_of_one_model(metric):
    """Two runs of one model with different seeds are exchangeable: over 1000 test sets, p < 0.05 in close to
    5 % of them (the randomisation test is exact up to ties, which make it slightly conservative)."""
    rng = np.random.default_rng(0)
    n_sets, n_utts, hits = 1000, 120, 0
    weights = rng.normal(size=(6, 4))
    for _ in range(n_sets):
        x = rng.normal(size=(n_utts, 6))
        y = (x @ weights + rng.gumbel(size=(n_utts, 4))).argmax(1)
        runs = [x @ weights + rng.normal(scale=1.5, size=(n_utts, 4)) for seed in (0, 1)]  # a seed's noise
        _, _, _, p = paired_test(y, runs[0], runs[1], metric, n_resamples=199, seed=int(rng.integers(1 << 30)))
        hits += p < 0.05
    assert 0.03 <= hits / n_sets <= 0.07, hits


def test_auroc_swaps_ranks_not_scores_of_two_scales():
    """A confident head and an unconfident one (softmax at temperatures 1/5 and 50) on the same utterances: A's
    AUROC is higher, and the bootstrap interval excludes 0. Swapping raw probabilities mixed the two scales and
    gave p ≈ 0.07; swapping each class's ranks keeps the values (AUROC reads only the order) and the test
    agrees with the interval."""
    from scipy.stats import rankdata

    from sergen.experiments.compare import column_ranks
    from sergen.train.metrics import macro_auroc

    rng = np.random.default_rng(1)
    n, k = 400, 4
    y = rng.integers(k, size=n)

    def softmax(logits):
        e = np.exp(logits - logits.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    a = softmax(5 * (np.eye(k)[y] * 1.6 + rng.normal(size=(n, k))))
    b = softmax(0.02 * (np.eye(k)[y] * 1.2 + rng.normal(size=(n, k))))
    assert np.array_equal(column_ranks(a), rankdata(a, axis=0) / n)
    assert macro_auroc(y, column_ranks(a)) == macro_auroc(y, a)  # the metric is unchanged by the ranks
    diff, low, high, p = paired_test(y, a, b, "auroc", n_resamples=400)
    assert diff == pytest.approx(macro_auroc(y, a) - macro_auroc(y, b), abs=1e-12)
    assert low > 0 and p < 0.05


def test_holm_by_hand():
    """Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04, made monotone: 0.06 for the last."""
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


# --- runs saved with their scores -----------------------------------------------------------------------------

def saved_run(results, run_id, scores, labels="", classes=("hap", "sad", "neu", "ang"), tests=()):
    import pandas as pd

    record = RunRecord(run_id=run_id, spec={"model": "m", "labels": labels, "folds": "", "protocol": "four"},
                       stores={}, stores_root=None, classes=list(classes))
    rows = pd.DataFrame([{"model": "m", "head": "linear", "train": "a", "test": t, "metric": "uar", "value": 0.5,
                          "seed": 0, "run_id": run_id} for t in (tests or scores)])
    if scores:
        write_scores(run_id, scores, results)
    save_run(rows, record, results)


def toy_scores(ids, seed):
    rng = np.random.default_rng(seed)
    y = np.array([int("0" + "".join(filter(str.isdigit, i))) % 4 for i in ids])  # a class per utterance id
    proba = rng.dirichlet(np.ones(4), len(ids)) + 0.6 * np.eye(4)[y] * (seed + 1) / 2
    return UtteranceScores(np.asarray(ids), y, (proba / proba.sum(1, keepdims=True)).astype(np.float32))


def test_scores_round_trip(tmp_path):
    scores = {"emodb": toy_scores([f"u{i}" for i in range(10)], 0), "cremad": toy_scores(["x", "y"], 1)}
    write_scores("r1", scores, tmp_path)
    back = read_scores("r1", tmp_path)
    assert sorted(back) == ["cremad", "emodb"]
    assert back["emodb"].utt_id.tolist() == [f"u{i}" for i in range(10)]
    assert np.array_equal(back["emodb"].label, scores["emodb"].label)
    assert np.array_equal(back["emodb"].proba, scores["emodb"].proba)
    assert read_scores("nothing", tmp_path) is None


def test_compare_runs_on_shared_utterances_only(tmp_path):
    ids = [f"u{i:03d}" for i in range(200)]
    saved_run(tmp_path, "a", {"emodb": toy_scores(ids, 0), "cremad": toy_scores(ids, 0)})
    saved_run(tmp_path, "b", {"emodb": toy_scores(ids[50:] + ["other"], 3)})
    table = compare_runs("a", "b", metric="acc", results_dir=tmp_path, n_resamples=300)
    assert table["test"].tolist() == ["emodb"] and table["n"].tolist() == [150]
    a, b = toy_scores(ids, 0), toy_scores(ids[50:], 3)
    expected = np.mean(a.proba[50:].argmax(1) == a.label[50:]) - np.mean(b.proba.argmax(1) == b.label)
    assert table["difference"].iloc[0] == pytest.approx(expected)
    assert table["p_holm"].iloc[0] == table["p"].iloc[0]  # one comparison: Holm changes nothing


def test_refusals_name_the_reason(tmp_path):
    ids = [f"u{i}" for i in range(20)]
    saved_run(tmp_path, "a", {"emodb": toy_scores(ids, 0)})
    saved_run(tmp_path, "elsewhere", {"cremad": toy_scores(ids, 0)})
    saved_run(tmp_path, "other_ids", {"emodb": toy_scores(["z1", "z2"], 0)})
    saved_run(tmp_path, "native", {"emodb": toy_scores(ids, 0)}, labels="native", classes=("hap", "sad", "neu", "ang", "fea"))
    saved_run(tmp_path, "old", {}, tests=("emodb",))
    cases = {
        "elsewhere": "runs a and elsewhere share no test utterances (tests: emodb vs cremad)",
        "other_ids": "runs a and other_ids share no test utterances (tests: emodb vs emodb)",
        "native": "runs a and native were made under different protocols or label sets (classes: ['hap', 'sad', "
                  "'neu', 'ang'] vs ['hap', 'sad', 'neu', 'ang', 'fea']; labels:  vs native)",
        "old": "run old kept no per-utterance scores (made by an older sergen)",
        "missing": "run missing: missing.csv is unreadable (",
    }
    for other, message in cases.items():
        with pytest.raises(SergenError) as err:
            compare_runs("a", other, metric="acc", results_dir=tmp_path, n_resamples=100)
        assert err.value.what.startswith(message), err.value.what
    with pytest.raises(SergenError, match="unknown metric 'wa'"):
        compare_runs("a", "a", metric="wa", results_dir=tmp_path)


def test_record_size_at_msp_podcast_scale():
    """10,779 test utterances × 4 classes: well under a megabyte per run, the figure the results schema page
    quotes (docs/reference/results.md)."""
    from pathlib import Path

    size = scores_size(10_779, 4)
    assert 150_000 < size < 400_000, size
    page = Path(__file__).resolve().parents[2] / "docs" / "reference" / "results.md"
    assert f"that is {size / 1e6:.2f} MB per run" in page.read_text(encoding="utf-8")


def test_the_vectorised_uar_agrees_with_resampling_by_hand():
    """UAR's fast path gives the difference, interval and p of recomputing UAR on each resample (same law,
    other draws: equal within resampling noise)."""
    from sergen.train.metrics import fast_metrics

    rng = np.random.default_rng(4)
    y = rng.integers(4, size=300)
    a = one_hot(np.where(rng.random(300) < 0.6, y, rng.integers(4, size=300)))
    b = one_hot(np.where(rng.random(300) < 0.5, y, rng.integers(4, size=300)))
    diff, low, high, p = paired_test(y, a, b, "uar", n_resamples=4000, seed=0)
    uar = lambda yy, pp: fast_metrics(yy, pp)["uar"]  # noqa: E731
    assert diff == pytest.approx(uar(y, a) - uar(y, b))
    boots, extreme = [], 0
    for _ in range(1000):
        idx = rng.integers(300, size=300)
        boots.append(uar(y[idx], a[idx]) - uar(y[idx], b[idx]))
        swap = rng.random(300)[:, None] < 0.5
        extreme += abs(uar(y, np.where(swap, b, a)) - uar(y, np.where(swap, a, b))) >= abs(diff) - 1e-12
    assert (low, high) == (pytest.approx(np.quantile(boots, 0.025), abs=0.012),
                           pytest.approx(np.quantile(boots, 0.975), abs=0.012))
    assert p == pytest.approx((1 + extreme) / 1001, abs=0.04)  # each p has a resampling SD of about 0.014


def test_probe_runs_keep_their_scores_and_compare_from_the_command_line(in_demo_workspace, workspace):
    """Two seeds of one probe: each run saves ``<run_id>.scores.npz`` (one row per test utterance, the CSV's
    n_test), and ``sergen compare`` tests them on every shared test corpus; the run ids are unchanged."""
    from typer.testing import CliRunner

    from sergen.cli import app
    from sergen.experiments.probe import probe_run, resolve_spec, save_run as save_probe
    from sergen.train.loop import TrainConfig

    ids = []
    for seed in (0, 1):
        spec = resolve_spec("melspec", "emodb", "emodb,cremad", head="linear", training=TrainConfig(max_steps=200),
                            seed=seed)
        run = probe_run(spec)
        save_probe(run)
        ids.append(spec.run_id)
        scores = read_scores(spec.run_id)
        n_test = run.rows.drop_duplicates("test").set_index("test")["n_test"].to_dict()
        assert {c: len(s.utt_id) for c, s in scores.items()} == n_test
        assert all(s.proba.shape == (len(s.utt_id), 4) for s in scores.values())
    result = CliRunner().invoke(app, ["compare", *ids, "--metric", "acc", "--resamples", "500", "--json"])
    assert result.exit_code == 0, result.output
    import json

    rows = json.loads(result.output)["rows"]
    assert [r["test"] for r in rows] == ["cremad", "emodb"]
    assert all(r["low"] <= r["difference"] <= r["high"] and 0 < r["p"] <= r["p_holm"] <= 1 for r in rows)

"""The report over runs of several protocols: label sets never share a cell, folds aggregate to the stated
mean and standard deviation, old rows read as the poster's protocol, confusion matrices in each run's own
classes, leaderboard cells beside the runs whose protocol matches them, fragmentation with any label set."""

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sergen.errors import SergenError
from sergen.experiments.fragmentation import analyse, save_fragmentation
from sergen.report.figures import plot_confusions
from sergen.report.leaderboards import (LEADERBOARD_MODELS, emobox_leaderboard, leaderboard_comparison,
                                        superb_leaderboard)
from sergen.report.markdown import build_report
from sergen.report.protocols import (aggregate_folds, fold_cell_text, is_poster_protocol, protocol_groups,
                                     with_protocol_columns)
from sergen.report.tables import Confusion, confusion_table, summed_confusion
from sergen.results import ROW_COLUMNS, RunRecord, fingerprints, load_runs, save_run, stores_of
from tests.fake_stores import tiny_store

RAVDESS_NATIVE = ["angry", "calm", "disgust", "fearful", "happy", "neutral", "sad", "surprised"]
POSTER = ["hap", "sad", "neu", "ang"]


def rows_of(run_id, model, train, test, values, seed=0, labels="4", folds="", fold=0, classes=POSTER, protocol="",
            head="mlp", norm="global"):
    """One run's rows, every column a saved run has."""
    out = []
    for t in [test] if isinstance(test, str) else test:
        for metric, value in values.items():
            out.append(dict(model=model, layer="-", head=head, train=train, n_train_corpora=train.count("+") + 1,
                            test=t, metric=metric, value=value, ci_low=value - 0.05, ci_high=value + 0.05, seed=seed,
                            scramble=False, aug_share=0.0, steps=100, best_step=50, val_auroc=0.9, n_test=40,
                            absent_classes="", in_training=t in train.split("+"), synthetic=True,
                            sergen_version="0", run_id=run_id, seconds=1.0, labels=labels, folds=folds, fold=fold,
                            classes=",".join(classes), protocol=protocol, norm=norm))
    return pd.DataFrame(out, columns=list(ROW_COLUMNS))


def save(rows, results_dir, stores_root, classes=POSTER, confusion=None, left_out=None):
    """Save one run as ``sergen.results.save_run`` does, reading tiny stores made for its corpora."""
    first = rows.iloc[0]
    train, test = first.train.split("+"), list(rows.test.unique())
    for corpus in set(train + test):
        path = stores_root / first.model / f"{corpus}.zarr"
        if not path.exists():
            tiny_store(path, model=first.model, corpus=corpus, created="2026-01-01T00:00:00+00:00", complete=True)
    spec = {"model": first.model, "train": train, "test": test, "sampler": {"aug_share": 0.0}}
    record = RunRecord(run_id=first.run_id, spec=spec, stores_root=str(stores_root),
                       stores=fingerprints(first.model, stores_of(first.model, train, test, 0.0, stores_root),
                                           stores_root),
                       classes=list(classes), confusion=confusion or {}, left_out=left_out or {})
    save_run(rows, record, results_dir)


def compact(text):
    return re.sub(r" +", " ", text)


# ---------------------------------------------------------------- the mean over folds, by hand

def fold_rows(values_by_seed):
    return pd.DataFrame([{"fold": k + 1, "seed": seed, "value": v}
                         for seed, values in values_by_seed.items() for k, v in enumerate(values)])


def test_four_folds_aggregate_to_the_exact_mean_and_sample_sd():
    agg = aggregate_folds(fold_rows({0: [0.70, 0.72, 0.74, 0.68]}))
    assert agg.mean == pytest.approx(0.71)
    # squared deviations .01² + .01² + .03² + .03², over n − 1 = 3 (ddof=1)
    assert agg.sd_folds == pytest.approx(math.sqrt(0.002 / 3))
    assert agg.n_folds == 4 and agg.n_seeds == 1 and math.isnan(agg.sd_seeds)
    assert agg.per_fold.tolist() == pytest.approx([0.70, 0.72, 0.74, 0.68])
    assert fold_cell_text(agg) == "0.710 ± 0.026 (4 folds)"
    assert fold_cell_text(agg, percent=True) == "71.00 ± 2.58 (4 folds)"


def test_folds_and_seeds_say_what_each_spread_is_over():
    # seed 1 is 0.02 above seed 0 on every fold: per-fold means 0.71, 0.73, 0.75, 0.69
    agg = aggregate_folds(fold_rows({0: [0.70, 0.72, 0.74, 0.68], 1: [0.72, 0.74, 0.76, 0.70]}))
    assert agg.mean == pytest.approx(0.72) and agg.sd_folds == pytest.approx(math.sqrt(0.002 / 3))
    assert agg.sd_seeds == pytest.approx(np.std([0.71, 0.73], ddof=1))  # each seed's mean over folds
    assert fold_cell_text(agg) == "0.720 ± 0.026 (4 folds); ±0.014 over 2 seeds"


def test_a_missing_fold_and_an_undefined_value_are_counted_out_visibly():
    agg = aggregate_folds(fold_rows({0: [0.70, 0.80, float("nan")]}))
    assert agg.n_folds == 2 and agg.mean == pytest.approx(0.75)
    assert fold_cell_text(agg, expected=4) == "0.750 ± 0.071 (2 of 4 folds)"
    assert fold_cell_text(aggregate_folds(fold_rows({0: [0.6]}))) == "0.600 (1 fold)"


# ---------------------------------------------------------------- reading rows of an older sergen

def test_old_rows_without_the_protocol_columns_read_as_the_poster_protocol(tmp_path):
    old = rows_of("old", "melspec", "emodb", "emodb", {"auroc": 0.8}).drop(
        columns=["labels", "folds", "fold", "classes", "protocol", "norm"])
    filled = with_protocol_columns(old)
    assert filled[["labels", "folds", "fold", "classes", "protocol", "norm"]].iloc[0].tolist() == \
        ["4", "", 0, "hap,sad,neu,ang", "", "global"]
    assert is_poster_protocol(filled).all() and protocol_groups(filled) == []
    # and a CSV round trip of new rows ("4" read back as 4, "" as NaN) means the same
    path = tmp_path / "rows.csv"
    pd.concat([rows_of("new", "melspec", "emodb", "emodb", {"auroc": 0.8}), old]).to_csv(path, index=False)
    back = with_protocol_columns(pd.read_csv(path))
    assert back.labels.tolist() == ["4", "4"] and back.folds.tolist() == ["", ""] and back.fold.tolist() == [0, 0]
    assert is_poster_protocol(back).all()


def test_a_report_of_old_rows_has_no_other_protocol(tmp_path):
    results, stores = tmp_path / "results", tmp_path / "stores"
    old = rows_of("old", "melspec", "emodb", "emodb", {"auroc": 0.8, "acc": 0.6})
    old = old.drop(columns=["labels", "folds", "fold", "classes", "protocol", "norm"])
    save(old, results, stores)
    runs = load_runs(results)
    assert "labels" in runs.rows  # save_run writes every column; an older sergen's file lacks them
    (results / "runs" / "old.csv").write_text(old.to_csv(index=False))
    record = json.loads((results / "runs" / "old.json").read_text())
    del record["rows_sha256"], record["record_sha256"]  # an older sergen's record held no digests
    (results / "runs" / "old.json").write_text(json.dumps(record))
    text = build_report(results, tmp_path / "out").read_text()
    assert "## Other protocols" not in text and "sergen beside published leaderboards" not in text
    assert "of them are of the poster's protocol" not in text
    row = next(line for line in text.splitlines() if line.startswith("| melspec"))
    assert "0.80 [0.75–0.85]" in row and "0.60" in row


# ---------------------------------------------------------------- label sets never share a cell

def test_two_label_sets_never_share_a_cell(tmp_path):
    results, stores = tmp_path / "results", tmp_path / "stores"
    save(rows_of("four", "melspec", "ravdess", "ravdess", {"auroc": 0.70, "acc": 0.50}), results, stores)
    save(rows_of("native", "melspec", "ravdess", "ravdess", {"auroc": 0.90, "acc": 0.30, "uar": 0.25,
                                                               "emobox_f1": 0.20},
                 labels="native", classes=RAVDESS_NATIVE), results, stores, classes=RAVDESS_NATIVE)
    text = compact(build_report(results, tmp_path / "out").read_text())
    poster = text.split("## Other protocols")[0]
    other = text.split("## Other protocols")[1]
    # the poster's table holds the 4-class run only: 0.70 and 0.50, never the means with the native run
    row = next(line for line in poster.splitlines() if line.startswith("| melspec"))
    assert "0.70 [0.65–0.75]" in row and "0.50" in row and "0.80" not in row and "0.40" not in row
    assert "2 fresh probe runs" in text and "1 of them are of the poster's protocol" in text
    assert "1 of other protocols" in text
    # the native run has its own section, its class list printed, EmoBox's metrics in percent
    assert "### labels native (each corpus's native classes) · folds: each corpus's own split" in other
    assert ("ravdess → ravdess: angry, calm, disgust, fearful, happy, neutral, sad, surprised (8 classes)"
            in other)
    native = next(line for line in other.splitlines() if line.startswith("| melspec"))
    cells = [c.strip() for c in native.strip("|").split("|")]
    assert cells == ["melspec", "mlp", "ravdess", "ravdess", "8", "0.90 [0.85–0.95]", "30.00 [25.00–35.00]",
                     "25.00 [20.00–30.00]", "30.00 [25.00–35.00]", "20.00 [15.00–25.00]"]
    assert "| WA % | UA % | micro-F1 % | macro-F1 % |" in other


def test_another_normalisation_never_shares_a_cell_with_the_poster_runs(tmp_path):
    results, stores = tmp_path / "results", tmp_path / "stores"
    save(rows_of("global", "melspec", "ravdess", "ravdess", {"auroc": 0.70}), results, stores)
    save(rows_of("corpus", "melspec", "ravdess", "ravdess", {"auroc": 0.90}, norm="corpus"), results, stores)
    text = compact(build_report(results, tmp_path / "out").read_text())
    poster, other = text.split("## Other protocols")
    row = next(line for line in poster.splitlines() if line.startswith("| melspec"))
    assert "0.70 [0.65–0.75]" in row and "0.80" not in row and "0.90" not in row
    assert ("### labels 4 (the poster's 4 classes) · folds: each corpus's own split · normalisation: each corpus "
            "by its own statistics (--norm corpus)") in other
    assert "| melspec | mlp | ravdess | ravdess | 4 | 0.90 [0.85–0.95] |" in other


def test_label_sets_and_folds_are_separate_groups():
    rows = pd.concat([rows_of("a", "m", "ravdess", "ravdess", {"acc": 0.5}),
                      rows_of("b", "m", "ravdess", "ravdess", {"acc": 0.6}, labels="native", classes=RAVDESS_NATIVE),
                      rows_of("c", "m", "ravdess", "ravdess", {"acc": 0.7}, labels="native", folds="speaker:4",
                              fold=1, classes=RAVDESS_NATIVE),
                      rows_of("d", "m", "iemocap", "iemocap", {"acc": 0.7}, folds="corpus", fold=1,
                              protocol="superb-er")])
    rows = pd.concat([rows, rows_of("e", "m", "ravdess", "ravdess", {"acc": 0.9}, norm="corpus")])
    groups = protocol_groups(with_protocol_columns(rows))
    assert [(g["labels"], g["folds"], g["protocol"], g["norm"], sorted(p.run_id.unique())) for g, p in groups] == [
        ("4", "", "", "corpus", ["e"]), ("4", "corpus", "superb-er", "global", ["d"]),
        ("native", "", "", "global", ["b"]), ("native", "speaker:4", "", "global", ["c"])]


# ---------------------------------------------------------------- folds in the report

def test_four_speaker_folds_in_the_report(tmp_path):
    results, stores = tmp_path / "results", tmp_path / "stores"
    for fold, (auroc, acc) in enumerate([(0.80, 0.70), (0.82, 0.72), (0.84, 0.74), (0.78, 0.68)], start=1):
        save(rows_of(f"f{fold}", "melspec", "ravdess", "ravdess", {"auroc": auroc, "acc": acc, "uar": acc,
                                                                      "emobox_f1": acc},
                     labels="native", folds="speaker:4", fold=fold, classes=RAVDESS_NATIVE),
             results, stores, classes=RAVDESS_NATIVE)
    text = compact(build_report(results, tmp_path / "out").read_text())
    assert "### labels native (each corpus's native classes) · folds: 4 speaker folds" in text
    assert "No runs of the poster's protocol" in text
    row = next(line for line in text.splitlines() if line.startswith("| melspec") and "fold" in line)
    assert "| 0.810 ± 0.026 (4 folds) | 71.00 ± 2.58 (4 folds) |" in row
    # the per-fold detail: each fold's value, the mean and the sample sd over folds
    assert "| melspec | mlp | ravdess | ravdess | 0.800 | 0.820 | 0.840 | 0.780 | 0.810 | 0.026 | 1 |" in text
    assert "| melspec | mlp | ravdess | ravdess | 70.00 | 72.00 | 74.00 | 68.00 | 71.00 | 2.58 | 1 |" in text
    assert "sample standard deviation over folds (ddof=1" in text


# ---------------------------------------------------------------- confusion in a run's own classes

def eight_class_counts():
    counts = np.full((8, 8), 1)
    np.fill_diagonal(counts, np.arange(10, 18))
    return counts


def test_confusion_tables_and_heatmaps_take_eight_native_classes(tmp_path):
    counts = eight_class_counts()
    table = confusion_table(counts, RAVDESS_NATIVE)
    assert list(table.index) == [f"true {c}" for c in RAVDESS_NATIVE]
    assert list(table.columns) == [f"pred {c}" for c in RAVDESS_NATIVE] + ["n"]
    assert table.loc["true calm", "pred calm"] == "11 (0.61)" and table.loc["true calm", "n"] == 18
    with pytest.raises(ValueError, match="8×8 counts for 4 classes"):
        confusion_table(counts)
    png = plot_confusions([("ravdess", counts, RAVDESS_NATIVE), ("again", counts, RAVDESS_NATIVE)],
                          tmp_path / "c.png", "eight classes")
    with Image.open(png) as img:
        assert img.format == "PNG" and img.size[0] > 900  # two panels, wider for eight classes
    with pytest.raises(ValueError, match="8×8 counts for 4 classes"):
        plot_confusions([("wrong", counts)], tmp_path / "d.png", "the poster's four by default")

    results, stores = tmp_path / "results", tmp_path / "stores"
    for fold in (1, 2):
        save(rows_of(f"f{fold}", "melspec", "ravdess", "ravdess", {"auroc": 0.8, "acc": 0.6}, labels="native",
                     folds="speaker:2", fold=fold, classes=RAVDESS_NATIVE),
             results, stores, classes=RAVDESS_NATIVE, confusion={"ravdess": counts.tolist()})
    text = compact(build_report(results, tmp_path / "out").read_text())
    # summed over the two folds: calm 2 × 11 of 2 × 18
    assert "| true calm | 2 (0.06) | 22 (0.61) | 2 (0.06) |" in text
    assert "#### Confusion · melspec · mlp" in text
    image = re.search(r"\((figures/confusion_native-speaker-2_melspec_mlp\.png)\)", text).group(1)
    with Image.open(tmp_path / "out" / image) as img:
        assert img.size[0] >= 400


def test_confusions_of_other_class_lists_are_never_summed():
    four = RunRecord(run_id="a", spec={"model": "m"}, stores={}, stores_root=None,
                     confusion={"ravdess": np.eye(4, dtype=int).tolist()})
    eight = RunRecord(run_id="b", spec={"model": "m"}, stores={}, stores_root=None, classes=RAVDESS_NATIVE,
                      confusion={"ravdess": eight_class_counts().tolist()})
    assert summed_confusion({"a": four}, ["a"], "ravdess").classes == POSTER
    conf = summed_confusion({"b": eight}, ["b"], "ravdess")
    assert isinstance(conf, Confusion) and conf.classes == RAVDESS_NATIVE and conf.counts[1, 1] == 11
    with pytest.raises(ValueError, match="runs a and b have other class lists"):
        summed_confusion({"a": four, "b": eight}, ["a", "b"], "ravdess")
    assert summed_confusion({"a": four}, ["a"], "emodb") is None


# ---------------------------------------------------------------- leaderboards beside sergen's numbers

def test_superb_leaderboard_is_transcribed_with_its_source():
    board = superb_leaderboard()
    assert dict(zip(board.model, board.value)) == {"WavLM Large": 70.62, "HuBERT Large": 67.62,
                                                   "wav2vec 2.0 Large": 65.64}
    assert set(board.metric) == {"acc"} and set(board.task) == {"er"}
    # every name the model table gives is a row of its leaderboard
    emobox = set(emobox_leaderboard().model)
    for emobox_name, superb_name in LEADERBOARD_MODELS.values():
        assert emobox_name is None or emobox_name in emobox
        assert superb_name is None or superb_name in set(board.model)


def test_superb_row_beside_a_superb_run_of_wavlm_large_only(tmp_path):
    results, stores = tmp_path / "results", tmp_path / "stores"
    accs = [0.70, 0.66, 0.72, 0.68, 0.74]
    for fold, acc in enumerate(accs, start=1):
        save(rows_of(f"s{fold}", "wavlm-large", "iemocap", "iemocap", {"auroc": 0.9, "acc": acc}, folds="corpus",
                     fold=fold, protocol="superb-er"), results, stores)
    save(rows_of("poster", "wavlm-large", "iemocap", "iemocap", {"auroc": 0.9, "acc": 0.55}), results, stores)
    rows = with_protocol_columns(load_runs(results).rows)
    table = leaderboard_comparison(rows)
    assert len(table) == 1
    line = table.iloc[0]
    assert (line["leaderboard"], line["sergen model"], line["leaderboard model"]) == ("SUPERB ER", "wavlm-large",
                                                                                      "WavLM Large")
    assert line["sergen %"] == "70.00 (5 folds)" and line["leaderboard %"] == "70.62"
    assert line["difference (points)"] == "-0.62" and line["protocol match"].startswith("same")
    text = compact(build_report(results, tmp_path / "out").read_text())
    section = text.split("## sergen beside published leaderboards")[1]
    assert "| SUPERB ER | iemocap | accuracy | wavlm-large | WavLM Large |" in section
    assert "comparable only loosely" in section and "weighted sum of every layer" in section
    assert "55.00" not in section  # the poster-protocol run is not set beside SUPERB

    alone = tmp_path / "alone"
    save(rows_of("poster", "wavlm-large", "iemocap", "iemocap", {"auroc": 0.9, "acc": 0.55}), alone, stores)
    assert leaderboard_comparison(with_protocol_columns(load_runs(alone).rows)).empty
    assert "published leaderboards" not in build_report(alone, tmp_path / "out2").read_text()


def test_emobox_cells_beside_a_native_run_of_the_same_model():
    hubert = "hf-facebook--hubert-large-ll60k"
    rows = with_protocol_columns(pd.concat([
        rows_of("n", hubert, "ravdess", "ravdess", {"acc": 0.61, "uar": 0.6, "emobox_f1": 0.59}, labels="native",
                classes=RAVDESS_NATIVE),
        rows_of("x", hubert, "ravdess", "emodb", {"acc": 0.3}, labels="native", classes=RAVDESS_NATIVE),
        rows_of("m", "melspec", "ravdess", "ravdess", {"acc": 0.4}, labels="native", classes=RAVDESS_NATIVE)]))
    table = leaderboard_comparison(rows)
    board = emobox_leaderboard()
    published = board[(board.dataset == "ravdess") & (board.model == "HuBERT large") & (board.metric == "wa")]
    assert len(table) == 1  # ravdess has WA only on EmoBox's page; melspec and cross-corpus cells have no match
    line = table.iloc[0]
    assert (line["leaderboard"], line["dataset"], line["metric"], line["leaderboard model"]) == \
        ("EmoBox", "ravdess", "WA", "HuBERT large")
    assert line["sergen %"] == "61.00" and line["leaderboard %"] == f"{published.value.item():.2f}"
    assert line["protocol match"].startswith("loosely: sergen's ravdess reader")


# ---------------------------------------------------------------- fragmentation with any label set

def six_class_data(seed=0):
    classes = ["angry", "disgust", "fear", "happy", "neutral", "sad"]
    rng = np.random.default_rng(seed)
    corpora = np.repeat(["a", "b", "c"], 120)
    labels = np.tile(np.repeat(np.array(classes), 20), 3)
    centres = {c: rng.normal(0, 6, 12) for c in classes}
    x = np.stack([centres[lab] for lab in labels]) + rng.normal(0, 1, (360, 12))
    return x, labels, corpora, classes


def test_fragmentation_with_six_classes(tmp_path):
    x, labels, corpora, classes = six_class_data()
    result = analyse(x, labels, corpora)
    summary = dict(zip(result.summary.metric, result.summary.value))
    assert summary["emotion_chance_uar"] == pytest.approx(1 / 6)
    assert summary["corpus_chance_uar"] == pytest.approx(1 / 3)
    assert summary["emotion_probe_uar"] > 0.95  # classes are what the constructed data separates
    assert result.classes == classes and result.centroid_similarity.shape == (18, 18)
    assert list(result.centroid_similarity.index[:6]) == [f"{c}|a" for c in classes]
    paths = save_fragmentation(result, tmp_path / "frag", "six classes")
    with Image.open(paths["projection_png"]) as img:
        assert img.format == "PNG"
    with pytest.raises(SergenError, match="class\\(es\\) surprise, which are not among"):
        analyse(x, np.where(labels == "sad", "surprise", labels), corpora, classes=classes)


# ---------------------------------------------------------------- the command, and what a cross-corpus run left out

def test_report_command_names_each_protocol_and_what_was_left_out(tmp_path):
    from typer.testing import CliRunner

    from sergen.cli import app

    results, stores = tmp_path / "results", tmp_path / "stores"
    save(rows_of("four", "melspec", "ravdess", "ravdess", {"auroc": 0.7}), results, stores,
         confusion={"ravdess": np.eye(4, dtype=int).tolist()})
    shared = ["angry", "happy", "neutral", "sad"]
    save(rows_of("cross", "melspec", "ravdess", ["ravdess", "cremad"], {"auroc": 0.6, "acc": 0.4}, labels="native",
                 classes=shared), results, stores, classes=shared,
         left_out={"ravdess": {"calm": 192, "surprised": 192}, "cremad": {"disgust": 1271}})
    result = CliRunner().invoke(app, ["report", "--results", str(results), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert ("protocols, each in its own section: the poster's protocol (4 classes, each corpus's own split): 1 run(s) "
            "labels native (each corpus's native classes) · folds: each corpus's own split: 1 run(s)") in out
    text = compact((tmp_path / "out" / "report.md").read_text())
    assert ("- trained on ravdess: left out cremad disgust (1271 utterances), ravdess calm (192 utterances), "
            "ravdess surprised (192 utterances)") in text
    assert "ravdess → cremad, ravdess → ravdess: angry, happy, neutral, sad (4 classes)" in text
    cross = next(line for line in text.splitlines() if line.startswith("| melspec | mlp | ravdess | cremad | 4 |"))
    assert "| 0.60 [0.55–0.65] | 40.00 [35.00–45.00] |" in cross
    # --confusion chooses among the poster's runs, and says where the others' matrices are
    refused = CliRunner().invoke(app, ["report", "--results", str(results), "--out", str(tmp_path / "o2"),
                                       "--confusion", "ravdess:cremad"])
    assert isinstance(refused.exception, SergenError)  # `sergen`'s entry point prints it and exits 2
    assert "choose among ravdess:ravdess" in refused.exception.fix
    assert "runs of other protocols show each corpus's own confusion matrix" in refused.exception.fix


def test_a_record_whose_classes_do_not_fit_its_counts_is_named_not_a_traceback(tmp_path):
    results, stores = tmp_path / "results", tmp_path / "stores"
    # a hand-edited record: the row says 8 native classes, the record 4 classes with 8×8 counts
    save(rows_of("f1", "melspec", "ravdess", "ravdess", {"auroc": 0.8, "acc": 0.6}, labels="native",
                 folds="speaker:2", fold=1, classes=RAVDESS_NATIVE),
         results, stores, classes=POSTER, confusion={"ravdess": eight_class_counts().tolist()})
    text = build_report(results, tmp_path / "out").read_text()
    assert ("Confusion of melspec · mlp on ravdess not shown: run f1 records a 8×8 confusion on ravdess for 4 "
            "classes.") in text
    assert "0.800 (1 of 2 folds)" in text  # the numbers are still reported, with the fold that is missing

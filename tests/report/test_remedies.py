"""The report's remedy comparison, layer sweeps and transductive note, on constructed runs whose figures are
known: exact means ± sd over seeds, verdicts, the command for a missing baseline, "–" for records of an older
sergen; and the held-out silhouettes the probe records, exact against scikit-learn on the same sample."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
from PIL import Image
from sklearn.metrics import silhouette_score

from sergen.experiments.probe import silhouettes
from sergen.report.markdown import build_report
from sergen.report.remedies import remedy_comparisons
from sergen.report.remedy_sections import console_lines
from sergen.results import RunRecord, fingerprints, load_runs, record_digest, rows_digest, save_run, stores_of
from tests.report.test_report import fake_stores

TRAIN = "iemocap+cremad"
TESTS = ("iemocap", "cremad", "msp")  # msp: outside the training set (the off-diagonal)


def side_rows(run_id, seed, scramble, inside, outside, **options):
    """One run's rows: AUROC ``inside`` on the training corpora's tests, ``outside`` on msp."""
    rows = []
    for test in TESTS:
        value = inside if test in TRAIN else outside
        for metric in ("auroc", "acc"):
            rows.append(dict(model="melspec", layer=options.get("layer", "-"), head=options.get("head", "mlp"),
                             train=TRAIN, n_train_corpora=2, test=test, metric=metric,
                             value=value if metric == "auroc" else value - 0.3, ci_low=value - 0.05,
                             ci_high=value + 0.05, seed=seed, scramble=scramble, aug_share=0.0, steps=100,
                             best_step=50, val_auroc=0.9, n_test=40, absent_classes="", in_training=test in TRAIN,
                             synthetic=True, sergen_version="0", run_id=run_id, seconds=1.0, labels="4", folds="",
                             fold=0, classes="hap,sad,neu,ang", protocol="", norm=options.get("norm", "global"),
                             **({"pool": options["pool"]} if "pool" in options else {})))
    return rows


def save(rows, results, stores, extra=None, drop=()):
    """Save each run with a record carrying ``extra[run_id]`` (corpus-ID, silhouettes); ``drop``: record fields
    removed from the JSON, as a record of an older sergen lacks them."""
    df = pd.DataFrame(rows)
    for run_id, part in df.groupby("run_id"):
        record = RunRecord(run_id=run_id, spec={"model": "melspec", "train": TRAIN.split("+"), "test": list(TESTS),
                                                "sampler": {"aug_share": 0.0}},
                           stores_root=str(stores),
                           stores=fingerprints("melspec", stores_of("melspec", TRAIN.split("+"), TESTS, 0.0, stores),
                                               stores), **(extra or {}).get(run_id, {}))
        csv = save_run(part, record, results)
        if "pool" in part and part["pool"].notna().any():  # rows of a sergen that records pooling
            part.drop(columns=[c for c in part if part[c].isna().all()]).to_csv(csv, index=False)
            path = results / "runs" / f"{run_id}.json"  # the record ties these bytes, as sergen's own
            data = {**json.loads(path.read_text()), "rows_sha256": rows_digest(csv.read_bytes())}
            path.write_text(json.dumps({**data, "record_sha256": record_digest(data)}))
        if drop:
            path = results / "runs" / f"{run_id}.json"
            data = json.loads(path.read_text())
            for key in (*drop, "record_sha256"):  # an older sergen's record: without those fields, nor a digest
                data.pop(key)
            path.write_text(json.dumps(data))


def norm_fixture(tmp_path, drop=()):
    """Global (baseline) and corpus (remedy) normalisation, seeds 0–2, true and scrambled labels:
    baseline AUROC inside 0.80+0.01s, scrambled 0.70+0.01s, outside 0.60+0.01s, corpus-ID 0.90+0.01s;
    remedy inside 0.80+0.02s, scrambled 0.60+0.02s, outside 0.70+0.01s, corpus-ID 0.50+0.05s."""
    stores = fake_stores(tmp_path / "stores")
    rows, extra = [], {}
    for s in range(3):
        for norm, inside, scrambled, outside, cid, sil in (("global", 0.80 + 0.01 * s, 0.70 + 0.01 * s, 0.60 + 0.01 * s,
                                                             0.90 + 0.01 * s, (0.10, 0.40)),
                                                            ("corpus", 0.80 + 0.02 * s, 0.60 + 0.02 * s, 0.70 + 0.01 * s,
                                                             0.50 + 0.05 * s, (0.20, 0.05 + 0.01 * s))):
            rows += side_rows(f"{norm}-true-{s}", s, False, inside, outside, norm=norm)
            rows += side_rows(f"{norm}-scr-{s}", s, True, scrambled, 0.5, norm=norm)
            extra[f"{norm}-true-{s}"] = dict(corpus_id_accuracy=cid, silhouette_class=sil[0],
                                             silhouette_corpus=sil[1])
    save(rows, tmp_path / "results", stores, extra, drop)
    return tmp_path / "results"


def table_row(text, start):
    rows = (" ".join(line.split()) for line in text.splitlines())
    return next(row for row in rows if row.startswith(f"| {start}"))


def test_a_remedy_that_lowers_corpus_id_shows_exact_figures_and_its_verdict(tmp_path):
    results = norm_fixture(tmp_path)
    text = build_report(results, tmp_path / "out").read_text()
    section = text.split("## Remedies against their baselines")[1]
    assert "### melspec · mlp · trained on iemocap+cremad: --norm corpus against --norm global" in section
    assert table_row(section, "AUROC on the training") == \
        "| AUROC on the training corpora (their test splits) | 0.820 ± 0.020 (n=3) | 0.810 ± 0.010 (n=3) | +0.010 |"
    assert table_row(section, "AUROC off the diagonal") == ("| AUROC off the diagonal (test corpora outside the "
                                                            "training set): msp | 0.710 ± 0.010 (n=3) | "
                                                            "0.610 ± 0.010 (n=3) | +0.100 |")
    assert table_row(section, "scrambled-label gap") == ("| scrambled-label gap (true − scrambled AUROC, training "
                                                         "corpora) | 0.200 ± 0.000 (n=3) | 0.100 ± 0.000 (n=3) | "
                                                         "+0.100 |")
    assert table_row(section, "corpus-ID") == ("| corpus-ID accuracy of the hidden features, held out (chance 0.50) | "
                                               "0.550 ± 0.050 (n=3) | 0.910 ± 0.010 (n=3) | -0.360 |")
    assert table_row(section, "silhouette of the hidden features by corpus") == \
        "| silhouette of the hidden features by corpus, held out | 0.060 ± 0.010 (n=3) | 0.400 ± 0.000 (n=3) | -0.340 |"
    assert ("**Verdict:** fragmentation lower (corpus-ID 0.910 → 0.550), off-diagonal AUROC higher "
            "(0.610 → 0.710).") in section


def test_differences_inside_the_seeds_spread_or_from_one_seed_are_unchanged(tmp_path):
    stores = fake_stores(tmp_path / "stores")
    rows, extra = [], {}
    for s in range(2):  # corpus-ID 0.70/0.80 against 0.72/0.82: difference 0.02 < sd 0.071
        for norm, cid in (("global", 0.70 + 0.1 * s), ("corpus", 0.72 + 0.1 * s)):
            rows += side_rows(f"{norm}-{s}", s, False, 0.8, 0.6 + 0.1 * s, norm=norm)
            extra[f"{norm}-{s}"] = dict(corpus_id_accuracy=cid)
    rows += side_rows("dann-0", 0, False, 0.9, 0.9, head="mlp-dann")  # one seed against two
    extra["dann-0"] = dict(corpus_id_accuracy=0.3)
    save(rows, tmp_path / "results", stores, extra)
    runs = load_runs(tmp_path / "results")
    by_option = {c.option: c for c in remedy_comparisons(runs.rows, runs.records)}
    assert by_option["norm"].verdict() == ("fragmentation unchanged within spread (corpus-ID 0.750 → 0.770), "
                                           "off-diagonal AUROC unchanged within spread (0.650 → 0.650)")
    assert by_option["head"].verdict() == ("fragmentation unchanged within spread (one seed) (corpus-ID 0.750 → "
                                           "0.300), off-diagonal AUROC unchanged within spread (one seed) "
                                           "(0.650 → 0.900)")


def test_a_remedy_without_its_baseline_names_the_command_that_makes_it(tmp_path):
    stores = fake_stores(tmp_path / "stores")
    rows = []
    for s in (0, 2):
        rows += side_rows(f"dann-{s}", s, False, 0.8, 0.6, head="mlp-dann")
        rows += side_rows(f"dann-scr-{s}", s, True, 0.7, 0.5, head="mlp-dann")
    save(rows, tmp_path / "results", stores)
    text = build_report(tmp_path / "results", tmp_path / "out").read_text()
    command = "sergen grid --models melspec --train iemocap+cremad --heads mlp --seeds 0,2 --scramble no,yes"
    assert ("### melspec · mlp · trained on iemocap+cremad: --head mlp-dann against --head mlp" in text)
    assert f"No baseline runs (--head mlp) to compare with; make them with `{command}`." in text
    assert "**Verdict:** no baseline (--head mlp) to compare with." in text
    runs = load_runs(tmp_path / "results")
    lines = console_lines(runs.rows, runs.records)
    assert max(map(len, lines)) <= 80
    # the command, cut into shell-continued lines, is the same command joined back
    assert " ".join(line.strip().removesuffix(" \\") for line in lines).count(command) == 1


def test_records_of_an_older_sergen_show_a_dash_for_silhouettes(tmp_path):
    results = norm_fixture(tmp_path, drop=("silhouette_class", "silhouette_corpus"))
    text = build_report(results, tmp_path / "out").read_text()
    section = text.split("## Remedies against their baselines")[1]
    assert table_row(section, "silhouette of the hidden features by class") == \
        "| silhouette of the hidden features by class, held out | – | – | – |"
    assert table_row(section, "silhouette of the hidden features by corpus") == \
        "| silhouette of the hidden features by corpus, held out | – | – | – |"
    assert table_row(section, "corpus-ID").endswith("(chance 0.50) | 0.550 ± 0.050 (n=3) | 0.910 ± 0.010 (n=3) | "
                                                    "-0.360 |")  # still recorded


def test_rows_without_a_pool_column_are_the_mean_baseline(tmp_path):
    stores = fake_stores(tmp_path / "stores")
    rows = side_rows("mean-0", 0, False, 0.80, 0.60) + side_rows("mean-1", 1, False, 0.82, 0.62)
    rows += side_rows("ms-0", 0, False, 0.90, 0.75, pool="mean+std") + side_rows("ms-1", 1, False, 0.92, 0.77,
                                                                                pool="mean+std")
    save(rows, tmp_path / "results", stores)
    runs = load_runs(tmp_path / "results")
    (only,) = remedy_comparisons(runs.rows, runs.records)
    assert (only.option, only.value, only.baseline_value) == ("pool", "mean+std", "mean")
    assert only.baseline["auroc_out"].mean == 0.61 and only.remedy["auroc_out"].mean == 0.76
    assert only.verdict() == ("fragmentation not measured (no hidden features held out, no scrambled runs on both "
                              "sides), off-diagonal AUROC higher (0.610 → 0.760)")


def test_norm_corpus_runs_carry_the_transductive_note_in_report_and_console(tmp_path):
    results = norm_fixture(tmp_path)
    text = build_report(results, tmp_path / "out").read_text()
    note = "standardised each test corpus (or test speaker) with statistics of its own unlabelled audio: transductive"
    assert text.count(note) == 3  # at the top, in the remedy section, in the --norm corpus protocol section
    proc = subprocess.run([sys.executable, "-c", "from sergen.cli import main; main()", "report", "--results",
                           str(results), "--out", str(tmp_path / "out2")], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == f"report: {tmp_path / 'out2' / 'report.md'}"  # a path is never cut
    assert max(map(len, lines[:-1])) <= 80
    out = " ".join(" ".join(lines).split())
    assert ("note: --norm corpus/speaker/coral runs standardise each test corpus (or speaker) with statistics of its own "
            "unlabelled audio (transductive): not comparable with inductive leaderboard entries.") in out
    assert "corpus-ID acc 0.550±0.050 (3) 0.910±0.010 (3) -0.360" in out
    assert ("verdict: fragmentation lower (corpus-ID 0.910 → 0.550), off-diagonal AUROC higher (0.610 → 0.710)"
            in out)


def test_global_runs_alone_have_no_note_and_no_remedy_section(tmp_path):
    stores = fake_stores(tmp_path / "stores")
    save(side_rows("g-0", 0, False, 0.8, 0.6), tmp_path / "results", stores)
    text = build_report(tmp_path / "results", tmp_path / "out").read_text()
    assert "transductive" not in text and "## Remedies" not in text and "## AUROC per layer" not in text


def test_a_layer_sweep_gets_its_figure_and_exact_table(tmp_path):
    stores = fake_stores(tmp_path / "stores")
    rows = []
    for layer, s in ((6, 0), (6, 1), (12, 0), (12, 1), (24, 0)):
        inside, outside = 0.6 + layer / 100 + 0.02 * s, 0.5 + layer / 200 + 0.01 * s
        rows += side_rows(f"l{layer}-{s}", s, False, inside, outside, layer=str(layer))
    rows += side_rows("last-0", 0, False, 0.99, 0.99)  # the default layer: no part of the sweep
    save(rows, tmp_path / "results", stores)
    text = build_report(tmp_path / "results", tmp_path / "out").read_text()
    section = text.split("## AUROC per layer")[1]
    assert "### melspec · mlp · trained on iemocap+cremad" in section
    assert table_row(section, "6 ") == "| 6 | 0.670 ± 0.014 (n=2) | 0.535 ± 0.007 (n=2) |"
    assert table_row(section, "12 ") == "| 12 | 0.730 ± 0.014 (n=2) | 0.565 ± 0.007 (n=2) |"
    assert table_row(section, "24 ") == "| 24 | 0.840 (n=1) | 0.620 (n=1) |"
    assert "cross-corpus AUROC (msp)" in section
    png = tmp_path / "out" / "figures" / "layers_0_melspec.png"
    assert f"![AUROC per layer](figures/{png.name})" in section
    with Image.open(png) as img:
        assert img.format == "PNG" and img.size[0] >= 400


def test_silhouettes_equal_scikit_learns_on_the_same_seeded_sample():
    rng = np.random.default_rng(3)
    classes, corpora = rng.integers(0, 4, 1500), rng.integers(0, 3, 1500)
    features = rng.normal(size=(1500, 8)) + classes[:, None] * 0.5 + corpora[:, None] * np.arange(8) * 0.2
    by_class, by_corpus = silhouettes(features, classes, corpora, sample_size=600, seed=7)
    take = np.sort(np.random.default_rng(7).choice(1500, size=600, replace=False))
    assert by_class == silhouette_score(features[take], classes[take])
    assert by_corpus == silhouette_score(features[take], corpora[take])
    # fewer points than the sample: all of them; one corpus only: no silhouette by corpus
    small_class, small_corpus = silhouettes(features[:50], classes[:50], np.zeros(50), sample_size=600)
    assert small_class == silhouette_score(features[:50], classes[:50]) and small_corpus is None


def test_a_weighted_layer_is_compared_with_the_default_or_the_last_numeric_layer(tmp_path):
    stores = fake_stores(tmp_path / "stores")
    rows = side_rows("w-0", 0, False, 0.85, 0.70, layer="weighted") + side_rows("n12-0", 0, False, 0.80, 0.60, layer="12")
    rows += side_rows("n24-0", 0, False, 0.81, 0.65, layer="24")
    save(rows, tmp_path / "results", stores, {"w-0": dict(silhouette_corpus="n/a", corpus_id_accuracy=0.6)})
    runs = load_runs(tmp_path / "results")
    (only,) = remedy_comparisons(runs.rows, runs.records)
    assert (only.option, only.value, only.baseline_value) == ("layer", "weighted", "24")  # what "-" stands for
    assert only.baseline["auroc_out"].mean == 0.65 and only.remedy["auroc_out"].mean == 0.70
    assert only.remedy["sil_corpus"] is None  # a hand-edited figure that is no number: "–", never a traceback
    assert only.remedy["corpus_id"].mean == 0.6 and only.baseline["corpus_id"] is None
    save(side_rows("d-0", 0, False, 0.79, 0.61), tmp_path / "results", stores)  # the default layer
    runs = load_runs(tmp_path / "results")
    (only,) = remedy_comparisons(runs.rows, runs.records)
    assert only.baseline_value == "-" and only.baseline["auroc_out"].mean == 0.61
    assert only.title == "melspec · mlp · trained on iemocap+cremad"


def test_a_training_set_covering_every_test_corpus_says_so(tmp_path):
    stores = fake_stores(tmp_path / "stores")
    rows = [r for r in side_rows("g-0", 0, False, 0.8, 0.6) + side_rows("c-0", 0, False, 0.9, 0.7, norm="corpus")
            if r["test"] != "msp"]
    save(rows, tmp_path / "results", stores)
    text = build_report(tmp_path / "results", tmp_path / "out").read_text()
    assert table_row(text, "AUROC off the diagonal") == ("| AUROC off the diagonal (test corpora outside the training "
                                                         "set): none, the training set covers every test corpus | – | "
                                                         "– | – |")
    assert ("**Verdict:** fragmentation not measured (no hidden features held out, no scrambled runs on both sides), "
            "AUROC on the training corpora unchanged within spread (one seed) (0.800 → 0.900).") in text

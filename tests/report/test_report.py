"""The report from a small results fixture: its tables hold the computed numbers with their spread,
its figures exist, stale and unreadable runs are left out visibly."""

import itertools
import json
import re

import numpy as np
import pandas as pd
import zarr
from PIL import Image

from sergen import CORPORA
from sergen.report.markdown import build_report
from sergen.report.tables import poster_numbers
from sergen.results import RunRecord, fingerprints, record_digest, save_run, stores_of
from tests.fake_stores import tiny_store

CONFUSION = [[12, 4, 2, 2], [1, 15, 3, 1], [0, 2, 16, 2], [3, 1, 0, 16]]


def fake_stores(root, model="melspec", corpora=CORPORA[:3]):
    """Tiny stores whose attributes are what fingerprints read."""
    for corpus in corpora:
        tiny_store(root / model / f"{corpus}.zarr", model=model, corpus=corpus,
                   created="2026-01-01T00:00:00+00:00", complete=True)
    return root


def save_fixture_runs(df, results_dir, stores_root):
    for run, part in df.groupby("run_id"):
        first = part.iloc[0]
        train, test = first.train.split("+"), list(part.test.unique())
        spec = {"model": first.model, "train": train, "test": test, "sampler": {"aug_share": float(first.aug_share)}}
        record = RunRecord(run_id=run, spec=spec, stores_root=str(stores_root),
                           stores=fingerprints(first.model, stores_of(first.model, train, test, first.aug_share,
                                                                      stores_root), stores_root),
                           history=[[50 * k, 0.6 + 0.05 * k, 1e-3 * 0.3 ** (k // 4)] for k in range(1, 9)],
                           confusion={t: CONFUSION for t in test})
        save_run(part, record, results_dir)


def fixture_results(results_dir, seeds=(0,)):
    stores_root = fake_stores(results_dir.parent / "stores")
    rows = []
    trains = list(CORPORA[:3]) + ["iemocap+cremad+msp"]
    for model in ("melspec",):
        for train in trains:
            for scramble in (False, True):
                for aug, seed in itertools.product((0.0, 0.5), seeds):
                    if "+" not in train and (scramble or aug):
                        continue
                    run = f"{train}-{scramble}-{aug}-{seed}"
                    for test in CORPORA[:3]:
                        value = 0.9 if test == train else 0.6 + 0.01 * len(test)
                        if "+" in train:
                            value = 0.8 - 0.1 * scramble + 0.02 * aug
                        value += 0.01 * seed
                        for metric in ("auroc", "acc", "f1", "avprec", "uar"):
                            rows.append(dict(model=model, layer="-", head="mlp", train=train,
                                             n_train_corpora=train.count("+") + 1, test=test, metric=metric,
                                             value=value if metric == "auroc" else value - 0.3, ci_low=value - 0.05,
                                             ci_high=value + 0.05, seed=seed, scramble=scramble, aug_share=aug,
                                             steps=100, best_step=50, val_auroc=0.9, n_test=40,
                                             absent_classes="sad" if test == "msp" else "",
                                             in_training=test in train, synthetic=True, sergen_version="0",
                                             run_id=run, seconds=1.0))
    df = pd.DataFrame(rows)
    save_fixture_runs(df, results_dir, stores_root)
    return df


def test_report_tables_and_figures(tmp_path):
    fixture_results(tmp_path / "results")
    report = build_report(tmp_path / "results", tmp_path / "out")
    text = report.read_text()
    assert "**Synthetic data.**" in text
    # intra-corpus: iemocap trained and tested on itself, MLP, with the poster's Mel-Spec row beside it
    row = next(line for line in text.splitlines() if line.startswith("| melspec") and "0.77" in line)
    assert "0.90" in row and "0.60" in row  # AUROC and ACC (0.9 − 0.3)
    assert "0.90 [0.85–0.95]" in row  # with its bootstrap interval; one seed: no ± part
    # cross-corpus matrix row for msp: 0.6 + 0.01·len(test name), each with its interval
    assert re.search(r"\|\s+msp \|\s+0\.67 \[0\.62–0\.72\] \|\s+0\.66 \[0\.61–0\.71\] \|\s+0\.90 \[0\.85–0\.95\] \|", text)
    # augmentation × scramble: 0.8 − 0.9 = −0.10 unscrambled at 0, −0.20 scrambled, −0.09 at aug 0.5
    aug_row = next(line for line in text.splitlines() if re.match(r"^\|\s+50% \|", line))
    assert "-0.09 [-0.14–-0.04]" in aug_row and "-0.19" in aug_row
    # the msp test split lacks a class: said next to the numbers
    assert "Test splits missing whole classes" in text and "msp: no sad" in text
    # confusion matrices: counts and row shares (12 of 20 true hap predicted hap = 0.60)
    assert "| true hap | 12 (0.60) | 4 (0.20) | 2 (0.10) | 2 (0.10) | 20 |" in re.sub(r" +", " ", text)
    assert "train iemocap → test iemocap" in text and "confusion_intra_melspec_mlp.png" in text
    assert "confusion_cross_melspec_mlp.png" in text and "validation_melspec_mlp.png" in text
    images = re.findall(r"!\[[^\]]*\]\((figures/[^)]+)\)", text)
    assert images
    for rel in images:
        with Image.open(tmp_path / "out" / rel) as img:
            assert img.format == "PNG" and img.size[0] >= 400 and img.size[1] >= 250
    assert (tmp_path / "out" / "main_heatmap.png").stat().st_size > 1000


def test_poster_numbers_are_transcribed():
    p = poster_numbers()
    cell = p.query("table == 'intra' and model == 'phi4' and test == 'iemocap' and head == 'mlp' and metric == 'avprec'")
    assert cell.value.item() == 0.75
    cross = p.query("table == 'cross' and train == 'msp' and test == 'emodb'")
    assert cross.value.item() == 0.66
    assert len(p.query("table == 'aug_scramble_diff'")) == 30


def test_several_seeds_show_their_spread(tmp_path):
    fixture_results(tmp_path / "results", seeds=(0, 1, 2))
    text = build_report(tmp_path / "results", tmp_path / "out").read_text()
    # emodb-free fixture: iemocap on itself is 0.90, 0.91, 0.92 → mean 0.91, sd 0.01, intervals averaged
    row = next(line for line in text.splitlines() if line.startswith("| melspec") and "0.77" in line)
    assert "0.91 [0.86–0.96] ±0.01 (n=3)" in row
    assert "confusion" in text and "(n=3)" in text
    # the confusion counts are summed over the three seeds: 3 × 12 = 36 of 60
    assert "| true hap | 36 (0.60) |" in re.sub(r" +", " ", text)


def test_stale_and_unreadable_runs_are_left_out_and_named(tmp_path):
    from typer.testing import CliRunner

    from sergen.cli import app

    df = fixture_results(tmp_path / "results")
    runs = tmp_path / "results" / "runs"
    # a view store added beside iemocap: the runs that draw views (aug share 0.5) would now read it
    fake_stores(tmp_path / "stores", corpora=["iemocap@eq"])
    # and three broken files: a truncated CSV, a record that is not JSON, an empty CSV
    truncated = runs / "cremad-False-0.0-0.csv"
    truncated.write_text("\n".join(truncated.read_text().splitlines()[:4]) + "\n")
    (runs / "msp-False-0.0-0.json").write_text('{"format": 2, "spec": ')
    (runs / "broken.csv").write_text("")
    result = CliRunner().invoke(app, ["report", "--results", str(tmp_path / "results"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    n_runs = df.run_id.nunique()
    assert "left out 2 stale run(s)" in result.output  # aug 0.5, scrambled and not
    assert "2 run(s): the stores it reads changed: melspec/iemocap@eq added" in result.output
    for name, why in (("cremad-False-0.0-0.csv", "truncated (3 of 15 rows)"), ("msp-False-0.0-0.json", "unreadable"),
                      ("broken.csv", "unreadable (empty file)")):
        assert f"left out result file {runs / name}: {why}" in result.output.replace("\n", "")
    text = (tmp_path / "out" / "report.md").read_text()
    assert "**Left out: 3 result file(s) that cannot be used**" in text and str(runs / "broken.csv") in text
    assert "**Left out: 2 stale run(s)**" in text
    assert f"from {n_runs - 2 - 2} fresh probe runs" in text  # 2 stale, 2 unreadable runs (broken.csv is none)


def test_report_with_only_stale_runs_says_so(tmp_path):
    from typer.testing import CliRunner

    from sergen.cli import app

    fixture_results(tmp_path / "results")
    group = zarr.open_group(str(tmp_path / "stores/melspec/msp.zarr"), mode="r+")
    group.attrs["sergen"] = dict(group.attrs["sergen"], finished="later")
    result = CliRunner().invoke(app, ["report", "--results", str(tmp_path / "results")])
    assert result.exit_code == 2 or result.exit_code == 1
    assert "no fresh results to report" in str(result.exception) + result.output


def test_runs_of_an_older_sergen_are_stale_not_mixed(tmp_path):
    """A run saved before runs carried store fingerprints (its JSON is the bare spec) is left out as stale."""
    import json

    from sergen.results import load_runs

    df = fixture_results(tmp_path / "results")
    old = tmp_path / "results" / "runs" / "emodb-old.json"
    part = df[df.run_id == "iemocap-False-0.0-0"].assign(run_id="emodb-old")
    part.to_csv(old.with_suffix(".csv"), index=False)
    old.write_text(json.dumps({"model": "melspec", "train": ["iemocap"], "test": ["iemocap"], "aug_share": 0.0}))
    runs = load_runs(tmp_path / "results")
    assert runs.stale == {"emodb-old": "no store fingerprints (written by an older sergen)"}
    assert "emodb-old" not in set(runs.rows.run_id) and not runs.skipped


def test_confusion_of_a_chosen_cell_and_a_malformed_one(tmp_path):
    import subprocess
    import sys

    fixture_results(tmp_path / "results")
    env_args = ["report", "--results", str(tmp_path / "results"), "--out", str(tmp_path / "out")]
    text = build_report(tmp_path / "results", tmp_path / "out", confusion=[("cremad", "iemocap"), ("msp", "ravdess")])
    text = text.read_text()
    assert "**train cremad → test iemocap**" in text  # not among the cells chosen by the report itself
    assert "No melspec · mlp baseline run trained on msp and tested on ravdess." in text
    proc = subprocess.run([sys.executable, "-c", "from sergen.cli import main; main()", *env_args,
                           "--confusion", "cremad-msp"], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--confusion takes TRAIN:TEST, e.g. emodb:ravdess; got 'cremad-msp'" in proc.stderr


def test_runs_on_another_layer_get_their_own_poster_rows(tmp_path):
    """A layer sweep or a weighted run beside the default layer is never averaged into the default's cells."""
    df = fixture_results(tmp_path / "results")
    single = df[df.n_train_corpora == 1].copy()
    single["layer"] = "12"
    for column in ("value", "ci_low", "ci_high"):
        single[column] -= 0.2
    single["run_id"] = single["run_id"] + "-layer12"
    save_fixture_runs(single, tmp_path / "results", tmp_path / "stores")
    text = build_report(tmp_path / "results", tmp_path / "out").read_text()
    # the default layer's msp row as without the sweep (0.6 + 0.01·len(test name)), and layer 12's 0.2 below
    assert re.search(r"\|\s+msp \|\s+0\.67 \[0\.62–0\.72\] \|\s+0\.66 \[0\.61–0\.71\] \|\s+0\.90 \[0\.85–0\.95\] \|", text)
    assert "### melspec (layer 12) · mlp" in text
    assert re.search(r"\|\s+msp \|\s+0\.47 \[0\.42–0\.52\] \|\s+0\.46 \[0\.41–0\.51\] \|\s+0\.70 \[0\.65–0\.75\] \|", text)


def test_runs_of_other_training_settings_are_kept_apart(tmp_path):
    """A run with --set training.max_steps=100 is another experiment: its own rows, never averaged in."""
    from sergen.results import load_runs, settings_tag

    assert settings_tag({"sampler": {"window_s": [1, 3], "mix_prob": 0}, "training": {}}) == "mix_prob=0.0"
    assert settings_tag({"sampler": {}, "training": {"max_steps": 100}, "n_boot": 20}) == "max_steps=100"
    assert settings_tag({"sampler": {"aug_share": 0.5}, "training": {}}) == ""  # its own column
    df = fixture_results(tmp_path / "results")
    quick = df[df.n_train_corpora == 1].copy()
    for column in ("value", "ci_low", "ci_high"):
        quick[column] -= 0.2
    quick["run_id"] = quick["run_id"] + "-quick"
    save_fixture_runs(quick, tmp_path / "results", tmp_path / "stores")
    for path in (tmp_path / "results/runs").glob("*-quick.json"):  # these runs trained for 100 steps
        record = json.loads(path.read_text())
        record["spec"]["training"] = {"max_steps": 100}
        path.write_text(json.dumps({**record, "record_sha256": record_digest(record)}))  # as sergen saved it
    rows = load_runs(tmp_path / "results").rows
    assert set(rows.settings) == {"", "max_steps=100"}
    text = build_report(tmp_path / "results", tmp_path / "out").read_text()
    assert re.search(r"\|\s+msp \|\s+0\.67 \[0\.62–0\.72\] \|\s+0\.66 \[0\.61–0\.71\] \|\s+0\.90 \[0\.85–0\.95\] \|", text)
    assert "### melspec [max_steps=100] · mlp" in text

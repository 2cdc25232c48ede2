"""The report from a small results fixture: its tables hold the computed numbers, its figures exist."""

import re

import pandas as pd
from PIL import Image

from sergen import CORPORA
from sergen.report.markdown import build_report
from sergen.report.tables import poster_numbers


def fixture_results(results_dir):
    rows = []
    trains = list(CORPORA[:3]) + ["iemocap+cremad+msp"]
    for model in ("melspec",):
        for train in trains:
            for scramble in (False, True):
                for aug in (0.0, 0.5):
                    if "+" not in train and (scramble or aug):
                        continue
                    run = f"{train}-{scramble}-{aug}"
                    for test in CORPORA[:3]:
                        value = 0.9 if test == train else 0.6 + 0.01 * len(test)
                        if "+" in train:
                            value = 0.8 - 0.1 * scramble + 0.02 * aug
                        for metric in ("auroc", "acc", "f1", "avprec", "uar"):
                            rows.append(dict(model=model, layer="-", head="mlp", train=train,
                                             n_train_corpora=train.count("+") + 1, test=test, metric=metric,
                                             value=value if metric == "auroc" else value - 0.3, ci_low=value - 0.05,
                                             ci_high=value + 0.05, seed=0, scramble=scramble, aug_share=aug, steps=100,
                                             best_step=50, val_auroc=0.9, n_test=40, in_training=test in train,
                                             synthetic=True, sergen_version="0", run_id=run, seconds=1.0))
    runs = results_dir / "runs"
    runs.mkdir(parents=True)
    df = pd.DataFrame(rows)
    for run, part in df.groupby("run_id"):
        part.to_csv(runs / f"{run}.csv", index=False)
    return df


def test_report_tables_and_figures(tmp_path):
    fixture_results(tmp_path / "results")
    report = build_report(tmp_path / "results", tmp_path / "out")
    text = report.read_text()
    assert "**Synthetic data.**" in text
    # intra-corpus: iemocap trained and tested on itself, MLP, with the poster's Mel-Spec row beside it
    row = next(line for line in text.splitlines() if line.startswith("| melspec") and "0.77" in line)
    assert "0.90" in row and "0.60" in row  # AUROC and ACC (0.9 − 0.3)
    # cross-corpus matrix row for msp: 0.6 + 0.01·len(test name)
    assert re.search(r"\|\s+msp \|\s+0\.67 \|\s+0\.66 \|\s+0\.90 \|", text)
    # augmentation × scramble: 0.8 − 0.9 = −0.10 unscrambled at 0, −0.20 scrambled, −0.09 at aug 0.5
    aug_row = next(line for line in text.splitlines() if re.match(r"^\|\s+50% \|", line))
    assert "-0.09" in aug_row and "-0.19" in aug_row
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

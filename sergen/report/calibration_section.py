"""``## Calibration under shift``: does confidence match accuracy when a head meets another corpus?

Per model · head, for every single-training-corpus cell train → test of the runs that kept per-utterance
scores: expected calibration error (10 equal-width confidence bins, ``sergen.train.calibration``) as mean
over seeds, and a reliability diagram (accuracy against confidence per bin, utterances pooled over seeds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sergen import corpus_order
from sergen.experiments.run_scores import read_scores
from sergen.report.figures import save, subplots
from sergen.report.tables import markdown_table
from sergen.train.calibration import expected_calibration_error, reliability_table

INTRO = ("Expected calibration error (ECE) of each train → test cell: the utterance-weighted mean gap between "
         "accuracy and top-class confidence over 10 equal-width confidence bins (0 is calibrated; mean over "
         "seeds, their number in brackets). Off the diagonal a head meets a corpus it was not trained on: a "
         "confidence above its accuracy there is what a deployer needs to see. The diagram plots each bin's "
         "accuracy against its mean confidence (utterances pooled over seeds; the diagonal is calibration; dot "
         "size: utterances in the bin). Runs made before sergen kept per-utterance scores are not in it.")


def cell_scores(rows: pd.DataFrame, results_dir) -> dict[tuple, list]:
    """(model, head, train, test) → [(labels, proba) per seed] for single-corpus, unscrambled runs."""
    if rows.empty:
        return {}
    part = rows[(rows.n_train_corpora == 1) & ~rows.scramble.astype(bool)
                & (rows.get("aug_share", 0).fillna(0) == 0)].drop_duplicates(["run_id", "test"])
    cells: dict[tuple, list] = {}
    cache: dict = {}
    for r in part.itertuples(index=False):
        if r.run_id not in cache:
            try:
                cache[r.run_id] = read_scores(r.run_id, results_dir)
            except ValueError:
                cache[r.run_id] = None
        scores = cache[r.run_id]
        if scores and r.test in scores:
            s = scores[r.test]
            cells.setdefault((r.model, r.head, r.train, r.test), []).append((s.label, s.proba))
    return cells


def plot_reliability(panels: dict[tuple[str, str], tuple], trains: list[str], tests: list[str], path: Path,
                     title: str) -> Path:
    fig, axes = subplots(len(trains), len(tests), figsize=(2.1 * len(tests) + 0.6, 2.0 * len(trains) + 0.6),
                         dpi=100, squeeze=False)
    for i, train in enumerate(trains):
        for j, test in enumerate(tests):
            ax = axes[i, j]
            ax.plot([0, 1], [0, 1], color="#999999", lw=0.8)
            if (train, test) in panels:
                y, proba = panels[(train, test)]
                table = reliability_table(y, proba)
                used = table[table["count"] > 0]
                ax.plot(used.confidence, used.accuracy, color="#3b6fb6", lw=1)
                ax.scatter(used.confidence, used.accuracy, s=6 + 60 * used["count"] / used["count"].max(),
                           color="#3b6fb6")
                ax.text(0.04, 0.9, f"ECE {expected_calibration_error(y, proba):.3f}", fontsize=7)
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            ax.tick_params(labelsize=6)
            if i == 0:
                ax.set_title(f"test {test}", fontsize=8)
            if j == 0:
                ax.set_ylabel(f"train {train}\naccuracy", fontsize=7)
            if i == len(trains) - 1:
                ax.set_xlabel("confidence", fontsize=7)
    fig.suptitle(title, fontsize=9)
    return save(fig, path)


def calibration_section(rows: pd.DataFrame, fig_dir: Path, results_dir=None, synthetic: bool = False) -> list[str]:
    """The section (nothing when no run kept scores)."""
    cells = cell_scores(rows, results_dir)
    if not cells:
        return []
    lines = ["## Calibration under shift", "", INTRO, ""]
    for model, head in sorted({(m, h) for m, h, _, _ in cells}):
        mine = {(tr, te): v for (m, h, tr, te), v in cells.items() if (m, h) == (model, head)}
        trains, tests = corpus_order({k[0] for k in mine}), corpus_order({k[1] for k in mine})
        ece = pd.DataFrame("–", index=pd.Index(trains, name="train \\ test"), columns=tests)
        pooled = {}
        for (train, test), seeds in mine.items():
            values = [expected_calibration_error(y, p) for y, p in seeds]
            ece.loc[train, test] = f"{np.mean(values):.3f} ({len(values)})"
            pooled[(train, test)] = (np.concatenate([y for y, _ in seeds]), np.concatenate([p for _, p in seeds]))
        png = plot_reliability(pooled, trains, tests, fig_dir / f"reliability_{model}_{head}.png".replace("/", "_"),
                               f"{model} · {head}: reliability" + (" (synthetic data)" if synthetic else ""))
        lines += [f"### {model} · {head}", "", markdown_table(ece, index=True), "",
                  f"![reliability {model} {head}](figures/{png.name})", ""]
    return lines

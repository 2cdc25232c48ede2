"""The report's sections for runs of other protocols than the poster's: one section per label set × folds ×
named protocol (their numbers never share a cell with another's), each with its class lists, its table (the
mean ± spread over folds where it has folds, EmoBox's metrics where it scores other classes than the
poster's four), a per-fold table, its confusion matrices; then sergen's numbers beside the leaderboards."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from sergen import corpus_order
from sergen.report import figures
from sergen.report.leaderboards import COMPARABILITY, EMOBOX_SOURCE, SUPERB_SOURCE, leaderboard_comparison
from sergen.report.protocols import (class_lists, emobox_style, group_table, group_title, has_folds, per_fold_table,
                                     protocol_groups, spread_legend)
from sergen.report.remedies import TRANSDUCTIVE, TRANSDUCTIVE_NOTE, uses_transductive_norm
from sergen.report.tables import baseline, confusion_table, markdown_table, summed_confusion

INTRO = ("Runs of another label set, with folds, of a named protocol or with another feature normalisation "
         "(`--norm`). Each protocol has its own section: "
         "another label set scores another task and other folds test other utterances, so their numbers are "
         "never averaged with the poster's or with each other's. Tables with EmoBox's metrics print WA "
         "(accuracy), UA (unweighted average recall), micro-F1 (equal to WA for one label per utterance) and "
         "macro-F1 (over the classes of the truth and of the predictions, as EmoBox computes it) in percent, "
         "as EmoBox prints them, beside AUROC (macro one-vs-rest).")


def slug(group: dict) -> str:
    """A file-name-safe name of a protocol group, for its figures."""
    norm = group.get("norm", "global")
    pool = group.get("pool", "mean")
    text = "_".join(v for v in (group["labels"], group["folds"], group["protocol"],
                                f"norm-{norm}" if norm != "global" else "", f"pool-{pool}" if pool != "mean" else "")
                    if v)
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-") or "default"


def left_out_lines(part: pd.DataFrame, records: dict) -> list[str]:
    """Classes a run left out because its training and test corpora do not share them, per training set."""
    found: dict[str, set[str]] = {}
    for run_id, train in part[["run_id", "train"]].drop_duplicates().itertuples(index=False):
        record = records.get(run_id)
        for corpus, classes in sorted((record.left_out if record is not None else {}).items()):
            for label, n in sorted(classes.items()):
                found.setdefault(train, set()).add(f"{corpus} {label} ({n} utterances)")
    return [f"- trained on {train}: left out {', '.join(sorted(items))}" for train, items in sorted(found.items())]


def _main_head(rows: pd.DataFrame, model: str) -> str:
    heads = sorted(rows[rows.model == model]["head"].unique())
    return "mlp" if "mlp" in heads else heads[0]


def confusion_lines(part: pd.DataFrame, records: dict, fig_dir: Path, name: str) -> list[str]:
    """For each model's main head: every corpus trained and tested on itself, counts summed over folds and
    seeds, in each run's own classes."""
    lines = []
    base = baseline(part)
    for model in sorted(base.model.unique()):
        head = _main_head(base, model)
        block = base[(base.model == model) & (base["head"] == head) & (base.train == base.test)]
        panels = []
        for (test, classes), cell in sorted(block.groupby(["test", "classes"]),
                                            key=lambda kv: corpus_order(block.test.unique()).index(kv[0][0])):
            try:
                conf = summed_confusion(records, cell.run_id.unique(), test)
            except ValueError as exc:  # a hand-edited record: said where the matrix would be, never a traceback
                lines += [f"Confusion of {model} · {head} on {test} not shown: {exc}.", ""]
                continue
            if conf is not None:
                panels.append((f"train {test} → test {test}", conf.counts, conf.classes))
        if not panels:
            continue
        png = figures.plot_confusions(panels, fig_dir / f"confusion_{name}_{model}_{head}.png",
                                      f"{model} · {head} · intra-corpus")
        lines += [f"#### Confusion · {model} · {head}", "",
                  "Counts of test utterances by true class (rows) and predicted class (columns), summed over folds "
                  "and seeds, with each row's share in brackets; each corpus trained and tested on itself. True "
                  "labels, no augmentation.", "", f"![confusion {model} {head} {name}](figures/{png.name})", ""]
        for title, counts, classes in panels:
            lines += [f"**{title}**", "", markdown_table(confusion_table(counts, classes), index=True), ""]
    return lines


def protocol_sections(rows: pd.DataFrame, records: dict, fig_dir: Path) -> list[str]:
    """Every protocol group's section (none when every run is of the poster's protocol). ``rows``: with the
    protocol columns (``with_protocol_columns``)."""
    groups = protocol_groups(rows)
    if not groups:
        return []
    lines = ["## Other protocols", "", INTRO, ""]
    for group, part in groups:
        name = slug(group)
        lines += [f"### {group_title(group)}", ""]
        if group.get("norm") in TRANSDUCTIVE:
            lines += [f"> {TRANSDUCTIVE_NOTE}", ""]
        lines += [f"{part.run_id.nunique()} run(s). {spread_legend(group)}", "",
                  "Classes (each head's outputs, in order):", ""]
        lines += [f"- {line}" for line in class_lists(part)] + [""]
        left = left_out_lines(part, records)
        if left:
            lines += ["Utterances left out because the training and test corpora do not share their class:", "",
                      *left, ""]
        lines += [markdown_table(group_table(part, group)), ""]
        if has_folds(group):
            percent = emobox_style(group, part)
            lines += ["#### Per fold", "",
                      "Each fold's value (its mean over seeds), then the mean and the sample standard deviation "
                      "(ddof=1) over folds.", ""]
            for metric, title in (("auroc", "AUROC"), ("acc", "WA %" if percent else "ACC")):
                table = per_fold_table(part, group, metric, percent=percent and metric == "acc")
                if not table.empty:
                    lines += [f"**{title}**", "", markdown_table(table), ""]
        lines += confusion_lines(part, records, fig_dir, name)
    return lines


def leaderboard_section(rows: pd.DataFrame) -> list[str]:
    """sergen's cells beside the leaderboard cells of the same model, dataset and metric (none when no run's
    protocol matches a leaderboard)."""
    table = leaderboard_comparison(rows)
    if table.empty:
        return []
    return ["## sergen beside published leaderboards", "",
            "sergen's intra-corpus cells (true labels, no augmentation) whose protocol matches a leaderboard — "
            "`protocol superb-er` ↔ SUPERB's emotion recognition accuracy; native labels or EmoBox's folds on "
            "an EmoBox dataset ↔ EmoBox's WA (and UA, F1 where published) — beside the leaderboard's cell for "
            "the same model. sergen's value is its mean over folds.", "", COMPARABILITY, "",
            markdown_table(table), "", f"Sources: {EMOBOX_SOURCE}; {SUPERB_SOURCE}.", ""] + \
        ([f"> {TRANSDUCTIVE_NOTE}", ""] if uses_transductive_norm(rows) else [])

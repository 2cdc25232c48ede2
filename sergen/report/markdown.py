"""``sergen report``: one Markdown file with the poster's tables, heatmaps and the fragmentation figures."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

import sergen
from sergen.config import data_dir
from sergen.report import figures, tables
from sergen.report.protocol_sections import leaderboard_section, protocol_sections
from sergen.report.outputs import staged_report
from sergen.report.protocols import is_poster_protocol, with_protocol_columns
from sergen.report.remedies import TRANSDUCTIVE_NOTE, uses_transductive_norm
from sergen.report.calibration_section import calibration_section
from sergen.report.emobox_cross_section import emobox_cross_section
from sergen.report.remedy_sections import layer_section, remedy_section
from sergen.results import Runs, StoreProblem, load_runs, runs_dir, store_problems
from sergen.paths import check_writable

SYNTHETIC_BANNER = ("> **Synthetic data.** These results come from sergen's synthetic demo corpora (made by "
                    "`sergen demo-data`), not from real emotional speech. They show what the pipeline computes; "
                    "they say nothing about the real corpora. Poster numbers are shown for orientation only.")
POSTER_SPLITS = ("Test sets are each corpus's held-out test split; validation (early stopping) uses the training "
                 "corpora's valid splits. ")


def confusion_section(results: pd.DataFrame, runs: Runs, fig_dir: Path, synthetic: bool,
                      chosen: list[tuple[str, str]] = ()) -> list[str]:
    lines = ["## Confusion matrices", "",
             "Counts of test utterances by true class (rows) and predicted class (columns), summed over seeds, "
             "with each row's share in brackets; for each model's main head (MLP where run): every corpus "
             "trained and tested on itself, then, for each training corpus, the test corpus it transfers to "
             "worst" + (", then the cells asked for (`--confusion`)" if chosen else "") +
             ". True labels, no augmentation.", ""]
    any_cell = False
    for model in sorted(results.model.unique()):
        head = _main_head(results, model)
        panels = {"intra": [], "cross": []}
        cells = list(dict.fromkeys(tables.confusion_cells(results, model, head) + list(chosen)))
        for train, test in cells:
            try:
                conf = tables.confusion_counts(results, runs.records, model, head, train, test)
            except ValueError as exc:  # a hand-edited record: said where the matrix would be, never a traceback
                lines += [f"Confusion of {model} · {head} trained on {train}, tested on {test} not shown: {exc}.", ""]
                continue
            if conf is None:
                if (train, test) in chosen:
                    lines += [f"No {model} · {head} baseline run trained on {train} and tested on {test}.", ""]
                continue
            kind = "intra" if train == test else "cross"
            panels[kind].append((f"train {train} → test {test}", conf.counts, conf.classes))
        for kind, label in (("intra", "intra-corpus"), ("cross", "hardest cross-corpus cell per training corpus")):
            if not panels[kind]:
                continue
            any_cell = True
            png = figures.plot_confusions(panels[kind], fig_dir / f"confusion_{kind}_{model}_{head}.png",
                                          f"{model} · {head} · {label}" + (" · synthetic demo" if synthetic else ""))
            lines += [f"### {model} · {head} · {label}", "", f"![confusion {model} {head} {kind}](figures/{png.name})", ""]
            for name, counts, classes in panels[kind]:
                lines += [f"**{name}**", "", _md(tables.confusion_table(counts, classes), index=True), ""]
    if not any_cell:
        lines += ["No single-corpus baseline runs with confusion counts in these results.", ""]
    return lines


def validation_section(results: pd.DataFrame, runs: Runs, fig_dir: Path) -> list[str]:
    lines = ["## Validation curves", "",
             "Validation AUROC (on the training corpora's valid splits) and learning rate against training steps, "
             "for each model's main head trained on each corpus alone (lowest seed, true labels, no augmentation); "
             "the head kept is the one at the best validation AUROC.", ""]
    base = tables.baseline(results)
    drawn = False
    for model in sorted(results.model.unique()):
        head = _main_head(results, model)
        part = base[(base.model == model) & (base["head"] == head) & (base.n_train_corpora == 1)]
        curves = []
        for train in tables.corpus_order(part.train.unique()):
            block = part[part.train == train]
            run_id = block.sort_values("seed").run_id.iloc[0]
            record = runs.records.get(run_id)
            if record is not None and record.history:
                curves.append((f"{train} (seed {block.seed.min()})", record.history))
        if curves:
            drawn = True
            png = figures.plot_validation(curves, fig_dir / f"validation_{model}_{head}.png", f"{model} · {head}")
            lines += [f"### {model} · {head}", "", f"![validation curves {model} {head}](figures/{png.name})", ""]
    if not drawn:
        lines += ["No validation history in these runs.", ""]
    return lines


_md = tables.markdown_table


def left_out(runs: Runs) -> list[str]:
    """What the report does not show, and why: stale runs and unreadable files, never dropped silently."""
    lines = []
    if runs.stale:
        lines += [f"**Left out: {len(runs.stale)} stale run(s)** — the stores they read changed since they ran, "
                  "so their numbers no longer describe these stores (rerun the same `sergen grid` to redo them):", ""]
        lines += [f"- {line}" for line in runs.stale_summary()] + [""]
    if runs.skipped:
        lines += [f"**Left out: {len(runs.skipped)} result file(s) that cannot be used** (unreadable, edited after "
                  "their run saved them, or copies; delete them or rerun their grid):", ""]
        lines += [f"- `{s.path}`: {s.reason}" for s in runs.skipped] + [""]
    if runs.unverified:
        lines += [f"Unverified: {len(runs.unverified)} run(s) saved by an older sergen, whose records hold no digest of "
                  "their rows, are shown, but an edit to their CSV could not be detected (rerunning them with `sergen "
                  "grid` after deleting their files makes them verifiable).", ""]
    return lines


def confusion_pairs(runs: Runs) -> list[tuple[str, str]]:
    """(train, test) cells whose confusion matrix the report can show: baseline runs of a model's main head
    that recorded confusion counts for that test corpus."""
    results, pairs = poster_rows(runs.rows), []
    for model in sorted(results.model.unique()) if not results.empty else []:
        head = _main_head(results, model)
        part = tables.baseline(results)
        part = part[(part.model == model) & (part["head"] == head)]
        for train, test in part[["train", "test"]].drop_duplicates().itertuples(index=False):
            try:
                if tables.confusion_counts(results, runs.records, model, head, train, test) is not None:
                    pairs.append((train, test))
            except ValueError:
                continue  # counts that cannot be shown (the report says why where the matrix would be)
    return sorted(set(pairs))


def check_confusion_cells(runs: Runs, chosen: list[tuple[str, str]], results_dir=None) -> None:
    """Refuse ``--confusion`` cells no run can show (a typo, a pair never run), before any report is written."""
    from sergen.errors import SergenError

    available = confusion_pairs(runs)
    unknown = [cell for cell in chosen if cell not in available]
    if not unknown:
        return
    shown = ", ".join(f"{t}:{s}" for t, s in available[:30]) + (" …" if len(available) > 30 else "")
    raise SergenError(f"--confusion {', '.join(f'{t}:{s}' for t, s in unknown)}: no fresh baseline run trained on "
                      f"{'that' if len(unknown) == 1 else 'those'} and tested there (true labels, no augmentation, "
                      "each model's main head); nothing was written",
                      where=str(runs_dir(results_dir)),
                      fix=(f"choose among {shown}" if available else
                           "run `sergen probe --train TRAIN --test TEST` (or a grid) first, then ask again")
                      + ("; --confusion chooses among the poster's protocol (4 classes, each corpus's own split): "
                         "runs of other protocols show each corpus's own confusion matrix in their section"
                         if not is_poster_protocol(with_protocol_columns(runs.rows)).all() else ""))


def store_warning(problems: list[StoreProblem]) -> list[str]:
    """Fresh runs whose stores are damaged now, or whose manifest was edited since: shown, never passed over."""
    if not problems:
        return []
    n_runs = len({run for p in problems for run in p.runs})
    lines = [f"**Warning: {n_runs} of these run(s) read {len(problems)} store(s) that changed without being "
             "rebuilt** — the numbers below come from the stores as they were when the runs read them, and "
             "cannot be reproduced from the stores as they are now:", ""]
    lines += [f"- `{p.store}` ({len(p.runs)} run(s)): {p.problem}; fix: {p.fix}" for p in problems]
    return lines + [""]


def poster_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of the poster's protocol (4 classes, each corpus's own split), the protocol columns filled in
    for rows of an older sergen."""
    rows = with_protocol_columns(rows)
    return rows[is_poster_protocol(rows)]


def by_layer(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows whose model is named with its layer where it is not the default (``wavlm-large (layer 12)``,
    ``… (layer weighted)``): the poster's tables group by model and head, and a layer sweep or a weighted run
    must get its own rows there, never be averaged into the default layer's."""
    layer = rows["layer"].astype(str) if "layer" in rows else pd.Series("-", index=rows.index)
    named = rows["model"].where(layer == "-", rows["model"] + " (layer " + layer + ")")
    settings = rows["settings"].fillna("").astype(str) if "settings" in rows else pd.Series("", index=rows.index)
    named = named.where(settings == "", named + " [" + settings + "]")  # other stream or training settings
    return rows.assign(model=named)


def _main_head(results: pd.DataFrame, model: str) -> str:
    heads = sorted(results[results.model == model]["head"].unique())
    return "mlp" if "mlp" in heads else heads[0]


def poster_sections(results: pd.DataFrame, runs: Runs, fig_dir: Path, synthetic: bool,
                    confusion: list[tuple[str, str]]) -> tuple[list[str], Path | None]:
    """The poster's tables, heatmaps, confusion matrices and validation curves, from the runs of its
    protocol; with the main heatmap's path."""
    lines = []
    absent = tables.absent_classes(results)
    if absent:
        lines += ["**Test splits missing whole classes** (macro AUROC, F1, AP and UAR there average over the "
                  "classes present only): " + "; ".join(f"{t}: no {a}" for t, a in absent.items()) + ".", ""]

    lines += ["## Intra-corpus baselines", "",
              "Trained and tested on the same corpus (true labels, no augmentation). `poster …` columns: the "
              "poster's numbers for the same model, head and corpus, where the poster has them.", ""]
    for corpus in tables.corpus_order(results.test.unique()):
        table = tables.intra_table(results, corpus)
        if not table.empty:
            note = [f"Test split without {absent[corpus]}.", ""] if corpus in absent else []
            lines += [f"### {corpus}", "", *note, _md(table), ""]

    lines += ["## Cross-corpus AUROC (single training corpus)", "",
              "Rows: the training corpus; columns: the test corpus. The diagonal is within-corpus.", ""]
    main_png = None
    # the poster's main head (MLP 128x256) first, so it gives the report's main figure
    for (model, head), _ in sorted(results.groupby(["model", "head"]), key=lambda g: (g[0][1] != "mlp", g[0][0])):
        matrix = tables.cross_matrix(results, model, head)
        if matrix.empty:
            continue
        png = figures.heatmap(matrix, fig_dir / f"cross_{model}_{head}.png",
                              f"{model} · {head} · AUROC" + (" · synthetic demo" if synthetic else ""),
                              cells=tables.cross_cells(results, model, head, sep="\n"))
        main_png = main_png or png
        lines += [f"### {model} · {head}", "", f"![cross-corpus AUROC {model} {head}](figures/{png.name})", "",
                  _md(tables.cross_cells(results, model, head), index=True), ""]

    lines += ["## Multi-corpora training", "",
              "AUROC of heads trained on several corpora at once, and the difference from each test corpus's "
              "own single-corpus model.", ""]
    for (model, head), _ in results.groupby(["model", "head"]):
        table = tables.multi_table(results, model, head)
        if not table.empty:
            lines += [f"### {model} · {head}", "", _md(table), ""]

    lines += ["## Augmentation share × scrambled labels", "",
              "As in the poster's findings table: AUROC of the multi-corpus model on each of its training corpora "
              "minus that corpus's single-corpus baseline. If scrambled labels (each corpus with its own "
              "permutation) score like true labels, classes are fragmented per corpus.", ""]
    any_aug = False
    for (model, head), _ in results.groupby(["model", "head"]):
        table, train = tables.aug_scramble_table(results, model, head)
        if table.empty:
            continue
        any_aug = True
        png = figures.plot_lines(table, fig_dir / f"aug_scramble_{model}_{head}.png",
                                 f"{model} · {head} · trained on {train}", "AUROC − single-corpus AUROC")
        cells, _ = tables.aug_scramble_table(results, model, head, as_text=True)
        lines += [f"### {model} · {head} · trained on {train}", "", f"![augmentation × scramble](figures/{png.name})",
                  "", "Intervals: the multi-corpus run's bootstrap interval minus the single-corpus baseline's mean.",
                  "", _md(cells.rename_axis("aug share"), index=True), ""]
    if not any_aug:
        lines += ["No multi-corpus runs in these results.", ""]

    lines += confusion_section(results, runs, fig_dir, synthetic, list(confusion))
    lines += validation_section(results, runs, fig_dir)
    return lines, main_png


def build_report(results_dir=None, out=None, title: str = "sergen report", runs: Runs | None = None,
                 confusion: list[tuple[str, str]] = (), problems: list[StoreProblem] | None = None) -> Path:
    """``runs``: the folder's runs already loaded (``sergen.results.load_runs``), else loaded here;
    ``confusion``: (train, test) cells whose confusion matrices to show beside the ones chosen here;
    ``problems``: ``store_problems(runs.records)`` when already computed."""
    results_dir = Path(results_dir or data_dir("results"))
    if out is None:
        check_writable(data_dir("reports"), "reports folder")
        out = data_dir("reports") / "latest"
    out = Path(out)
    check_writable(out, "report folder", elsewhere="give another --out")
    runs = runs or load_runs(results_dir)
    if runs.rows.empty:
        from sergen.errors import SergenError

        raise SergenError("no fresh results to report" + (f" ({len(runs.stale)} stale run(s), "
                                                          f"{len(runs.skipped)} unreadable file(s))"
                                                          if runs.stale or runs.skipped else ""),
                          where=str(runs_dir(results_dir)),
                          fix="run `sergen probe …` or `sergen grid …` (a grid reruns stale runs)")
    problems = store_problems(runs.records) if problems is None else problems
    with staged_report(out) as staging:
        _write_report(results_dir, staging, title, runs, confusion, problems)
    return out / "report.md"


def _write_report(results_dir: Path, out: Path, title: str, runs: Runs, confusion, problems) -> None:
    """The report's files, written into ``out`` (a staging folder: see ``sergen.report.outputs``)."""
    every_row = with_protocol_columns(runs.rows)
    results = every_row[is_poster_protocol(every_row)]
    others = every_row[~is_poster_protocol(every_row)]
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    synthetic = bool(every_row.synthetic.astype(bool).any())
    lines = [f"# {title}", ""]
    if synthetic:
        lines += [SYNTHETIC_BANNER, ""]
    versions = sorted(every_row.sergen_version.astype(str).unique())
    lines += [f"Made {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by sergen {sergen.__version__} from "
              f"{every_row.run_id.nunique()} fresh probe runs in `{results_dir}` "
              f"(models: {', '.join(sorted(every_row.model.unique()))}; "
              f"heads: {', '.join(sorted(every_row['head'].unique()))}; "
              f"seeds: {', '.join(map(str, sorted(every_row.seed.unique())))}; "
              f"runs made by sergen {', '.join(versions)}). "
              + ("Every run read the stores as they are now (their fingerprints match, none is damaged, no manifest "
                 "was edited since). " if not problems else "Every run read the stores at their current versions "
                 "(their fingerprints match), but see the warning below. ")
              + (POSTER_SPLITS + tables.SPREAD_LEGEND if others.empty else
                 f"{results.run_id.nunique()} of them are of the poster's protocol (its 4 classes, each corpus's own "
                 f"split), in the poster's tables below; {others.run_id.nunique()} of other protocols, under "
                 "\"Other protocols\", each section with its classes, folds and what its spread is over. In the "
                 "poster's tables: " + POSTER_SPLITS[0].lower() + POSTER_SPLITS[1:] + tables.SPREAD_LEGEND), ""]
    if uses_transductive_norm(every_row):
        lines += [f"> **Transductive runs.** {TRANSDUCTIVE_NOTE}", ""]
    lines += store_warning(problems)
    lines += left_out(runs)
    if results.empty:
        lines += ["No runs of the poster's protocol (its 4 classes, each corpus's own split) in these results: its "
                  "tables are left out.", ""]
        main_png = None
    else:
        poster, main_png = poster_sections(by_layer(results), runs, fig_dir, synthetic, list(confusion))
        lines += poster
    lines += protocol_sections(others, runs.records, fig_dir)
    lines += remedy_section(every_row, runs.records, results_dir)
    lines += calibration_section(results, fig_dir, results_dir, synthetic)
    lines += layer_section(every_row, fig_dir, synthetic)
    lines += leaderboard_section(every_row)
    lines += emobox_cross_section(every_row)

    frag_root = results_dir / "fragmentation"
    frag_dirs = sorted(p for p in frag_root.glob("*") if (p / "fragmentation.csv").exists())
    lines += ["## Fragmentation", ""]
    if not frag_dirs:
        lines += ["No fragmentation analysis yet (`sergen analyze fragmentation --model M`).", ""]
    for d in frag_dirs:
        summary = pd.read_csv(d / "fragmentation.csv")
        for png in ("projection.png", "centroid_similarity.png"):
            (fig_dir / f"frag_{d.name}_{png}").write_bytes((d / png).read_bytes())
        lines += [f"### {d.name}", "", _md(summary), "",
                  f"![projection](figures/frag_{d.name}_projection.png)",
                  f"![centroid similarity](figures/frag_{d.name}_centroid_similarity.png)", ""]
    (out / "report.md").write_text("\n".join(lines))
    if main_png:
        (out / "main_heatmap.png").write_bytes(main_png.read_bytes())

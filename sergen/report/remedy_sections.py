"""The report's remedy comparison and layer sweeps: Markdown sections for ``report.md`` and the short
version ``sergen report`` prints (lines of at most 80 columns, so a pipe or a narrow terminal cuts nothing)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd

from sergen.report import figures
from sergen.report.layers import layer_sweeps
from sergen.report.remedies import (MEASURES, TRANSDUCTIVE_CONSOLE, TRANSDUCTIVE_NOTE, comparison_table,
                                    measure_label, remedy_comparisons, uses_transductive_norm)
from sergen.report.tables import markdown_table

INTRO = ("Each remedy beside its baseline: the runs that differ from it in that option only (`--norm global`, "
         "`--head mlp`, `--pool mean`, the default layer), with the same model, training set, protocol, "
         "augmentation share and seeds asked. Each figure is the mean ± sd over seeds (n = seeds; folds averaged "
         "first); the difference is remedy − baseline. AUROC on the training corpora is over their held-out test "
         "splits; off the diagonal, over the test corpora outside the training set (named; none when the training "
         "set covers every test corpus). The scrambled-label gap is true − scrambled AUROC on the training "
         "corpora, for the seeds run both ways: a wider gap means the head could memorise fewer corpus-specific "
         "classes. Fragmentation of the head's 256-unit hidden features on held-out utterances of the training "
         "corpora (multi-corpus MLP heads only): corpus-ID accuracy of a logistic regression (chance 1/number of "
         "corpora), and silhouettes by class and by corpus (a seeded sample of at most 1,000 utterances; runs of "
         "an older sergen did not record them: –). A difference no larger than the seeds' spread (the larger sd "
         "of the two sides), or from a side with one seed, is read as unchanged within spread.")


PAIRED_NOTE = (" Where both sides kept per-utterance scores, off-diagonal AUROC is instead compared by paired tests "
               "on the test utterances both scored (per seed and test corpus: the difference, its paired-bootstrap "
               "95% interval, an approximate-randomisation p, Holm-corrected across the comparison's rows; "
               "`sergen compare RUN_A RUN_B` gives the same for any two runs), not by the seeds' spread.")


def remedy_section(rows: pd.DataFrame, records: dict, results_dir=None) -> list[str]:
    """``## Remedies against their baselines`` (nothing when no run used a remedy); where both sides kept
    per-utterance scores, the AUROC verdict is from paired tests (``sergen.report.paired_sections``)."""
    from sergen.report.paired_sections import markdown_rows, paired_table, paired_verdict

    comparisons = remedy_comparisons(rows, records)
    if not comparisons:
        return []
    lines = ["## Remedies against their baselines", "", INTRO + PAIRED_NOTE, ""]
    if uses_transductive_norm(rows):
        lines += [f"> {TRANSDUCTIVE_NOTE}", ""]
    cache: dict = {}
    for c in comparisons:
        lines += [f"### {c.title}: {c.remedy_name} against {c.baseline_name}", ""]
        if c.hint:
            lines += [f"No baseline runs ({c.baseline_name}) to compare with; make them with `{c.hint}`.", ""]
        lines += [markdown_table(comparison_table(c)), ""]
        paired = paired_table(c.remedy_rows, c.baseline_rows, c.outside, results_dir, cache=cache)
        if paired.empty:
            lines += [f"**Verdict:** {c.verdict()}.", ""]
            continue
        lines += [markdown_table(markdown_rows(paired)), "",
                  f"**Verdict:** {c._fragmentation() if c.baseline else c.verdict()}, {paired_verdict(paired)}.", ""]
    return lines


def layer_section(rows: pd.DataFrame, fig_dir: Path, synthetic: bool) -> list[str]:
    """``## AUROC per layer`` with a figure and a table per sweep (nothing without a sweep)."""
    sweeps = layer_sweeps(rows)
    if not sweeps:
        return []
    lines = ["## AUROC per layer", "",
             "Runs of one model, training set and head on several stored layers (true labels, no augmentation): "
             "within-corpus AUROC (test corpora in the training set) and cross-corpus AUROC (the mean over test "
             "corpora outside it), each the mean ± sd over seeds (n = seeds; folds averaged first).", ""]
    for k, sweep in enumerate(sweeps):
        png = figures.plot_layers(sweep.means(), fig_dir / f"layers_{k}_{sweep.context['model']}.png",
                                  sweep.title + (" · synthetic demo" if synthetic else ""))
        lines += [f"### {sweep.title}", "", f"![AUROC per layer](figures/{png.name})", "",
                  markdown_table(sweep.table()), ""]
    return lines


def wrap_console(text: str, indent: str = "", width: int = 80) -> list[str]:
    """``text`` as console lines of at most ``width`` columns, continuation lines indented two more."""
    return textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent + "  ",
                         break_on_hyphens=False) or [indent]


def shell_lines(command: str, indent: str = "    ", width: int = 80) -> list[str]:
    """A command cut into lines that a shell joins back (each but the last ends in `` \\``), so it can be
    copied whole from a narrow terminal."""
    lines = textwrap.wrap(command, width=width - 2, initial_indent=indent, subsequent_indent=indent + "  ",
                          break_long_words=False, break_on_hyphens=False)
    return [line + " \\" for line in lines[:-1]] + lines[-1:]


def console_lines(rows: pd.DataFrame, records: dict, width: int = 80) -> list[str]:
    """The remedy comparison as ``sergen report`` prints it: per comparison a title, a compact table and the
    verdict; with the transductive note where ``--norm corpus|speaker`` runs appear. No line is wider than
    ``width``."""
    lines = []
    if uses_transductive_norm(rows):
        lines += wrap_console(TRANSDUCTIVE_CONSOLE, width=width)
    comparisons = remedy_comparisons(rows, records)
    if not comparisons:
        return lines
    lines += wrap_console("remedies against their baselines (mean±sd over seeds (n); diff: remedy − baseline):",
                          width=width)
    for c in comparisons:
        lines += wrap_console(f"{c.title}: {c.remedy_name} against {c.baseline_name}", width=width)
        if c.hint:
            lines += ["  no baseline runs; make them with:", *shell_lines(c.hint, width=width)]
            continue
        lines.append(f"  {'':<19} {'remedy':<17} {'baseline':<17} {'diff':>7}")
        for key, _, _ in MEASURES:
            a, b, diff = c.remedy.get(key), c.baseline.get(key), c.difference(key)
            if a is None and b is None:
                continue
            shown = [s.text(compact=True) if s else "–" for s in (a, b)] + [f"{diff:+.3f}" if diff is not None else "–"]
            lines.append(f"  {measure_label(c, key, short=True):<19} {shown[0]:<17} {shown[1]:<17} {shown[2]:>7}")
        lines += wrap_console(f"off-diagonal: {', '.join(c.outside) or 'none (every test corpus is in training)'}",
                              indent="  ", width=width)
        if c.n_corpora > 1 and c.remedy.get("corpus_id"):
            lines.append(f"  corpus-ID chance: {1 / c.n_corpora:.2f}")
        lines += wrap_console(f"verdict: {c.verdict()}", indent="  ", width=width)
    return lines

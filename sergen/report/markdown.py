"""``sergen report``: one Markdown file with the poster's tables, heatmaps and the fragmentation figures."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

import sergen
from sergen.config import data_dir
from sergen.experiments.probe import load_results
from sergen.report import figures, tables

SYNTHETIC_BANNER = ("> **Synthetic data.** These results come from sergen's synthetic demo corpora (made by "
                    "`sergen demo-data`), not from real emotional speech. They show what the pipeline computes; "
                    "they say nothing about the real corpora. Poster numbers are shown for orientation only.")


def _md(df: pd.DataFrame, index: bool = False) -> str:
    """Markdown table, numbers to two decimals, absent cells as a dash."""
    shown = df.map(lambda v: "–" if isinstance(v, float) and pd.isna(v) else f"{v:.2f}" if isinstance(v, float) else v)
    return shown.to_markdown(index=index, stralign="right", disable_numparse=True)


def build_report(results_dir=None, out=None, title: str = "sergen report") -> Path:
    results_dir = Path(results_dir or data_dir("results"))
    out = Path(out or data_dir("reports") / "latest")
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    results = load_results(results_dir)
    synthetic = bool(results.synthetic.astype(bool).any())
    lines = [f"# {title}", ""]
    if synthetic:
        lines += [SYNTHETIC_BANNER, ""]
    lines += [f"Made {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by sergen {sergen.__version__} from "
              f"{results.run_id.nunique()} probe runs in `{results_dir}` "
              f"(models: {', '.join(sorted(results.model.unique()))}; heads: {', '.join(sorted(results['head'].unique()))}; "
              f"seeds: {', '.join(map(str, sorted(results.seed.unique())))}). Values are means over seeds; "
              "test sets are each corpus's held-out test split; validation (early stopping) uses the training "
              "corpora's valid splits.", ""]

    lines += ["## Intra-corpus baselines", "",
              "Trained and tested on the same corpus (true labels, no augmentation). `poster …` columns: the "
              "poster's numbers for the same model, head and corpus, where the poster has them.", ""]
    for corpus in tables.corpus_order(results.test.unique()):
        table = tables.intra_table(results, corpus)
        if not table.empty:
            lines += [f"### {corpus}", "", _md(table), ""]

    lines += ["## Cross-corpus AUROC (single training corpus)", "",
              "Rows: the training corpus; columns: the test corpus. The diagonal is within-corpus.", ""]
    main_png = None
    # the poster's main head (MLP 128x256) first, so it gives the report's main figure
    for (model, head), _ in sorted(results.groupby(["model", "head"]), key=lambda g: (g[0][1] != "mlp", g[0][0])):
        matrix = tables.cross_matrix(results, model, head)
        if matrix.empty:
            continue
        png = figures.heatmap(matrix, fig_dir / f"cross_{model}_{head}.png",
                              f"{model} · {head} · AUROC" + (" · synthetic demo" if synthetic else ""))
        main_png = main_png or png
        lines += [f"### {model} · {head}", "", f"![cross-corpus AUROC {model} {head}](figures/{png.name})", "",
                  _md(matrix, index=True), ""]

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
        lines += [f"### {model} · {head} · trained on {train}", "", f"![augmentation × scramble](figures/{png.name})",
                  "", _md(table.rename_axis("aug share"), index=True), ""]
    if not any_aug:
        lines += ["No multi-corpus runs in these results.", ""]

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
    report = out / "report.md"
    report.write_text("\n".join(lines))
    if main_png:
        (out / "main_heatmap.png").write_bytes(main_png.read_bytes())
    return report

"""Commands about experiments: probe, grid, fragmentation analysis, report."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from sergen.cli import validate as check
from sergen.cli.app import app
from sergen.console import console, err_console
from sergen.errors import SergenError

def _floats(spec: str) -> list[float]:
    return [float(v) for v in spec.split(",") if v.strip()]


def _bools(spec: str) -> list[bool]:
    table = {"no": False, "false": False, "0": False, "yes": True, "true": True, "1": True}
    try:
        return [table[v.strip().lower()] for v in spec.split(",")]
    except KeyError:
        raise SergenError(f"--scramble takes no, yes or no,yes; got {spec!r}") from None


def results_table(results, title: str) -> Table:
    from sergen.train.metrics import METRICS

    table = Table(title=title)
    table.add_column("test")
    table.add_column("AUROC", justify="right")
    table.add_column("95% CI", justify="right")
    for metric in METRICS[1:]:
        table.add_column(metric.upper(), justify="right")
    for test, part in results.groupby("test", sort=False):
        value = {m: part[part.metric == m].iloc[0] for m in METRICS}
        auroc = value["auroc"]
        table.add_row(test + (" *" if part.in_training.iloc[0] else ""), f"{auroc.value:.2f}",
                      f"{auroc.ci_low:.2f}–{auroc.ci_high:.2f}", *[f"{value[m].value:.2f}" for m in METRICS[1:]])
    return table


@app.command()
def probe(
    model: str = typer.Option(..., help="extractor whose stores to use"),
    train: str = typer.Option(..., help="corpus, a,b (union), or all", callback=check.names),
    test: str = typer.Option("all", help="corpora to test on, or all", callback=check.names),
    head: str = typer.Option("mlp", help="linear or mlp (128x256)"),
    seed: int = typer.Option(0, callback=check.non_negative_int),
    scramble: bool = typer.Option(False, help="permute each training corpus's labels (fragmentation test)"),
    aug_share: float = typer.Option(0.0, help="probability of drawing an augmented view", callback=check.probability),
    layer: str = typer.Option("-", help="layer of a multi-layer store (default: the last stored)",
                              callback=check.layer),
):
    """Train a head on one or more corpora and test it on every corpus's test split."""
    from sergen.experiments.probe import resolve_spec, run_probe, save_run
    from sergen.train.heads import HEADS
    from sergen.train.sampler import SamplerConfig

    head = HEADS.canonical(head)
    spec = resolve_spec(model, train, test, head=head, seed=seed, scramble=scramble, aug_share=aug_share, layer=layer,
                        sampler=SamplerConfig(aug_share=aug_share))
    with err_console.status(f"training {head} on {spec.train_name} …"):
        results = run_probe(spec)
    path = save_run(spec, results)
    title = (f"{spec.model} · {head} · trained on {spec.train_name}" + (" · scrambled" if scramble else "")
             + f" · {results.steps.iloc[0]} steps" + (" · SYNTHETIC demo data" if results.synthetic.any() else ""))
    console.print(results_table(results, title))
    console.print("* = corpus in training (its held-out test split); CI = bootstrap 95% interval of AUROC")
    console.print(f"results: {path}")


@app.command()
def grid(
    models: str = typer.Option(..., help="comma-separated extractor names", callback=check.names),
    train: str = typer.Option("each,all", help="each, all, a+b … comma-separated", callback=check.names),
    test: str = typer.Option("all", callback=check.names),
    heads: str = typer.Option("linear,mlp", callback=check.names),
    seeds: str = typer.Option("0", callback=check.seeds),
    scramble: str = typer.Option("no", help="no, yes, or no,yes"),
    aug_share: str = typer.Option("0", help="e.g. 0,0.25,0.5,0.75,1", callback=check.probabilities),
    workers: int = typer.Option(2, help="worker processes", callback=check.positive_int),
    scheduler: Optional[str] = typer.Option(None, help="run on Dask instead: local, local:N, or tcp://HOST:PORT",
                                            callback=check.scheduler),
):
    """Every combination, in parallel, resumable; writes tidy results and train × test AUROC matrices."""
    from sergen.experiments.grid import auroc_matrices, grid_specs, run_grid
    from sergen.train.heads import HEADS

    specs = grid_specs([m.strip() for m in models.split(",")], train, test,
                       heads=[HEADS.canonical(h) for h in heads.split(",")],
                       seeds=[int(s) for s in seeds.split(",")], scrambles=_bools(scramble),
                       aug_shares=_floats(aug_share))
    console.print(f"{len(specs)} combinations")
    results = run_grid(specs, workers=workers, scheduler=scheduler)
    for name, path in auroc_matrices(results).items():
        console.print(f"matrix {name}: {path}")


analyze_app = typer.Typer(no_args_is_help=True, help="Analyses of the embedding spaces.")
app.add_typer(analyze_app, name="analyze")


@analyze_app.command("fragmentation")
def analyze_fragmentation(
    model: str = typer.Option(...),
    corpora: str = typer.Option("all", help="comma-separated corpora, or all", callback=check.names),
    method: str = typer.Option("pca", help="pca or umap (needs umap-learn)", callback=check.projection_method),
    seed: int = typer.Option(0, callback=check.non_negative_int),
):
    """Emotion or corpus: which organises this embedding space? Probes, centroid similarity, silhouettes, 2-D map."""
    from sergen.config import data_dir
    from sergen.experiments.fragmentation import analyse_stores, save_fragmentation
    from sergen.experiments.probe import resolve_spec

    spec = resolve_spec(model, corpora, corpora)
    with err_console.status("analysing …"):
        result = analyse_stores(spec.model, list(spec.train), seed=seed, method=method)
    paths = save_fragmentation(result, data_dir("results") / "fragmentation" / spec.model,
                               f"{spec.model} · {', '.join(spec.train)}")
    table = Table("metric", "value", title=f"fragmentation · {spec.model}")
    for row in result.summary.itertuples():
        table.add_row(row.metric, f"{row.value:.3f}")
    console.print(table)
    for name, path in paths.items():
        console.print(f"{name}: {path}")


@app.command()
def report(
    results: Optional[Path] = typer.Option(None, help="results folder (default results/)", callback=check.existing_dir),
    out: Optional[Path] = typer.Option(None, help="report folder (default reports/latest)", callback=check.new_or_dir),
):
    """Write a Markdown report with the poster's tables, heatmaps and fragmentation figures."""
    from sergen.report.markdown import build_report

    path = build_report(results, out)
    console.print(f"report: [bold]{path}[/]")

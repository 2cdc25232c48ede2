"""``sergen compare RUN_A RUN_B``: the paired test of two runs on the test utterances both scored."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from sergen.cli import validate as check
from sergen.cli.app import app, fitted_table, print_json
from sergen.console import console
from sergen.errors import SergenError
from sergen.train.metrics import metric_choices


@app.command()
def compare(
    run_a: str = typer.Argument(..., help="run id (file name in results/runs without .csv)"),
    run_b: str = typer.Argument(..., help="the run to compare it with, on the same test utterances"),
    metric: str = typer.Option("uar", help=f"the metric compared — {metric_choices()}", callback=check.metric),
    resamples: int = typer.Option(2000, help="bootstrap and randomisation resamples (100 to 100000)"),
    seed: int = typer.Option(0, help="seed of the resampling"),
    results: Optional[Path] = typer.Option(None, help="results folder (default results/)", callback=check.existing_dir),
    json: bool = typer.Option(False, "--json", help="print the table as JSON"),
):
    """Is A better than B? Per shared test corpus: the metric's difference A − B, its paired-bootstrap 95 %
    interval, a two-sided p-value (approximate randomisation) and Holm's correction across the corpora."""
    from sergen.experiments.compare import compare_runs

    if not 100 <= resamples <= 100_000:
        raise SergenError(f"--resamples {resamples} is out of range", fix="give 100 to 100000 (2000 is the default)")
    table = compare_runs(run_a, run_b, metric=metric, results_dir=results, n_resamples=resamples, seed=seed)
    if json:
        print_json({"run_a": run_a, "run_b": run_b, "metric": metric, "resamples": resamples,
                    "rows": table.to_dict(orient="records")})
        return
    rows = [[r.test, str(r.n), f"{r.value_a:.3f}", f"{r.value_b:.3f}", f"{r.difference:+.3f}",
             f"[{r.low:+.3f}, {r.high:+.3f}]", f"{r.p:.3g}", f"{r.p_holm:.3g}"] for r in table.itertuples()]
    shown, _ = fitted_table(["test", "shared", "A", "B", "A − B", "95% interval", "p", "p (Holm)"], rows, keys=1,
                            droppable=[], width=console.width)
    console.print(shown)
    console.print(f"{metric}: A = {run_a}, B = {run_b}; paired bootstrap interval and approximate-randomisation "
                  f"p over {resamples} resamples; Holm across the {len(table)} corpora", highlight=False)

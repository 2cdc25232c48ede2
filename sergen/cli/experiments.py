"""Commands about experiments: probe, grid, fragmentation analysis, report."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from sergen.cli import validate as check
from sergen.cli.app import app, fitted_table, keep_keys_whole, print_json
from sergen.cli.run_options import allowed, with_run_options
from sergen.cli.scope import test_scope_note, unique_items
from sergen.console import console, err_console
from sergen.errors import SergenError
from sergen.spec import OPTIONS, grid_keys, probe_keys

def _check_manifests_folder(missing_too: bool = True) -> None:
    from sergen.experiments.protocol_join import check_chosen_manifests_folder

    check_chosen_manifests_folder(missing_too)


def _floats(spec: str) -> list[float]:
    return [float(v) for v in spec.split(",") if v.strip()]


def _bools(spec: str) -> list[bool]:
    table = {"no": False, "false": False, "0": False, "yes": True, "true": True, "1": True}
    try:
        return [table[v.strip().lower()] for v in spec.split(",")]
    except KeyError:
        raise SergenError(f"--scramble takes no, yes or no,yes; got {spec!r}") from None


def results_table(results, title: str) -> Table:
    """One run's metrics per test corpus; the classes absent from a test split in a last column where the
    width allows (in a pipe it does not: ``absent_note`` names them below the table)."""
    from sergen.train.metrics import METRICS

    absent = results.absent_classes.fillna("").astype(str).str.replace(",", ", ")
    show_absent = bool(absent.str.len().any())
    others = [m for m in METRICS.all() if m.name != "auroc"]  # AUROC first, with its interval
    headers = ["test", "AUROC", "95% CI", *[m.title for m in others], *(["absent from test"] * show_absent)]
    rows = []
    for test, part in results.groupby("test", sort=False):
        value = {m: part[part.metric == m].iloc[0] for m in METRICS}
        auroc = value["auroc"]
        missing = [absent[part.index[0]]] if show_absent else []
        rows.append([test + (" *" if part.in_training.iloc[0] else ""), f"{auroc.value:.2f}",
                     f"{auroc.ci_low:.2f}–{auroc.ci_high:.2f}", *[f"{value[m.name].value:.2f}" for m in others],
                     *missing])
    table, _ = fitted_table(headers, rows, 1, ["absent from test"], console.width)
    for column in table.columns[1:]:
        if column.header != "absent from test":
            column.justify = "right"
    table.title = title
    return table


def protocol_name(spec) -> str:
    from sergen.experiments.probe import shown_labels

    if spec.protocol:
        return spec.protocol
    return {"4": "the poster's four", "native": "each corpus's own, shared by all"}.get(spec.labels,
                                                                                       shown_labels(spec.labels))


def protocol_note(record) -> str | None:
    """A line naming the classes a cross-corpus run left out because not every corpus has them."""
    if not record.left_out:
        return None
    return ("left out (classes not shared by every corpus of the run, unless marked): " + "; ".join(
        f"{c}: " + ", ".join(f"{k} ({n})" for k, n in classes.items()) for c, classes in record.left_out.items()))


def say(text: str, to=None, style: str | None = None) -> None:
    """Print a line of prose folded at word boundaries to the console's width (80 in a pipe): every figure
    stays whole and on the screen, none runs off to the right."""
    (to or console).print(text, style=style, markup=False, highlight=False, soft_wrap=False)


def fitted_title(parts: list[str], width: int, sep: str = " · ") -> str:
    """A table title of ``parts`` joined by ``sep``, broken into lines between parts where it would pass
    ``width`` (rich leaves a title unbroken, and a pipe's width is 80)."""
    lines = [parts[0]]
    for part in parts[1:]:
        if len(lines[-1]) + len(sep) + len(part) <= width:
            lines[-1] += sep + part
        else:
            lines.append(part)
    return "\n".join(lines)


def say_path(label: str, path: Path, end: str = "") -> None:
    """``label PATH``, the path never broken: on its own line, whole, where the two do not fit the width."""
    shown = shown_path(path) + end
    if len(label) + 1 + len(shown) <= console.width:
        say(f"{label} {shown}")
    else:
        say(label)
        console.print(shown, markup=False, highlight=False, soft_wrap=True)


def shown_path(path: Path) -> str:
    """A path as short as it reads unambiguously: relative to the working folder when it lies below it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def norm_note(spec) -> str | None:
    """Say where test statistics came from test data (transductive), as the run's normalisation words it."""
    from sergen.train.norms import norm_strategy

    return norm_strategy(spec.norm).transductive_note(spec.train, spec.test)


def fold_summary(results):
    """Mean and standard deviation (ddof 1) over folds of each layer, test corpus and metric."""
    grouped = results.groupby(["layer", "test", "metric"], sort=False)["value"]
    out = grouped.agg(["mean", "std", "count"]).reset_index()
    return out.rename(columns={"count": "folds"})


def fold_summary_table(results, n_folds: int) -> Table:
    from sergen.train.metrics import METRICS

    summary = fold_summary(results)
    layered = summary.layer.nunique() > 1
    table = Table(title=f"mean ± std over {n_folds} folds")
    if layered:
        table.add_column("layer")
    table.add_column("test")
    for metric in METRICS.all():
        table.add_column(metric.title, justify="right")
    for (layer, test), part in summary.groupby(["layer", "test"], sort=False):
        cells = part.set_index("metric")
        table.add_row(*([str(layer)] if layered else []), test,  # mean and spread fold apart where narrow
                      *[f"{cells.loc[m, 'mean']:.2f} ±{cells.loc[m, 'std']:.2f}" for m in METRICS])
    return keep_keys_whole(table, 2 if layered else 1)


def layer_table(results) -> Table:
    """AUROC per stored layer (rows) and test corpus (columns), mean over folds: the layer-wise picture."""
    auroc = results[results.metric == "auroc"]
    matrix = auroc.pivot_table(index="layer", columns="test", values="value", aggfunc="mean", sort=False)
    matrix = matrix.loc[sorted(matrix.index, key=int)]
    table = Table(title="AUROC per layer")
    table.add_column("layer", justify="right")
    for test in matrix.columns:
        table.add_column(test, justify="right")
    for layer, row in matrix.iterrows():
        table.add_row(str(layer), *[f"{v:.3f}" for v in row])
    return table


def layer_weights_line(weights: dict[str, float], runs: int = 1, width: int = 80) -> str:
    """Learned layer weights (the mean over ``runs`` folds) in one line of at most ``width`` columns: every
    layer in stored order where they fit, else the heaviest ones."""
    head = "layer weights" + (f" (mean of {runs} folds)" if runs > 1 else "")
    line = f"{head}: " + " ".join(f"{layer}={w:.2f}" for layer, w in weights.items())
    ranked = sorted(weights.items(), key=lambda kv: -kv[1])
    for keep in range(len(ranked) - 1, 0, -1):
        if len(line) <= width:
            break
        line = (f"{head}, heaviest: " + " ".join(f"{layer}={w:.2f}" for layer, w in ranked[:keep])
                + f" (+{len(ranked) - keep} more)")
    return line


PROBE_KEYS = probe_keys()  # experiment-file keys of each command, from the run-option table (``sergen.spec``)
GRID_KEYS = grid_keys()
VALIDATORS = {o.name: getattr(check, o.check) for o in OPTIONS if o.check}
GRID_VALIDATORS = {o.grid_name: getattr(check, o.grid_check) for o in OPTIONS if o.grid_check}
ALLOWED = {o.name: allowed(o, grid=False) for o in OPTIONS}
GRID_ALLOWED = {o.grid_name: allowed(o, grid=True) for o in OPTIONS}
CONFIG_HELP = "a TOML experiment file (its values fill the options not given here)"
SET_HELP = "KEY=VALUE, e.g. sampler.mix_prob=0.3 or training.lr=0.0005 (repeatable)"


def at_default(ctx: typer.Context, name: str) -> bool:
    """Whether an option was left out of the command line (typer's click may be its own copy, so the source
    is compared by name)."""
    source = ctx.get_parameter_source(name)
    return source is None or getattr(source, "name", "") in ("DEFAULT", "DEFAULT_MAP")


def rerun_spec(path: Path, ctx: typer.Context):
    """The spec a saved run's record holds, checked as a new one would be; other options are refused (the
    record decides everything)."""
    from sergen.experiments.probe import spec_from_record

    given = [max(p.opts, key=len) for p in ctx.command.params
             if p.name not in ("rerun", "as_json") and not at_default(ctx, p.name)]  # as typed: --set, not --sets
    if given:
        raise SergenError(f"--rerun repeats a saved run exactly: {given[0]} does not apply",
                          fix="leave the other options out (or run a new probe without --rerun)")
    return spec_from_record(path)


def file_value_checked(callback, value, key: str):
    """An experiment file's (or ``--set``'s) value through its option's validator, as the command line's would go:
    the validator's answer (a choice in its canonical spelling, ``validate.one_of``), its note naming the key
    (``norm = GLOBAL read as global``). Before stop 36 the answer was dropped, so ``norm = "GLOBAL"`` passed the
    check and was then refused as an unknown normalisation."""
    from types import SimpleNamespace

    named = SimpleNamespace(opts=[f"{key} ="], param_type_name="option", name=key)
    return callback(value, None, named) if check.takes_ctx(callback) else callback(value)


def with_experiment(ctx: typer.Context, config, sets, keys: tuple[str, ...]):
    """The command's options with an experiment file's values (and ``--set``'s) where the command line
    left an option at its default; the experiment (its sampler and training configs)."""
    from sergen.experiments.experiment_file import Experiment, toml_value

    experiment = Experiment(config).apply_sets(list(sets or []))
    params = dict(ctx.params)
    for key, value in experiment.run.items():
        if key not in keys:
            other = "grid" if key in GRID_KEYS else "probe"
            raise SergenError(f"{key} is a `sergen {other}` setting; this command takes "
                              f"{', '.join(k for k in keys if k != 'n_boot')}", where=experiment.where(None, key),
                              fix=f"use `sergen {other}` with this file, or rename the key")
        if key == "n_boot":  # no option of its own: its bounds checked here (a huge count was a crash after training)
            from sergen.spec import OPTION

            problem = OPTION["n_boot"].out_of_bounds(value)
            if problem:
                raise SergenError(problem, where=experiment.where(None, key), fix=f"give n_boot as {OPTION['n_boot'].allowed}")
            continue
        if not at_default(ctx, key):
            continue  # an option given on the command line wins
        if keys is not GRID_KEYS and isinstance(value, list):
            # a key the grid shares (scramble, norm, pool): one value per probe; ``[false]`` was read as the
            # truth of a list, a scrambled run
            if len(value) != 1:
                raise SergenError(f"{key} = {toml_value(value)}: a probe runs one value of {key}; a list of them "
                                  "is the grid's", where=experiment.where(None, key),
                                  fix=f"give one value ({ALLOWED[key]}), or run `sergen grid` with this file")
            value = value[0]
        params[key] = _cli_form(key, value, as_text=keys is GRID_KEYS)
        grid = keys is GRID_KEYS
        callback = (GRID_VALIDATORS if grid else VALIDATORS).get(key)
        if callback is not None:
            try:  # read as the option is: a choice in another case in its canonical spelling, with the note
                params[key] = file_value_checked(callback, params[key], key)
            except typer.BadParameter as exc:
                raise SergenError(f"{key} = {toml_value(value)}: {exc.message}", where=experiment.where(None, key),
                                  fix=f"give {key} as {(GRID_ALLOWED if grid else ALLOWED)[key]}") from None
    from sergen.corpora.keywords import (CORPUS_LIST, KEYWORD_FORMS, TRAINING_SET, TRAINING_SETS, keyword_misuse,
                                         keywords_lowered)

    for key in ("train", "test"):  # ``--test ALL`` is ``all`` everywhere after this (the grid's ``each`` too)
        if key in params:
            params[key] = keywords_lowered(params[key])
            takes = CORPUS_LIST if key == "test" else TRAINING_SETS if keys is GRID_KEYS else TRAINING_SET
            problem = keyword_misuse(params[key], takes)
            if problem:
                from_file = at_default(ctx, key) and key in experiment.run
                raise SergenError(f"{f'{key} =' if from_file else f'--{key}'} {params[key]!r}: {problem}",
                                  where=experiment.where(None, key) if from_file else None,
                                  fix=f"give {KEYWORD_FORMS[takes]}")
    return params, experiment


LATE_CHECKED = {"layer": ("layer ", "--layer "), "head_opt": ("head_opt ", "--head-opt ")}
"""Options checked only when the specs are made (the stores' layers, the head's own hyper-parameters), by the
words their errors start with."""


@contextmanager
def layer_origin(experiment, ctx: typer.Context):
    """A layer the stores do not hold, or a head option the head does not take (checked when the specs are made),
    is named where the experiment file or ``--set`` gave it, as every other value from there is (hostile pass 37:
    a file's ``head_opt`` was named as ``--head-opt``, with no file or line)."""
    try:
        yield
    except SergenError as exc:
        key = next((k for k, words in LATE_CHECKED.items() if exc.what.startswith(words)), None)
        if key is None or key not in experiment.run or not at_default(ctx, key):
            raise
        from sergen.experiments.experiment_file import toml_value

        origin = experiment.origins.get((None, key)) or experiment.where(None, key)
        what = exc.what.replace("--head-opt ", "head_opt: ", 1) if key == "head_opt" else exc.what
        raise SergenError(what, where=f"{key} = {toml_value(experiment.run[key])} at {origin}"
                          + (f"; {exc.where}" if exc.where else ""), fix=exc.fix) from None


def _strict_bool(value, key: str) -> bool:
    """A flag's value as given (the command line's flag, or a file's true/false): never the truth of another
    value (``bool("False")`` and ``bool([False])`` are True)."""
    if not isinstance(value, bool):
        raise SergenError(f"{key} = {value!r} is not true or false", fix=f"give {key} as true or false")
    return value


def _cli_form(key: str, value, as_text: bool):
    """A file's value as the command line spells the option (``as_text``: the grid's comma lists)."""
    def one(v):
        if isinstance(v, bool):
            return ("yes" if v else "no") if as_text else v
        if isinstance(v, float):
            return f"{v:g}" if as_text else v
        return str(v) if as_text or key in ("layer",) else v

    if isinstance(value, list):
        return ",".join(str(one(v)) for v in value)
    return one(value)


def absent_note(results) -> str | None:
    """A line naming the test sets scored without some of the four classes."""
    from sergen.results import absent_by_test

    absent = absent_by_test(results)
    if not absent:
        return None
    return ("warning: " + "; ".join(f"{t} has no {', '.join(a)} in its test split" for t, a in absent.items())
            + " — macro AUROC, F1, AP and UAR there average over the classes present only")


@app.command()
@with_run_options(grid=False)
def probe(
    ctx: typer.Context,
    config: Optional[Path] = typer.Option(None, help=CONFIG_HELP),
    sets: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP),
    rerun: Optional[Path] = typer.Option(None, help="a saved run's record (results/runs/<id>.json) to repeat exactly"),
    as_json: bool = typer.Option(False, "--json", help="print the results as JSON for scripts instead of a table"),
    **options,  # the run options (``sergen.cli.run_options``), read from ``ctx.params``
):
    """Train a head on one or more corpora and test it on every corpus's test split (with --folds: one run
    per fold, then the mean and spread over folds)."""
    from sergen.config import check_cache_dir, ram_budget_mib
    from sergen.experiments.grid import check_views
    from sergen.experiments.probe import fold_specs, layer_specs, probe_run, resolve_spec, save_run
    from sergen.results import ensure_writable
    from sergen.train.heads import HEADS

    if rerun is not None:
        spec = rerun_spec(rerun, ctx)
        specs = [spec]
    else:
        p, experiment = with_experiment(ctx, config, sets, PROBE_KEYS)
        if not p["model"] or not p["train"]:
            raise SergenError("probe needs --model and --train (or model and train in --config)",
                              fix="e.g. sergen probe --model melspec --train emodb")
        with layer_origin(experiment, ctx):
            spec = resolve_spec(p["model"], p["train"], p["test"], head=HEADS.canonical(p["head"]), head_opt=p["head_opt"] or "",
                                seed=int(p["seed"]),
                                scramble=_strict_bool(p["scramble"], "scramble"), layer=str(p["layer"]),
                                aug_share=float(p["aug_share"]) or experiment.sampler.aug_share,
                                labels=p["labels"], folds=p["folds"], protocol=p["protocol"] or "", norm=p["norm"],
                                pool=p["pool"],
                                sampler=replace(experiment.sampler, aug_share=0.0), training=experiment.training,
                                n_boot=int(experiment.run.get("n_boot", 200)))
            specs = [one for by_layer in layer_specs(spec) for one in fold_specs(by_layer)]
        scope = test_scope_note(p["test"], spec.model, spec.test, spec.protocol)
        if scope:
            say(f"note: {scope}", err_console, "yellow")
    head, scramble = spec.head, spec.scramble
    check_views(specs)
    check_cache_dir()
    ram_budget_mib()  # SERGEN_RAM_MIB checked before any work, not first by a worker
    _check_manifests_folder()
    ensure_writable()
    runs, paths = [], []
    n_folds = max(s.fold for s in specs) or 1
    for one in specs:
        fold = f" (fold {one.fold} of {n_folds})" if one.folds else ""
        layer = f" (layer {one.layer})" if spec.layer in ("all", "weighted") else ""
        with err_console.status(f"training {head} on {one.train_name}{layer}{fold} …"):
            runs.append(probe_run(one))
        paths.append(save_run(runs[-1]))
    import pandas as pd

    results = pd.concat([r.rows for r in runs], ignore_index=True)
    note = absent_note(results)
    left_out = "\n".join(filter(None, [protocol_note(runs[0].record), norm_note(spec)])) or None
    if as_json:
        out = [{"run_id": s.run_id, "fold": s.fold, "results": str(p), "spec": s.as_dict(), "stores": r.record.stores,
                "classes": r.record.classes, "left_out": r.record.left_out, "layer_weights": r.record.layer_weights,
                "absent_classes": r.record.absent_classes, "confusion": r.record.confusion,
                "rows": r.rows.to_dict(orient="records")} for s, r, p in zip(specs, runs, paths)]
        print_json(out[0] if len(out) == 1 and not spec.folds and spec.layer != "all" else
                   {"runs" if spec.layer == "all" else "folds": out,
                    "summary": fold_summary(results).to_dict(orient="records")})
        for line in (note, left_out):
            if line:
                say(line, err_console, "yellow")
        return
    for one, run in zip(specs, runs):
        rows = run.rows
        parts = ([one.model, head, f"trained on {one.train_name}"] + (["scrambled"] if scramble else [])
                 + ([f"layer {one.layer}"] if spec.layer in ("all", "weighted") else [])
                 + ([f"fold {one.fold}/{n_folds} ({one.folds})"] if one.folds else [])
                 + ([f"pool {one.pool}"] if one.pool != "mean" else [])
                 + ([f"norm {one.norm}"] if one.norm != "global" else [])  # as the pool: only where not the default
                 + ([f"aug_share {one.aug_share:g}"] if one.aug_share else [])
                 + [f"{rows.steps.iloc[0]} steps"] + (["SYNTHETIC demo data"] if rows.synthetic.any() else []))
        console.print(results_table(rows, fitted_title(parts, console.width)))
    say("* = in training (its held-out test split); CI = bootstrap 95% interval of AUROC")
    if spec.folds and len(runs) > 1:  # one fold (a --rerun): its own table says it all
        console.print(fold_summary_table(results, n_folds))
    if spec.layer == "all":
        console.print(layer_table(results))
    say(f"classes ({protocol_name(spec)}): {', '.join(runs[0].record.classes)}")
    record = runs[0].record
    weighted = [r.record.layer_weights for r in runs if r.record.layer_weights]
    if weighted:  # --layer weighted (with --folds: their mean)
        mean = {k: sum(w[k] for w in weighted) / len(weighted) for k in weighted[0]}
        console.print(layer_weights_line(mean, len(weighted)), highlight=False)
    if record.corpus_id_accuracy is not None:
        own = (f"; its own discriminator: {record.discriminator_accuracy:.2f}"
               if record.discriminator_accuracy is not None else "")
        say(f"corpus read from the head's features on held-out utterances (balanced accuracy, chance "
            f"{1 / len(spec.train):.2f}): {record.corpus_id_accuracy:.2f}{own}")
    elif len(spec.train) > 1 and spec.head != "linear" and set(spec.train) - set(spec.test):
        say(f"corpus-ID accuracy of the head's features not measured: it needs the held-out test split of every "
            f"training corpus (add {', '.join(sorted(set(spec.train) - set(spec.test)))} to --test)")
    for line in (note, left_out):
        if line:
            say(line, style="yellow")
    say_path("results:" if len(paths) == 1 else f"results: {len(paths)} runs in",
             paths[0] if len(paths) == 1 else paths[0].parent)


@app.command()
@with_run_options(grid=True)
def grid(
    ctx: typer.Context,
    workers: int = typer.Option(2, help="worker processes", callback=check.worker_count),
    scheduler: Optional[str] = typer.Option(None, help="run on Dask instead: local, local:N, or tcp://HOST:PORT",
                                            callback=check.scheduler),
    config: Optional[Path] = typer.Option(None, help=CONFIG_HELP),
    sets: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP),
    as_json: bool = typer.Option(False, "--json", help="print a summary as JSON for scripts instead of text"),
    **options,  # the run options (``sergen.cli.run_options``), read from ``ctx.params``
):
    """Every combination, in parallel, resumable; writes tidy results and train × test AUROC matrices."""
    from sergen.config import check_cache_dir, ram_budget_mib
    from sergen.experiments.grid import auroc_matrices, grid_specs, plan_grid, run_grid
    from sergen.extractors import canonical_model
    from sergen.results import absent_by_test, ensure_writable, store_problems
    from sergen.train.heads import HEADS

    p, experiment = with_experiment(ctx, config, sets, GRID_KEYS)
    if not p["models"]:
        raise SergenError("grid needs --models (or models in --config)", fix="e.g. sergen grid --models melspec")
    notes: list[str] = []
    with layer_origin(experiment, ctx):
        models = unique_items([canonical_model(m.strip()) for m in p["models"].split(",")], "--models", notes)
        specs = grid_specs(models, p["train"], p["test"],
                           heads=unique_items([HEADS.canonical(h) for h in p["heads"].split(",")], "--heads", notes),
                           seeds=unique_items([int(s) for s in str(p["seeds"]).split(",")], "--seeds", notes),
                           scrambles=unique_items(_bools(str(p["scramble"])), "--scramble", notes),
                           aug_shares=unique_items(_floats(str(p["aug_share"])), "--aug-share", notes)
                           if "aug_share" in experiment.run
                           or float(experiment.sampler.aug_share) == 0 else [experiment.sampler.aug_share],
                           labels=p["labels"], folds=p["folds"], head_opt=p["head_opt"] or "",
                           protocol=p["protocol"] or "",
                           norms=unique_items([n.strip() for n in p["norm"].split(",")], "--norm", notes),
                           pools=unique_items([v.strip() for v in p["pool"].split(",")], "--pool", notes),
                           layer=str(p["layer"]), sampler=experiment.sampler, training=experiment.training,
                           n_boot=int(experiment.run.get("n_boot", 200)))
    if specs.duplicates:
        notes.append(f"{specs.duplicates} combination(s) repeat another's run id (the same training set spelt "
                     "another way): each is run once")
    for model in dict.fromkeys(s.model for s in specs):
        tested = dict.fromkeys(c for s in specs if s.model == model for c in s.test)
        notes.append(test_scope_note(p["test"], model, tested, p["protocol"] or ""))
    check_cache_dir()
    ram_budget_mib()  # SERGEN_RAM_MIB checked before any work, not first by a worker
    _check_manifests_folder()
    ensure_writable()
    plan = plan_grid(specs)
    summary_to = err_console if as_json else console
    say(f"{len(specs)} combinations: {plan.summary()}", summary_to)
    if specs.skipped_note():
        say(specs.skipped_note(), err_console, "yellow")
    for line in filter(None, notes):
        say(f"note: {line}", err_console, "yellow")
    for run_id, why in list(plan.stale.items())[:5]:
        say(f"  stale {run_id}: {why}", summary_to)
    for skipped in plan.unreadable:  # every one named, as report does
        err_console.print(f"[yellow]  unreadable result file {skipped.path}: {skipped.reason} (its run is redone)",
                          highlight=False)
    problems = store_problems(plan.reused)
    if problems:  # reused runs whose stores were damaged or relabelled since: their numbers stay, said so
        err_console.print(f"[yellow]warning: {len({r for p in problems for r in p.runs})} reused run(s) read store(s) "
                          "that changed without being rebuilt:", highlight=False)
        for problem in problems:
            err_console.print(f"[yellow]  {problem}", highlight=False)
    results = run_grid(specs, workers=workers, scheduler=scheduler)
    matrices = auroc_matrices()
    for skipped in matrices.left_out:  # files the matrices do not count (edited, copies, unreadable): named
        err_console.print(f"[yellow]  left out of the matrices: {skipped.path}: {skipped.reason}", highlight=False)
    for path in matrices.kept:
        err_console.print(f"[yellow]  {path} is not a matrix sergen wrote: left as it is, and that matrix not written "
                          "(move the file away and rerun the grid to write it)", highlight=False)
    note = absent_note(results)
    if as_json:
        print_json({"combinations": len(specs), "ran": len(plan.todo), "reused": plan.done,
                    "stale_rerun": plan.stale, "unreadable_redone": [{"path": str(u.path), "reason": u.reason} for u in plan.unreadable],
                    "store_problems": [{"store": p.store, "problem": p.problem, "fix": p.fix, "runs": p.runs}
                                       for p in problems],
                    "run_ids": [s.run_id for s in specs], "skipped": specs.skipped, "matrices": {k: str(v) for k, v in matrices.items()},
                    "matrices_not_overwritten": [str(p) for p in matrices.kept],
                    "absent_classes": absent_by_test(results)})
        if note:
            say(note, err_console, "yellow")
        _say_kept(results, specs, matrices)
        return
    if matrices:  # one line per file: a folder named with every file ran to ~130 columns
        say_path("train × test AUROC matrices in", next(iter(matrices.values())).parent, ":")
        for path in matrices.values():
            say(f"  {path.name}")
    if note:
        say(note, style="yellow")
    _say_kept(results, specs, matrices)


def _say_kept(results, specs, matrices) -> None:
    """After a reader stopped early (``sergen grid … | head``): what the grid kept, on stderr."""
    from sergen.results import matrices_dir, runs_dir

    if console.pipe_closed:
        err_console.print(f"grid kept: {results.run_id.nunique()} of {len(specs)} combination(s) saved in "
                          f"{runs_dir()}; {len(matrices)} matri(ces) in {matrices_dir()}", highlight=False)


analyze_app = typer.Typer(no_args_is_help=True, help="Analyses of the embedding spaces.")
app.add_typer(analyze_app, name="analyze")


@analyze_app.command("fragmentation")
def analyze_fragmentation(
    model: str = typer.Option(..., callback=check.model_name),
    corpora: str = typer.Option("all", help="comma-separated corpora, or all", callback=check.corpus_list),
    method: str = typer.Option("pca", help="pca or umap (needs umap-learn)", callback=check.projection_method),
    seed: int = typer.Option(0, callback=check.seed),
    labels: str = typer.Option("4", help="label set: 4 (hap/sad/neu/ang), native (each corpus's own classes), "
                               "or a CSV file native,label[,corpus]", callback=check.labels),
):
    """Emotion or corpus: which organises this embedding space? Probes, centroid similarity, silhouettes, 2-D map."""
    from sergen.config import data_dir
    from sergen.experiments.fragmentation import analyse_stores, output_name, save_fragmentation
    from sergen.experiments.probe import resolve_spec

    spec = resolve_spec(model, corpora, corpora)
    with err_console.status("analysing …"):
        result = analyse_stores(spec.model, list(spec.train), seed=seed, method=method, labels=labels)
    shown = "" if labels == "4" else f" · labels {labels if not labels.startswith('map:') else Path(labels[4:]).name}"
    paths = save_fragmentation(result, data_dir("results") / "fragmentation" / output_name(spec.model, labels),
                               f"{spec.model} · {', '.join(spec.train)}{shown}")
    if labels != "4":
        console.print(f"classes: {', '.join(result.classes)}", highlight=False)
    shared = dict(zip(result.summary.metric, result.summary.value))["centroid_sim_same_class_other_corpus"]
    if shared != shared:  # NaN: no class appears in two corpora
        err_console.print("[yellow]no class is shared by two of these corpora under this label set, so "
                          "same-class similarity across corpora is undefined (nan); a label map (--labels FILE) "
                          "gives them common classes", highlight=False)
    table = Table("metric", "value", title=f"fragmentation · {spec.model}")
    for row in result.summary.itertuples():
        table.add_row(row.metric, f"{row.value:.3f}")
    console.print(keep_keys_whole(table, 1))
    for name, path in paths.items():
        console.print(f"{name}: {path}")


def _cell(spec: str) -> tuple[str, str]:
    """``TRAIN:TEST`` → canonical corpus names (aliases resolved)."""
    from sergen.corpora import CORPUS_READERS

    train, sep, test = spec.partition(":")
    if not sep or not train.strip() or not test.strip():
        raise SergenError(f"--confusion takes TRAIN:TEST, e.g. emodb:ravdess; got {spec!r}")
    train = "+".join(CORPUS_READERS.resolve(part.strip()) for part in train.split("+"))
    return train, CORPUS_READERS.resolve(test.strip())


@app.command()
def report(
    results: Optional[Path] = typer.Option(None, help="results folder (default results/)", callback=check.existing_dir),
    out: Optional[Path] = typer.Option(None, help="report folder (default reports/latest)", callback=check.new_or_dir),
    confusion: list[str] = typer.Option([], help="also show the confusion matrix of this cell, TRAIN:TEST "
                                                 "(repeatable), e.g. emodb:ravdess", callback=check.confusion_cells),
):
    """Write a Markdown report with the poster's tables, heatmaps and fragmentation figures; runs of other
    protocols (label sets, folds, superb-er) in their own sections, beside the leaderboards they match."""
    from sergen.report.markdown import build_report, check_confusion_cells
    from sergen.report.protocols import protocol_summary
    from sergen.report.remedy_sections import console_lines, wrap_console
    from sergen.results import load_runs, store_problems

    _check_manifests_folder(missing_too=False)  # freshness compares runs with the manifests there, if any
    cells = [_cell(c) for c in confusion]
    runs = load_runs(results)
    check_confusion_cells(runs, cells, results)
    for skipped in runs.skipped:
        err_console.print(f"[yellow]left out result file {skipped.path}: {skipped.reason}", highlight=False)
    if runs.unverified:
        err_console.print(f"[yellow]{len(runs.unverified)} run(s) saved by an older sergen carry no digest of their "
                          "rows: shown, but unverified (the report says so)", highlight=False)
    if runs.stale:
        err_console.print(f"[yellow]left out {len(runs.stale)} stale run(s), whose stores or labels changed since "
                          "(`sergen grid` with the same options reruns them):", highlight=False)
        for line in runs.stale_summary():
            err_console.print(f"[yellow]  {line}", highlight=False)
    problems = store_problems(runs.records)
    if problems:
        err_console.print(f"[yellow]warning: {len({r for p in problems for r in p.runs})} run(s) in this report read "
                          f"{len(problems)} store(s) that changed without being rebuilt (the report says so):",
                          highlight=False)
        for problem in problems:
            err_console.print(f"[yellow]  {problem}", highlight=False)
    path = build_report(results, out, runs=runs, confusion=cells, problems=problems)
    for line in console_lines(runs.rows, runs.records):
        console.print(line, highlight=False, markup=False)
    protocols = protocol_summary(runs.rows)
    if len(protocols) > 1 or (protocols and not protocols[0].startswith("the poster's")):
        console.print("protocols, each in its own section:", highlight=False)
        for line in protocols:
            for part in wrap_console(line, indent="  "):
                console.print(part, highlight=False, markup=False)
    console.print(f"report: [bold]{path}[/]")

"""Every combination of model × training set × head × seed × scramble × augmentation share, tested on
every corpus; run in worker processes (both cores by default), resumable (a combination with a fresh
run is skipped; a stale one, whose stores changed since, is run again), and summarised as the poster's
train × test AUROC matrices over every fresh run in the results folder."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from sergen import corpus_order
from sergen.config import data_dir, workspace_dirs
from sergen.console import progress_bar
from sergen.errors import SergenError
from sergen.written_files import read_listing, still_as_written, write_listing
from sergen.experiments.data import stores_root_key
from sergen.store.ref import StoreRef
from sergen.experiments.probe import ProbeSpec, fold_specs, layer_specs, probe_run, resolve_spec, save_run
from sergen.train.heads import ADVERSARIAL, HEADS
from sergen.train.norms import check_norm, norm_strategy
from sergen.train.pooling import check_pool
from sergen.results import Runs, load_runs, matrices_dir
from sergen.report.protocols import with_protocol_columns


def expand_train_sets(spec: str, corpora: list[str]) -> list[str]:
    """``each`` → every corpus alone; ``all`` → all together; ``a+b`` → that union; comma-separated."""
    out = []
    for part in spec.split(","):
        part = part.strip()
        if part == "each":
            out += corpora
        elif part:
            out.append(part)
    return list(dict.fromkeys(out))


class GridSpecs(list):
    """The grid's specs, and the combinations left out: ``skipped`` maps each adversarial head (it learns
    against the corpus of each window) to the single-corpus training sets it was not run on."""

    def __init__(self, specs=(), skipped: dict[str, list[str]] | None = None):
        super().__init__(specs)
        self.skipped = skipped or {}
        self.duplicates = 0  # combinations left out for repeating another's run id

    def skipped_note(self) -> str | None:
        if not self.skipped:
            return None
        return "; ".join(f"--heads {head} skipped for the single-corpus training set(s) {', '.join(sets)} (it "
                         "trains against the corpus of each window, so only on several corpora)"
                         for head, sets in self.skipped.items())


def grid_specs(models: list[str], train: str, test: str = "all", heads=("linear", "mlp"), seeds=(0,),
               scrambles=(False,), aug_shares=(0.0,), stores_root=None, norms=("global",), pools=("mean",),
               **spec_kwargs) -> GridSpecs:
    specs, skipped = [], {}
    head_opts = grid_head_options(heads, spec_kwargs.pop("head_opt", ""))
    for model in models:
        corpora = list(resolve_spec(model, "all", "all", stores_root).train)
        for train_set in expand_train_sets(train, corpora):
            base = resolve_spec(model, train_set, test, stores_root, **spec_kwargs)
            for fold_spec in (f for layer_spec in layer_specs(base, stores_root) for f in fold_specs(layer_spec, stores_root)):
                for head, seed, scramble, aug, norm, pool in itertools.product(heads, seeds, scrambles, aug_shares,
                                                                               norms, pools):
                    if HEADS.canonical(head) in ADVERSARIAL and len(fold_spec.train) < 2:
                        sets = skipped.setdefault(HEADS.canonical(head), [])
                        if fold_spec.train_name not in sets:
                            sets.append(fold_spec.train_name)
                        continue  # an adversarial head learns against the corpus: multi-corpus sets only
                    norm_strategy(check_norm(norm)).check(check_pool(pool))  # e.g. a norm that maps no std half
                    specs.append(replace(fold_spec, head=head, head_opt=head_opts[head], seed=seed, scramble=scramble,
                                         norm=norm, pool=pool,
                                         sampler=replace(fold_spec.sampler, aug_share=float(aug))))
    check_sequence_specs(specs, stores_root)
    seen: set[str] = set()
    unique = [s for s in specs if not (s.run_id in seen or seen.add(s.run_id))]  # one run id, one run
    grid = GridSpecs(unique, skipped)
    grid.duplicates = len(specs) - len(unique)
    if not grid and skipped:
        raise SergenError(f"the grid is empty: {grid.skipped_note()}, and no other head was asked for",
                          where=f"--train {train} --heads {','.join(heads)}",
                          fix="add a multi-corpus training set (e.g. --train each,all or --train iemocap+cremad), "
                              "or another head (e.g. --heads mlp,mlp-dann)")
    return grid


def check_sequence_specs(specs: list[ProbeSpec], stores_root=None) -> None:
    """The refusals of a sequence head (``sequence_checks``) for each training set, store and window of the
    grid, before any run starts."""
    from sergen.experiments.sequence_checks import check_sequence_head
    from sergen.train.heads import is_sequence

    seen = set()
    for spec in specs:
        key = (spec.model, spec.train, spec.head, spec.layer, spec.pool, spec.sampler, spec.training.batch_size)
        if is_sequence(spec.head) and key not in seen:
            seen.add(key)
            check_sequence_head(spec, stores_root)


def grid_head_options(heads, options: str) -> dict[str, str]:
    """Each head's share of the grid's ``--head-opt`` (the pairs it takes), checked; a pair no head of the
    grid takes is refused rather than ignored."""
    from sergen.train.head_base import canonical_head_options, head_keys, options_for, parse_head_options

    taken = {key for head in heads for key in head_keys(head)}
    unused = [key for key in parse_head_options(options) if key not in taken]
    if unused:
        raise SergenError(f"--head-opt {', '.join(unused)}: no head of this grid ({', '.join(heads)}) has such a "
                          "hyper-parameter", fix="leave it out, or add a head that takes it (`sergen.train.head_base` "
                                                 "lists each head's)")
    return {head: canonical_head_options(head, options_for(head, options)) for head in heads}


def _run_one(spec: ProbeSpec, stores_root, results_dir) -> str:
    return str(save_run(probe_run(spec, stores_root), results_dir))


@dataclass
class GridPlan:
    """Which combinations run: those without a fresh run (never run, stale, or unreadable)."""

    todo: list[ProbeSpec]
    done: int
    stale: dict[str, str]  # run_id → why its old run no longer counts
    unreadable: list  # files of runs that will be redone (``sergen.results.Skipped``: path and why)
    reused: dict = field(default_factory=dict)  # run_id → RunRecord of the fresh runs kept

    def summary(self) -> str:
        parts = [f"{self.done} done", f"{len(self.todo)} to run"]
        if self.stale:
            parts.append(f"{len(self.stale)} of them stale (stores or labels changed since)")
        if self.unreadable:
            parts.append(f"{len(self.unreadable)} unreadable file(s) redone")
        return ", ".join(parts)


def check_views(specs: list[ProbeSpec], stores_root=None) -> None:
    """Refuse, before anything runs, an augmentation share above 0 for a training set whose stores hold no
    augmented view (training would stop on it inside every worker)."""
    dirs = workspace_dirs()
    views: dict[tuple[str, str], list[StoreRef]] = {}
    lacking: dict[tuple[str, tuple[str, ...]], set[float]] = {}
    for spec in specs:
        if spec.sampler.aug_share <= 0:
            continue
        for corpus in spec.train:
            if (spec.model, corpus) not in views:
                clean = StoreRef.of(spec.model, corpus, dirs, stores_root)
                _refuse_damaged_views(clean)
                views[spec.model, corpus] = clean.views()
        if not any(views[spec.model, corpus] for corpus in spec.train):
            lacking.setdefault((spec.model, spec.train), set()).add(spec.sampler.aug_share)
    if not lacking:
        return
    shares = sorted(set().union(*lacking.values()))
    sets = [f"{model}/{'+'.join(train)}" for model, train in lacking]
    model, train = next(iter(lacking))
    raise SergenError(
        f"--aug-share {','.join(f'{a:g}' for a in shares)} draws augmented views, but the training stores of "
        f"{', '.join(sets)} hold none (no complete <corpus>@<view> store beside them); nothing was run",
        where=str(stores_root or dirs.stores),
        fix=f"extract views first, e.g. `sergen extract --model {model} --corpus {','.join(train)} --view pink-noise` "
            "(`sergen views` lists them), or use --aug-share 0")


def _refuse_damaged_views(clean: StoreRef) -> None:
    """A view store whose root record is gone or empty is named as damaged, as its clean twin would be, not
    passed over as if it had never been extracted (training would then draw only the other views, silently)."""
    from sergen.store.layout import extract_command
    from sergen.store.location import damaged_views, join

    for name, problem in damaged_views(clean.model, clean.name, clean.root):
        raise SergenError(f"store {clean.model}/{name} is not usable: {problem}",
                          where=str(join(clean.root, clean.model, f"{name}.zarr")),
                          fix=f"rerun {extract_command(clean.model, name)}, which clears the folder and rebuilds it "
                              "(or use --aug-share 0, which reads no view)")


def plan_grid(specs: list[ProbeSpec], results_dir=None, stores_root=None) -> GridPlan:
    check_views(specs, stores_root)
    dirs = workspace_dirs()
    runs = load_runs(results_dir, [s.run_id for s in specs],
                     stores_root=stores_root_key(stores_root or dirs.stores))
    todo = [s for s in specs if s.run_id not in runs.records]
    return GridPlan(todo, len(specs) - len(todo), runs.stale, list(runs.skipped), dict(runs.records))


def run_grid(specs: list[ProbeSpec], stores_root=None, results_dir=None, workers: int | None = None,
             show_progress: bool = True, scheduler: str | None = None,
             load_results: bool = True) -> pd.DataFrame | None:
    """Run what is not done yet; return the results of every spec (old and new) as one tidy table
    (``load_results=False``: None, for a caller that loads the folder's runs itself, once).
    ``scheduler`` (``local[:N]`` or a Dask address) runs the combinations as Dask tasks instead of local
    worker processes; results are written by the tasks into the shared results folder. Locally, each
    store's bank is built once before the runs, runs that share banks go side by side, and one memory plan
    covers all workers; a worker that dies costs only its own run (the others finish, then an error
    names it and the command that resumes the grid)."""
    results_dir = Path(results_dir or data_dir("results"))
    todo = plan_grid(specs, results_dir, stores_root).todo
    workers = workers or min(2, os.cpu_count() or 1)
    bar = progress_bar(enabled=show_progress)
    with bar:
        task = bar.add_task("grid", total=len(specs), completed=len(specs) - len(todo))
        if scheduler and todo:
            from functools import partial

            from sergen.scale import dask_map

            dask_map(scheduler, partial(_run_one, stores_root=stores_root, results_dir=results_dir), todo,
                     on_done=lambda: bar.advance(task))
        elif todo:
            from sergen.experiments.grid_pool import run_local

            run_local(todo, stores_root, results_dir, workers, _run_one, bar, task)
    if not specs:
        raise SergenError("the grid is empty: no combination to run", fix="give at least one model, training set, "
                          "head, seed, scramble and augmentation share")
    return load_runs(results_dir, [s.run_id for s in specs]).rows if load_results else None


def auroc_matrices(results_dir=None, runs: Runs | None = None) -> dict[str, Path]:
    """train × test mean AUROC (over seeds) for each model, head, scramble and augmentation share,
    rebuilt from every fresh run in the results folder (not only the last grid's), so a grid on one
    training corpus keeps the rows an earlier grid wrote; matrices no fresh run supports any more are
    removed. ``runs``: that folder's runs already loaded (``load_runs(results_dir)``: checking 228 runs'
    freshness costs seconds, and the demo's report reads the same)."""
    if isinstance(results_dir, pd.DataFrame):  # callers that passed their grid's rows: the folder decides
        results_dir = None
    runs = runs or load_runs(results_dir)
    results = runs.rows
    out_dir = matrices_dir(results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    auroc = with_protocol_columns(results[results.metric == "auroc"])
    written = Matrices(left_out=list(runs.skipped))
    listing = out_dir / ".written.json"
    before = _listed(listing)
    keys = ["model", "head", "scramble", "aug_share", "labels", "folds", "protocol", "norm", "pool", "layer", "settings",
            "head_opt"]
    auroc = auroc.assign(head_opt=auroc["head_opt"].fillna("") if "head_opt" in auroc else "")
    for (model, head, scramble, aug, labels, folds, protocol, norm, pool, layer, settings, head_opt), part in \
            auroc.groupby(keys):
        matrix = part.pivot_table(index="train", columns="test", values="value", aggfunc="mean")  # seeds, folds
        order = corpus_order(matrix.columns)
        rows = [c for c in order if c in matrix.index] + sorted(set(matrix.index) - set(order))
        matrix = matrix.reindex(index=rows, columns=order)
        name = f"auroc_{model}_{head}_{'scrambled' if _true(scramble) else 'true'}_aug{float(aug):g}"
        tag = "_".join(str(v) for v in (protocol, "" if labels == "4" else f"labels-{labels}",
                                       f"folds-{folds}" if folds else "", "" if norm == "global" else f"norm-{norm}",
                                       "" if pool == "mean" else f"pool-{pool}",
                                       "" if layer == "-" else f"layer-{layer}",  # layers never averaged together
                                       f"head-{head_opt}" if head_opt else "",  # nor heads of other hyper-parameters
                                       settings)  # nor runs of other stream or training settings
                       if v)
        name += f"_{_safe(tag)}" if tag else ""
        path = out_dir / f"{name}.csv"
        if (path.exists() or path.is_symlink()) and (name not in before or not still_as_written(path, before[name])):
            written.kept.append(path)  # a user's own file (or one edited since) at a matrix's name: left, and named
            continue
        matrix.round(4).to_csv(path)
        written[name] = path
    # remove the matrices an earlier call wrote that no fresh run supports now: only files sergen listed
    for name in set(before) - set(written):
        path = out_dir / f"{name}.csv"
        if path not in written.kept and still_as_written(path, before[name]):
            path.unlink(missing_ok=True)
    write_listing(listing, dict(written))
    return written


class Matrices(dict):
    """Matrix name → path of the matrices written; ``kept``: files at a matrix's name that sergen did not write
    (left untouched, that matrix not written); ``left_out``: result files not counted (``Skipped``)."""

    def __init__(self, left_out=()):
        super().__init__()
        self.left_out, self.kept = list(left_out), []


def _listed(listing: Path) -> dict[str, str | None]:
    """The matrices an earlier call wrote (``.written.json``), with their digests."""
    return read_listing(listing)


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text)


def _true(value) -> bool:
    return value is True or str(value).lower() == "true"

"""``sergen demo`` / ``make demo``: the whole pipeline on the synthetic corpora, in a few minutes.

synthesise → manifests → extract (clean and augmented views) → grid (each corpus alone, 2D, 5D; the
5D set also scrambled and across augmentation shares) → fragmentation → report.
"""

from __future__ import annotations

import multiprocessing as mp
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from sergen import CORPORA
from sergen.config import data_dir
from sergen.console import console, err_console
from sergen.corpora import read_corpus, write_manifest
from sergen.corpora.demo import make_demo
from sergen.experiments.fragmentation import analyse_stores, save_fragmentation
from sergen.experiments.grid import auroc_matrices, grid_specs, run_grid
from sergen.extract import extract
from sergen.report.markdown import build_report

AUG_SHARES = (0.0, 0.25, 0.5, 0.75, 1.0)


def _extract_one(job: tuple) -> dict:
    model, corpus, view = job
    return extract(model, corpus, view=view, overwrite=True, show_progress=False).failures


def run_demo(out: str | Path = "demo", scale: float = 1.0, models=("melspec", "egemaps"),
             views=("pink-noise", "reverb", "eq", "time-stretch"), workers: int = 2, seeds=(0,)) -> Path:
    started = time.perf_counter()

    def step(message: str) -> None:
        console.print(f"[bold cyan][{time.perf_counter() - started:5.0f} s][/] {message}")

    step(f"synthesising the five demo corpora into {out}/ (scale {scale})")
    with err_console.status("synthesising …") as status:
        roots = make_demo(out, scale=scale, progress=lambda c, n: status.update(f"synthesised {c} ({n} files) …"))
    for corpus in CORPORA:
        result = read_corpus(corpus, roots[corpus])
        write_manifest(result)
    step(f"manifests written to {data_dir('manifests')}/")

    for model in models:
        jobs = [(model, corpus, view) for corpus in CORPORA for view in [None, *views]]
        # one store per job, so jobs run side by side in worker processes without sharing a store
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            for failures in pool.map(_extract_one, jobs):
                if failures:
                    raise RuntimeError(f"demo extraction failed: {failures}")
        step(f"extracted {model} for {len(CORPORA)} corpora × {1 + len(views)} views into {data_dir('stores')}/{model}/")

    results_dir = data_dir("results")
    if results_dir.exists():
        shutil.rmtree(results_dir)  # the demo's report shows the demo's runs only
    specs = grid_specs(list(models), "each,iemocap+cremad", heads=("linear", "mlp"), seeds=seeds)
    specs += grid_specs(list(models), "all", heads=("linear", "mlp"), seeds=seeds, scrambles=(False, True),
                        aug_shares=AUG_SHARES if views else (0.0,))
    step(f"grid: {len(specs)} probe runs on {workers} worker(s)")
    results = run_grid(specs, workers=workers)
    auroc_matrices(results)
    step("grid done")

    for model in models:
        frag = analyse_stores(model, list(CORPORA))
        save_fragmentation(frag, results_dir / "fragmentation" / model, f"{model} · synthetic demo")
    step("fragmentation analysis done")

    report = build_report(results_dir, data_dir("reports") / "demo", title="sergen demo report (synthetic data)")
    step(f"report written: {report}")
    return report

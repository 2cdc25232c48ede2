"""``sergen demo`` / ``make demo``: the whole pipeline on the synthetic corpora, in a few minutes.

synthesise → manifests → extract (clean and augmented views) → grid (each corpus alone, 2D, 5D; the
5D set also scrambled, across augmentation shares, and with per-corpus normalisation as a remedy; several
seeds; and the heads that see frames, attn and cnn, on log-Mel: each corpus alone, and cnn on all five with
true and scrambled labels, one seed) → fragmentation → report.

The demo is a workspace of its own (``demo/`` by default: ``corpora/``, ``manifests/``, ``stores/``,
``results/``, ``reports/`` and its own ``sergen.toml``). It reads and writes nothing outside that folder —
not the user's manifests, stores, results or config, whatever ``SERGEN_*`` variables say — so a user's
real work can never be overwritten by trying the demo.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import re
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from sergen import CORPORA
from sergen.config import CONFIG_NAME, data_dir, init_workspace, load_config, set_root, use_workspace
from sergen.console import console, err_console
from sergen.corpora import read_corpus, write_manifest
from sergen.corpora.demo import check_demo_folders, check_demo_options, make_demo
from sergen.corpora.demo.layouts import smallest_set_note
from sergen.corpora.demo.marker import is_demo_corpus
from sergen.errors import SergenError

AUG_SHARES = (0.0, 0.25, 0.5, 0.75, 1.0)
DEMO_SEEDS = (0, 1, 2)
# the heads that see frames (issue 25), in their cheapest form that still answers the poster's question
# ("for both pre-trained embeddings and from-scratch CNN architectures"): on log-Mel (cnn suits spectrograms
# only; attn on the same frames, so the three heads differ by head alone), one seed, each corpus alone; and the
# CNN on all five together with true and scrambled labels (the fragmentation test: does a CNN trained from
# scratch fragment the classes by corpus as the probes on features do?). 12 runs (their cost: docs/frames.md)
SEQUENCE_HEADS = ("attn", "cnn")
SEQUENCE_MODEL = "melspec"
# a short schedule: 120 steps at most, kept from step 60 on (the defaults' 500-step warm-up and 300-step
# patience cost a CNN 800 steps or more, ~2 min a run on the shared machine). The cost is the steps: at 200
# steps the 12 runs took 102 of the demo grid's 339 run-seconds and `make demo` 5 min 19 s on a quiet machine;
# cross-corpus AUROC at 300 / 200 / 120 steps: docs/frames.md
SEQUENCE_TRAINING = {"max_steps": 120, "min_steps": 60}
# the file that marks a folder as a demo workspace sergen made, so a rerun may replace what is in it
WORKSPACE_MARKER = "SERGEN_DEMO_WORKSPACE.json"


def check_demo_workspace(out: Path) -> None:
    """The demo writes only into a folder that is new, empty, or a demo workspace (or holds only demo corpora
    that sergen made): never into a user's own workspace or any folder of theirs."""
    if not out.exists():
        above = next((p for p in out.absolute().parents if p.exists()), None)
        if above is not None and not above.is_dir():
            raise SergenError(f"the demo's folder lies under a file ({above})", where=str(out),
                              fix="choose another folder with --out")
        return
    if not out.is_dir():
        raise SergenError("the demo's folder is a file", where=str(out), fix="choose another folder with --out")
    if (out / WORKSPACE_MARKER).is_file():
        return
    foreign = sorted(p.name for p in out.iterdir() if not (p.is_dir() and is_demo_corpus(p)))
    if foreign:
        shown = ", ".join(foreign[:5]) + (" …" if len(foreign) > 5 else "")
        raise SergenError(f"{out} is not a demo workspace sergen made (no {WORKSPACE_MARKER}) and holds {shown}; "
                          f"the demo writes only into its own folder, so nothing was written",
                          where=str(out), fix="choose a new or empty folder with --out (default: demo)")


RUN_FILE = re.compile(r"(?P<id>[0-9a-f]{16})\.(csv|json|scores\.npz)|\.[0-9a-f]{16}\.(csv|json|scores\.npz)\.partial"
                      r"|\.write-check-\w+")
SCORES_MEMBER = re.compile(r"c\d+_(corpus|utt_id|label|proba)\.npy")  # sergen.experiments.run_scores's arrays
FRAGMENTATION_FILES = ("fragmentation.csv", "centroid_similarity.csv", "projection.png", "centroid_similarity.png")


def _sergen_wrote(results_dir: Path, path: Path) -> bool:
    """Whether a file in the results folder is one sergen writes there: a run's rows (its header is
    ``ROW_COLUMNS``) or record (a JSON object naming its run), a partial file of a save, a matrix that
    ``matrices/.written.json`` lists, or a fragmentation output."""
    from sergen.results import ROW_COLUMNS, SCORES_SUFFIX

    parts = path.relative_to(results_dir).parts
    if path.is_symlink():
        return False
    if len(parts) == 2 and parts[0] == "runs":
        match = RUN_FILE.fullmatch(parts[1])
        if not match or not match.group("id"):
            return bool(match)  # a partial save or a write check, by sergen's own names
        try:
            if path.name.endswith(SCORES_SUFFIX):  # a run's per-utterance scores: a zip of sergen's own arrays
                with zipfile.ZipFile(path) as archive:
                    names = archive.namelist()
                return bool(names) and all(SCORES_MEMBER.fullmatch(n) for n in names)
            if path.suffix == ".csv":
                with path.open(encoding="utf-8") as fh:
                    return fh.readline().rstrip("\r\n") == ",".join(ROW_COLUMNS)
            record = json.loads(path.read_text(encoding="utf-8"))
            return isinstance(record, dict) and record.get("run_id") == match.group("id")
        except (OSError, UnicodeDecodeError, ValueError, zipfile.BadZipFile):
            return False
    if len(parts) == 2 and parts[0] == "matrices":
        if parts[1] == ".written.json":
            return True
        from sergen.written_files import read_listing, still_as_written

        listed = {f"{name}.csv": digest for name, digest in read_listing(results_dir / "matrices" / ".written.json").items()}
        return parts[1] in listed and still_as_written(path, listed[parts[1]])  # one edited since is the user's
    return len(parts) == 3 and parts[0] == "fragmentation" and parts[2] in FRAGMENTATION_FILES


def demo_results_files(results_dir: Path) -> list[Path]:
    """The files of the demo workspace's results folder, to be replaced by this run's; refused, naming them,
    when any is not one sergen writes there (the demo deletes nothing it did not write)."""
    if not results_dir.exists():
        return []
    files = sorted(p for p in results_dir.rglob("*") if not p.is_dir() or p.is_symlink())
    foreign = [p for p in files if not _sergen_wrote(results_dir, p)]
    if foreign:
        shown = ", ".join(str(p.relative_to(results_dir)) for p in foreign[:5]) + (" …" if len(foreign) > 5 else "")
        raise SergenError(f"the demo workspace's results folder holds {len(foreign)} file(s) sergen did not write "
                          f"({shown}); the demo replaces its results only when every file there is its own, "
                          "so nothing was written", where=str(foreign[0]),
                          fix="move those files out of the results folder, or choose another --out")
    return files


def _remove_results(results_dir: Path, files: list[Path], keep_runs=()) -> None:
    """Delete exactly ``files`` (checked by ``demo_results_files``) but the saved runs of ``keep_runs`` (run
    ids: this demo's own, which the grid then skips while they are fresh), then the folders left empty."""
    keep = set(keep_runs)
    for path in files:
        match = RUN_FILE.fullmatch(path.name) if path.parent == results_dir / "runs" else None
        if match and match.group("id") in keep:
            continue
        path.unlink(missing_ok=True)
    for folder in sorted((p for p in results_dir.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(folder.iterdir()):
            folder.rmdir()


def _check_arguments(scale, models, views, workers, seeds) -> None:
    from sergen.augment import VIEWS
    from sergen.extractors import EXTRACTORS

    check_demo_options(0, scale)
    for model in models:
        if not model.startswith("hf:"):  # the demo extracts: a model must be one sergen can build
            EXTRACTORS.canonical(model)
    for view in views:
        VIEWS.canonical(view)
    if not models:
        raise SergenError("--models is empty", fix="e.g. --models melspec,egemaps")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SergenError(f"--workers must be a whole number ≥ 1, not {workers}")
    if not seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds):
        raise SergenError(f"--seeds must be whole numbers ≥ 0, not {list(seeds)}", fix="e.g. --seeds 0,1,2")


# relative CPU cost of extracting one second of audio (melspec = 1): openSMILE's eGeMAPS took 15× melspec's
# CPU seconds on the demo's emodb and ravdess (docs/cpu.md), so its large stores are started first
EXTRACT_COST = {"egemaps": 15.0}


def _extract_one(job: tuple) -> tuple[dict, float]:
    """One store (model, corpus, view) in a worker: its failures and its wall seconds. A store an earlier run
    finished (or began) from these very manifests and settings is resumed: extract checks its hashes and
    every chunk, and writes only what is missing. One it refuses to resume (another --scale, older settings,
    damage) is the demo's own to replace, so it is rebuilt."""
    from sergen.extract import extract

    model, corpus, view = job
    try:
        report = extract(model, corpus, view=view, show_progress=False)
    except SergenError:
        report = extract(model, corpus, view=view, overwrite=True, show_progress=False)
    return report.failures, report.wall_s


def synthesised_before(root: Path, scale: float, seed: int = 0) -> bool:
    """A corpus an earlier run of the demo finished at this scale and seed: its marker says complete, and every
    file it lists as written is there, with nothing else. Kept, so a rerun after a kill resumes."""
    from sergen.corpora.base import DEMO_MARKER
    from sergen.corpora.demo.marker import foreign_files, written_files

    try:
        marker = json.loads((root / DEMO_MARKER).read_text())
    except (OSError, ValueError):
        return False
    written = written_files(root)
    return (isinstance(marker, dict) and marker.get("complete") is True and marker.get("seed") == seed
            and marker.get("scale") == scale and written is not None and foreign_files(root) == []
            and all((root / name).is_file() for name in written))


def extraction_jobs(models, corpora, views, audio_seconds: dict[str, float]) -> list[tuple]:
    """Every (model, corpus, view) store to extract, the costliest first (audio seconds × the model's cost):
    the long ones start while the short ones fill the other core, so no long store is left to finish alone."""
    jobs = [(model, corpus, view) for model in models for corpus in corpora for view in [None, *views]]
    return sorted(jobs, key=lambda j: -audio_seconds[j[1]] * EXTRACT_COST.get(j[0], 1.0))


def extract_stores(jobs: list[tuple], workers: int) -> dict[tuple, float]:
    """Extract ``jobs`` in ``workers`` processes, in the order given; each job writes its own store, so no
    store ever has two writers. Returns each job's wall seconds."""
    from sergen.demo_background import die_with_parent

    seconds = {}
    # spawned workers inherit the demo workspace through the environment; each ends with the demo (a kill -9 of
    # the demo would otherwise leave it writing, and holding its store's lock against the rerun)
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=mp.get_context("spawn"),
                             initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
        for job, (failures, wall_s) in zip(jobs, pool.map(_extract_one, jobs, chunksize=1)):
            if failures:
                raise RuntimeError(f"demo extraction failed: {failures}")
            seconds[job] = wall_s
    return seconds


def audio_seconds(corpora) -> dict[str, float]:
    """Each corpus's audio seconds, from its manifest (what extraction costs grow with)."""
    from sergen.corpora.manifest import load_manifest

    out = {}
    for corpus in corpora:
        manifest, _ = load_manifest(corpus)
        out[corpus] = float((manifest["num_samples"] / manifest["sample_rate"]).sum())
    return out


def run_demo(out: str | Path = "demo", scale: float = 1.0, models=("melspec", "egemaps"),
             views=("pink-noise", "reverb", "eq", "time-stretch"), workers: int = 2, seeds=DEMO_SEEDS,
             sequence_heads: bool = True, with_runs: bool = False):
    """The report's path (``with_runs``: and the results folder's runs, ``sergen.results.Runs``, loaded once
    for the matrices and the report). ``sequence_heads``: also run ``attn`` and ``cnn`` (``demo_specs``) when
    the models include melspec."""
    models, views, seeds = list(models), list(views), list(seeds)
    _check_arguments(scale, models, views, workers, seeds)
    out = Path(out).absolute()
    check_demo_workspace(out)
    check_demo_folders(out / "corpora", CORPORA)  # before the workspace marker is written
    demo_results_files(out / "results")  # the same: a file of the user's in there stops the demo
    out.mkdir(parents=True, exist_ok=True)
    (out / WORKSPACE_MARKER).write_text(json.dumps(
        {"note": "sergen demo workspace: everything in this folder was made by `sergen demo` and may be "
                 "replaced by the next run", "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
         "scale": scale, "models": models, "views": views, "seeds": seeds}, indent=2))
    if not (out / CONFIG_NAME).exists():
        init_workspace(out)
    with use_workspace(out):
        report, runs = _run_in_workspace(out, scale, models, views, workers, seeds, sequence_heads)
    return (report, runs) if with_runs else report


def demo_specs(models, views, seeds, sequence_heads: bool = True) -> list:
    """The demo's grid: linear and MLP on every model (each corpus alone, 2D, 5D; the 5D set also scrambled,
    across augmentation shares, and with ``--norm corpus``; every seed), and the sequence heads in their short
    form (``SEQUENCE_HEADS`` on each corpus, cnn on all five scrambled and not) where the demo extracts
    ``SEQUENCE_MODEL``."""
    from sergen.experiments.grid import grid_specs
    from sergen.train.loop import TrainConfig

    specs = grid_specs(models, "each,iemocap+cremad", heads=("linear", "mlp"), seeds=seeds)
    specs += grid_specs(models, "all", heads=("linear", "mlp"), seeds=seeds, scrambles=(False, True),
                        aug_shares=AUG_SHARES if views else (0.0,))
    # one remedy against the baseline: each corpus standardised by its own statistics (``--norm corpus``)
    specs += grid_specs(models, "all", heads=("linear", "mlp"), seeds=seeds, scrambles=(False, True),
                        norms=("corpus",))
    if sequence_heads and SEQUENCE_MODEL in models:
        training = TrainConfig(**SEQUENCE_TRAINING)
        specs += grid_specs([SEQUENCE_MODEL], "each", heads=SEQUENCE_HEADS, seeds=seeds[:1], training=training)
        specs += grid_specs([SEQUENCE_MODEL], "all", heads=("cnn",), seeds=seeds[:1], scrambles=(False, True),
                            training=training)
    return specs


def fragmentation_of(models: list[str], results_dir: Path) -> None:
    """Each model's fragmentation analysis over the five corpora, saved under ``results/fragmentation/``.
    BLAS on one thread: its probes' last digits then do not depend on the cores of the process that runs it (the
    demo's own, or its background process), and it runs beside the grid, which has the cores."""
    from threadpoolctl import threadpool_limits

    from sergen.experiments.fragmentation import analyse_stores, save_fragmentation

    with threadpool_limits(limits=1):
        for model in models:
            frag = analyse_stores(model, list(CORPORA))
            save_fragmentation(frag, results_dir / "fragmentation" / model, f"{model} · synthetic demo")


def _run_in_workspace(out: Path, scale, models, views, workers, seeds, sequence_heads: bool = True) -> tuple:
    from sergen.demo_background import Background
    from sergen.experiments.grid import auroc_matrices, run_grid
    from sergen.report.markdown import build_report
    from sergen.results import load_runs
    from sergen.train.heads import is_sequence

    started = time.perf_counter()

    def step(message: str) -> None:
        console.print(f"[bold cyan][{time.perf_counter() - started:5.0f} s][/] {message}")

    if load_config().get("dirs"):
        raise SergenError("the demo workspace's config has a [dirs] table, which could move its folders outside it",
                          where=str(out / CONFIG_NAME), fix="remove the [dirs] table: the demo keeps everything inside")
    old_results = demo_results_files(data_dir("results"))  # before anything is written: a foreign file stops it
    step(f"demo workspace {out} (nothing outside it is read or written)")
    corpora_dir = out / "corpora"
    roots = {corpus: corpora_dir / corpus for corpus in CORPORA}
    todo = [corpus for corpus in CORPORA if not synthesised_before(roots[corpus], scale)]
    if len(todo) < len(CORPORA):
        step(f"kept {', '.join(c for c in CORPORA if c not in todo)}: synthesised at this scale by an earlier run")
    if todo:
        step(f"synthesising {'the five demo corpora' if len(todo) == len(CORPORA) else ', '.join(todo)} into "
             f"{corpora_dir}/ (scale {scale})")
        with err_console.status("synthesising …") as status:
            make_demo(corpora_dir, scale=scale, workers=workers, corpora=todo,
                      progress=lambda c, n: status.update(f"synthesised {c} ({n} files) …"))
    if smallest_set_note(scale):
        step(smallest_set_note(scale))
    for corpus in CORPORA:
        write_manifest(read_corpus(corpus, roots[corpus]))
        set_root(corpus, roots[corpus])  # the demo's own config: `cd demo && sergen manifest emodb` works
    step(f"manifests written to {data_dir('manifests')}/")

    # every model's stores in one pool, the costliest first: both cores stay busy to the end of extraction
    extract_stores(extraction_jobs(models, CORPORA, views, audio_seconds(CORPORA)), workers)
    step(f"extracted {', '.join(models)} for {len(CORPORA)} corpora × {1 + len(views)} views into "
         f"{data_dir('stores')}/")

    results_dir = data_dir("results")
    specs = demo_specs(models, views, seeds, sequence_heads)
    # the demo's own earlier results go, but the runs of this grid: its report shows this run's grid only, and a
    # rerun after a kill resumes the grid (a kept run whose stores changed since is stale, and run again)
    _remove_results(results_dir, old_results, keep_runs=[s.run_id for s in specs])
    n_sequence = sum(is_sequence(s.head) for s in specs)
    step(f"grid: {len(specs)} probe runs ({len(seeds)} seeds"
         + (f"; {n_sequence} of them {' and '.join(SEQUENCE_HEADS)} on {SEQUENCE_MODEL}, seed {seeds[0]}" if n_sequence
            else "") + f") on {workers} worker(s)")
    # the fragmentation analysis reads only the stores: it runs beside the grid, niced, on the CPU the grid leaves idle
    fragmentation = Background(fragmentation_of, list(models), results_dir)
    try:
        run_grid(specs, workers=workers, load_results=False)  # one pool: the long sequence runs first
    except BaseException:
        fragmentation.cancel()
        raise
    # the folder's runs loaded once (their freshness checked once) for the matrices, the report and the console
    runs = load_runs(results_dir)
    auroc_matrices(results_dir, runs=runs)  # rebuilt from every run in the demo workspace's results folder
    step("grid done")

    fragmentation.result()
    step("fragmentation analysis done")

    report = build_report(results_dir, data_dir("reports") / "latest", title="sergen demo report (synthetic data)",
                          runs=runs)
    step(f"report written: {report}")
    return report, runs

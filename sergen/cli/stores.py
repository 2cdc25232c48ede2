"""Commands about extraction and stores: extract, stores ls/verify, models ls, views."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from sergen.cli import validate as check
from sergen.cli.app import app, fitted_table, heavy_imports, keep_keys_whole, print_json, registry_table
from sergen.console import console, err_console
from sergen.errors import SergenError

stores_app = typer.Typer(no_args_is_help=True, help="List and verify feature stores.")
app.add_typer(stores_app, name="stores")
models_app = typer.Typer(no_args_is_help=True, help="The extractors sergen knows.")
app.add_typer(models_app, name="models")


def manifest_corpora() -> list[str]:
    from sergen.config import data_dir

    return sorted(p.stem for p in data_dir("manifests").glob("*.csv"))


def resolve_corpora(spec: str) -> list[str]:
    """``all`` (every corpus with a manifest) or a comma list of names/aliases."""
    from sergen.corpora import CORPUS_READERS
    from sergen.corpora.keywords import keywords_lowered

    spec = keywords_lowered(spec)
    if spec == "all":
        names = manifest_corpora()
        if not names:
            raise SergenError("no manifests yet", fix="run `sergen manifest CORPUS --root DIR` (or `make demo`) first")
        refuse_unreachable(names)  # csv.csv would be read as folder's (hostile pass 37)
        return names
    return [CORPUS_READERS.resolve(c) for c in spec.split(",")]


OPT_HELP = "a model option as key=value (repeatable), e.g. --opt hop_seconds=0.5; `sergen models ls` lists each model's"


def extractor_options(opt: list[str], **flags) -> dict:
    """The model options of one command: ``--opt key=value`` pairs and the older dedicated flags (``--layers``,
    ``--hop-seconds``, ``--input-mode``, ``--precision``, ``--revision``), which are aliases of the same keys.
    One key given both ways with different values is refused."""
    from sergen.extractors.options import key_values

    options = key_values(opt)
    for key, value in flags.items():
        if value is None:
            continue
        if key in options and str(options[key]) != str(value):
            raise SergenError(f"--opt {key}={options[key]} and --{key.replace('_', '-')} {value} disagree",
                              fix="give the option once")
        options[key] = value
    return options


@app.command()
def extract(
    model: str = typer.Option(..., help="extractor name, see `sergen models ls`", callback=check.model_name),
    corpus: str = typer.Option("all", help="corpus name(s), comma-separated, or all", callback=check.corpus_list),
    device: Optional[str] = typer.Option(None, help="cuda, cuda:1, cpu (default: CUDA when present), or several "
                                                    "GPUs: cuda:0,cuda:1 (a model copy on each)",
                                         callback=check.devices),
    replicas: int = typer.Option(1, help="model copies per device, each embedding its own windows",
                                 callback=check.replicas),
    weights: Optional[Path] = typer.Option(None, help="local checkpoint file or folder (default: `sergen config "
                                                      "set-weights`, then the hub cache)",
                                     callback=check.existing_path),
    revision: Optional[str] = typer.Option(None, help="hub revision (commit hash, tag, branch) of a hub model",
                                           callback=check.non_empty),
    root: Optional[Path] = typer.Option(None, help="corpus root, when it moved since the manifest was made",
                                        callback=check.existing_dir),
    batch_seconds: float = typer.Option(60.0, help="audio seconds per batch", callback=check.positive_float),
    overwrite: bool = typer.Option(False, help="rebuild the store from scratch"),
    allow_failures: bool = typer.Option(False, help="mark the store complete even if some utterances failed"),
    view: list[str] = typer.Option([], help="also store this augmented view (repeatable; `sergen views`)",
                                   callback=check.view_list),
    view_seed: int = typer.Option(0, help="seed of the views' random parameters", callback=check.non_negative_int),
    layers: Optional[str] = typer.Option(None, help="multi-layer models (wavlm-large, whisper-*, hf:<id>): hidden states to store "
                                                       "side by side, e.g. 6,12,18,24",
                                         callback=check.layers),
    hop_seconds: Optional[float] = typer.Option(None, help="window models (clap-2023): seconds between 7 s windows; "
                                                         "frames/s = 1/hop (default 1)",
                                               callback=check.positive_float),
    scheduler: Optional[str] = typer.Option(None, help="run on Dask: local, local:N, or tcp://HOST:PORT",
                                            callback=check.scheduler),
    workers: Optional[int] = typer.Option(None, help="decoding (and signal-processing features) beside the model "
                                                     "(default: one per core this process may use)",
                                          callback=check.worker_count),
    workers_mode: str = typer.Option("auto", help="threads (auto) or processes, for a stage that holds the GIL",
                                     callback=check.choice("auto", "threads", "processes")),
    precision: Optional[str] = typer.Option(None, help="fp32 (default), bf16 (CUDA; CPU for measuring) or fp16 "
                                                       "(CUDA): the network under autocast; recorded in the store",
                                            callback=check.precision),
    input_mode: Optional[str] = typer.Option(None, help="whisper-*: padded (default: every piece padded to 30 s) or "
                                                        "trimmed (only the audio's length); recorded in the store",
                                             callback=check.input_mode),
    opt: list[str] = typer.Option([], "--opt", help=OPT_HELP),
):
    """Embed every utterance of the corpus into stores/<model>/<corpus>.zarr (resumable); each --view
    goes to the sibling store <corpus>@<view>.zarr."""
    with heavy_imports():
        from sergen.audio import MISSING
        from sergen.augment import VIEWS
        from sergen.extract import extract as run_extract
        from sergen.preflight import preflight
        from sergen.corpora.manifest import manifest_command
        from sergen.store.layout import extract_command, rebuild_command

    views = [None] + [VIEWS.canonical(v) for v in view]
    options = extractor_options(opt, layers=layers, hop_seconds=hop_seconds, revision=revision, precision=precision,
                                input_mode=input_mode)
    jobs = [(c, v) for c in resolve_corpora(corpus) for v in views]
    for name, one_view in jobs:  # every argument of every job checked before the first store is touched
        preflight(model, name, device=device, weights=weights, corpus_root=root, batch_seconds=batch_seconds,
                  view=one_view, scheduler=scheduler, extractor_options=options or None, workers=workers,
                  workers_mode=workers_mode, replicas=replicas)
    for name, one_view in jobs:  # a store any job would rebuild: its folder must hold sergen's files only
        refuse_rebuilding_foreign(model, name, one_view, overwrite)
    failed = False
    for name, one_view in jobs:
        with disk_full_said(model, name, one_view, overwrite):
            report = run_extract(model, name, device=device, weights=weights, corpus_root=root,
                                 batch_seconds=batch_seconds, overwrite=overwrite, allow_failures=allow_failures,
                                 view=one_view, view_seed=view_seed, scheduler=scheduler,
                                 extractor_options=options or None, workers=workers, workers_mode=workers_mode,
                                 replicas=replicas)
        name = report.corpus
        for note in report.notes:
            err_console.print(f"[yellow]note: {note}", highlight=False)
        if report.skipped:
            console.print(f"{report.model}/{name}: already complete ({report.n_utts} utterances) → {report.path}")
            continue
        if report.repaired:
            console.print(f"{report.model}/{name}: {report.repaired} utterance(s) whose chunk files were lost or damaged, rewritten")
        console.print(
            f"{report.model}/{name}: {report.written} written this run, {report.done_before} before, "
            f"{report.padded} padded, {len(report.failures)} failed; {report.audio_s:.0f} s of audio in "
            f"{report.wall_s:.1f} s ({report.realtime_factor:.0f}× real time) → {report.path}")
        if report.failures:
            failed = True
            for utt, why in list(report.failures.items())[:10]:
                err_console.print(f"[yellow]  {utt}: {why}")
            if len(report.failures) > 10:
                err_console.print(f"[yellow]  … and {len(report.failures) - 10} more")
            if not report.complete:
                err_console.print("[red]store left incomplete: fix the files and rerun (only they are redone), "
                                  "or pass --allow-failures")
            gone = [utt for utt, why in report.failures.items() if why.startswith(MISSING)]
            if gone:
                base = name.partition("@")[0]
                err_console.print(f"[red]{len(gone)} audio file(s) listed in manifests/{base}.csv are missing (not "
                                  f"undecodable): restore them and rerun {extract_command(report.model, name)} "
                                  f"(only they are written), or rerun {manifest_command(base)} to list the corpus "
                                  f"as it is now, then rebuild with {rebuild_command(report.model, name)}",
                                  highlight=False)
    if failed:
        raise typer.Exit(1)


def refuse_rebuilding_foreign(model: str, corpus: str, view: str | None, overwrite: bool) -> None:
    """Refuse, before any job of the command runs, a store that its job would rebuild (``--overwrite``, or a
    folder without sergen's root record) while it holds files sergen did not write: ``extract`` refuses them
    too, but only when it reaches that store, after the stores before it were rebuilt."""
    from sergen.augment import VIEWS
    from sergen.config import data_dir
    from sergen.extractors import canonical_model
    from sergen.store.layout import store_path
    from sergen.store.location import leftover_problem, refuse_foreign_files

    name = corpus + (f"@{VIEWS.canonical(view)}" if view else "")  # corpus: resolved by resolve_corpora
    path = store_path(canonical_model(model), name, data_dir("stores"))
    if path.is_dir() and not path.is_symlink() and (overwrite or leftover_problem(path)):
        refuse_foreign_files(path)


@contextlib.contextmanager
def disk_full_said(model: str, corpus: str, view: str | None, overwrite: bool):
    """A full disk (or quota) met anywhere in an extract (making the store's layout, recording its audio, marking
    it complete), said as such: every file is written whole or not at all (Zarr writes a temporary file, then
    renames it), and an utterance counts as written only with its chunks, so the rerun resumes; never a
    traceback. (The frames' own loop says it with the count kept: ``sergen.extract._disk_error``.)"""
    import errno

    from sergen.config import data_dir
    from sergen.extractors import canonical_model
    from sergen.store.layout import extract_command, store_path

    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        model, name = canonical_model(model), corpus + (f"@{view}" if view else "")
        where = store_path(model, name, data_dir("stores"))
        raise SergenError(f"the disk is full ({exc.strerror}) while writing the {model}/{name} store",
                          where=str(where),
                          fix=f"nothing written was lost: free space on the disk of {where.parent}, then rerun "
                              f"{extract_command(model, name, overwrite=overwrite)}, which goes on where this "
                              "run stopped") from None


def store_damage(path, attrs: dict):
    """What a store marked complete has lost (chunk files, or whole arrays), or None: readers refuse such a
    store; extract repairs lost chunks, and only ``--overwrite`` rebuilds lost arrays. Any store whose record
    was edited (its attributes, ``dim``, ``n_utts`` or ``n_frames`` against its arrays' shapes: ``record_problem``,
    attributes and metadata only; its ``utt/`` columns against their digests: ``column_edits``) is refused as damaged,
    so that ``stores ls`` never prints edited numbers as facts."""
    import zarr

    from sergen.store.digests import digest_layout_problem, record_problem
    from sergen.store.record import column_edits
    from sergen.store.verify import STORE_READ_ERRORS, chunk_damage, unreadable_store

    try:
        group = zarr.open_group(str(path), mode="r")
        edited = record_problem(group, attrs)
        if edited:
            raise SergenError(edited)
        if not attrs.get("complete"):
            return None
        damaged = digest_layout_problem(group, attrs, record_checked=True)
        if damaged:  # its digests or its record of chunk sizes: a rebuild, as readers and extract say
            raise SergenError(damaged)
        edits = column_edits(group)  # the utt/ columns (small) against their digests, as every reader checks them
        if edits:
            raise SergenError(edits[0])
        damage = chunk_damage(group)
    except STORE_READ_ERRORS as exc:  # an array's metadata corrupted or cut short: listed as damaged
        raise unreadable_store(path, exc) from None
    return damage or None


@stores_app.command("ls")
def stores_ls(root: Optional[str] = typer.Option(None, help="stores folder or fsspec URL (default stores/)",
                                                 callback=check.stores_root),
              as_json: bool = typer.Option(False, "--json", help="print JSON for scripts instead of a table")):
    """Every store: model, corpus, utterances, frames, size on disk, complete?"""
    from sergen.experiments.bank_cache import cache_dir, cached_banks
    from sergen.config import data_dir
    from sergen.store.layout import extract_command, rebuild_command, store_path
    from sergen.store.location import leftover_problem, not_stores, size_bytes
    from sergen.store.reader import existing_stores, store_attrs

    root = root or data_dir("stores")
    stores = []
    for model, corpus in existing_stores(root, include_views=True):
        path = store_path(model, corpus, root)
        try:
            attrs = store_attrs(path)
            leftovers = leftover_problem(path)
            if leftovers:
                raise SergenError(leftovers)
            damage = store_damage(path, attrs)
            problems = damage.problems if damage else []
        except SergenError as exc:  # corrupt metadata: listed as damaged, the listing goes on
            attrs, damage, problems = {"complete": False}, exc, [exc.what]
        damaged = damage is not None
        stores.append({"model": model, "corpus": corpus, "path": str(path), "utterances": attrs.get("n_utts"),
                       "frames": attrs.get("n_frames"), "dim": attrs.get("dim"), "size_bytes": size_bytes(path),
                       "complete": bool(attrs.get("complete")) and not damaged, "damaged": bool(damaged),
                       "problems": problems,
                       "needs_rebuild": damaged and getattr(damage, "needs_rebuild", True),
                       "synthetic": bool(attrs.get("synthetic")),
                       "created": attrs.get("created"), "finished": attrs.get("finished")})
    strays = not_stores(root)  # files named like a store: no store, and they block extracting one there
    banks = cache_dir(root)
    files = cached_banks(banks)  # complete store banks (their meta files)
    bank_bytes = sum(f.stat().st_size for f in banks.iterdir() if f.is_file()) if files else 0
    if as_json:
        print_json({"stores": stores, "not_stores": [str(p) for p in strays],
                    "bank_cache": {"path": str(banks), "banks": len(files), "size_bytes": bank_bytes}})
        return
    rows = [[s["model"], s["corpus"], str(s["utterances"] or "?"), str(s["frames"] or "?"), str(s["dim"] or "?"),
             f"{s['size_bytes'] / 2**20:.1f}",
             "yes" if s["complete"] else "[red]damaged" if s["damaged"] else "[red]no", "yes" if s["synthetic"] else "no"]
            for s in stores]
    # the unit in the header, so a size is one word that never folds
    table, left_out = fitted_table(["model", "corpus", "utterances", "frames", "dim", "size (MiB)", "complete",
                                    "synthetic"], rows, 2, ["synthetic", "dim", "size (MiB)"], console.width)
    console.print(table)
    if left_out:
        console.print(f"({', '.join(left_out)} left out to fit {console.width} columns; "
                      "`stores ls --json` has every field)", soft_wrap=False)  # folded at spaces to the width
    for s in stores:
        if s["damaged"] and s["needs_rebuild"]:
            err_console.print(f"[red]{s['model']}/{s['corpus']}: damaged, unusable ({'; '.join(s['problems'][:3])}); "
                              f"rebuild it with {rebuild_command(s['model'], s['corpus'])}", highlight=False, soft_wrap=False)  # folded at the width, piped too
        elif s["damaged"]:
            err_console.print(f"[red]{s['model']}/{s['corpus']}: chunk files lost or damaged; `sergen stores verify "
                              f"{s['model']} {s['corpus']}` names the utterances, "
                              f"{extract_command(s['model'], s['corpus'])} rewrites them", soft_wrap=False)
    for stray in strays:
        err_console.print(f"[red]{stray}: a file, not a store (a store is a folder): it is not listed, and it blocks "
                          f"extracting that store; move it away", highlight=False, soft_wrap=False)
    if files:
        console.print(f"store-bank cache: {len(files)} bank(s), {bank_bytes / 2**30:.1f} GiB in {banks} (safe to delete)",
                      soft_wrap=False)


@stores_app.command("verify")
def stores_verify(model: str = typer.Argument(..., callback=check.model_name),
                  corpus: str = typer.Argument(..., help="a corpus (or corpus@view), or all: every store of the model",
                                               callback=check.stored_corpus),
                  root: Optional[str] = typer.Option(None, help="stores folder or URL", callback=check.stores_root),
                  repair: bool = typer.Option(False, help="drop the chunk files found damaged and mark the "
                                                          "utterances they held to be rewritten by `sergen extract`")):
    """Check offsets, counts, chunks (every byte, against its checksum), NaN/Inf and the manifest hash; name the
    utterances affected. With --repair, prepare exactly those for `sergen extract` to rewrite."""
    from sergen.config import data_dir
    from sergen.corpora.keywords import corpus_keyword, keyword_misuse
    from sergen.extractors import canonical_model
    from sergen.store.layout import extract_command
    from sergen.store.reader import existing_stores
    from sergen.store.ref import store_name_of

    model, root = canonical_model(model), root or data_dir("stores")
    if corpus_keyword(corpus) == "all":
        names = [c for m, c in existing_stores(root, include_views=True) if m == model]
        if not names:
            raise SergenError(f"no {model} stores in {root}", where=str(root),
                              fix=f"run {extract_command(model, 'CORPUS')} (`sergen stores ls` lists the stores)")
    elif corpus_keyword(corpus):
        raise SergenError(f"{corpus!r} is a keyword of --train, not a store", fix="give a corpus, or all")
    elif misuse := keyword_misuse(corpus):  # ``all,emodb``: never read as a store named so
        raise SergenError(f"{corpus!r}: {misuse}", fix="give one corpus, or all")
    else:
        names = [store_name_of(corpus)]  # names read as extract and probe read them
    failed = [name for name in names if not verify_one(model, name, root, repair, named=len(names) > 1)]
    if failed:
        raise typer.Exit(1)


def _no_store_fix(model: str, corpus: str) -> str:
    """The way to a store that is not there: the extract that makes it, where that extract would run; else what
    is wrong with the names (an extract command that is itself refused helps nobody)."""
    from sergen.corpora.manifest import load_manifest
    from sergen.extractors import EXTRACTORS
    from sergen.extractors.hf_generic import PREFIX, store_name
    from sergen.store.layout import extract_command

    listing = "`sergen stores ls` lists the stores there are"
    if model not in EXTRACTORS and not model.startswith((PREFIX, store_name(""))):  # hf:<id> in either form
        return f"no model {model!r} is known (`sergen models ls` lists them); {listing}"
    try:
        load_manifest(corpus.partition("@")[0])
    except SergenError as exc:
        return f"{exc.what}; {listing}"
    return f"run {extract_command(model, corpus)} ({listing})"


def verify_one(model: str, corpus: str, root, repair: bool, named: bool = False) -> bool:
    """``stores verify`` of one store: its problems (under its name, where several stores are verified) and the
    way out printed; True where it is sound (or was prepared for repair)."""
    from sergen.corpora.manifest import audio_hash, load_manifest, manifest_hash
    from sergen.store.layout import extract_command, store_path
    from sergen.store.location import check_store_slot, exists
    from sergen.store.verify import verify_store

    path = store_path(model, corpus, root)
    check_store_slot(path)  # a file named like the store is named as such
    if not exists(path):
        raise SergenError(f"no store {model}/{corpus}", where=str(path), fix=_no_store_fix(model, corpus))
    try:
        manifest = load_manifest(corpus.partition("@")[0])[0]
        current, audio = manifest_hash(manifest), audio_hash(manifest)
    except SergenError:
        manifest = current = audio = None
    report = verify_store(path, current, audio, manifest)
    for note in report.notes:
        err_console.print(f"[yellow]note: {note}")
    if report.ok:
        console.print(f"[green]{model}/{corpus}: ok")
        return True
    if named:
        err_console.print(f"[red]{model}/{corpus}:", highlight=False)
    for problem in report.problems:
        err_console.print(f"[red]- {problem}")
    if repair:
        repair_store(path, model, corpus, report)
        return True
    if report.needs_repair:
        err_console.print(f"repair: `sergen stores verify {model} {corpus} --repair`, then "
                          f"{extract_command(model, corpus)} rewrites exactly the utterances named", highlight=False)
    elif report.repairable:
        err_console.print(f"repair: {extract_command(model, corpus)} rewrites exactly the utterances named",
                          highlight=False)
    if report.needs_repair or report.repairable:
        _say_weights_needed(model, path)
    return False


def _say_weights_needed(model: str, path) -> None:
    """A repair's extract needs the model's weights: said where they are not here (``weights_needed``)."""
    from sergen.cli.weights_hint import weights_needed
    from sergen.store.reader import store_attrs

    try:
        recorded = store_attrs(path).get("weights")
    except Exception:  # noqa: BLE001 - a store whose record does not read: its problems are named above
        recorded = None
    note = weights_needed(model, recorded)
    if note:
        err_console.print(f"[yellow]note: {note}", highlight=False)


def repair_store(path, model: str, corpus: str, report) -> None:
    """Drop the damaged chunk files and mark their utterances pending (``sergen.store.repair``), under the
    store's lock; refused, with nothing changed, where the store needs more than a rewrite of utterances."""
    import zarr

    from sergen.store.layout import extract_command, rebuild_command
    from sergen.store.location import is_remote
    from sergen.store.lock import StoreLock
    from sergen.store.repair import apply_repair

    if not report.plan or report.blocking:
        raise SergenError(f"store {model}/{corpus} cannot be repaired by rewriting utterances: "
                          f"{(report.blocking or report.problems)[0]}", where=str(path),
                          fix=f"rebuild it with {rebuild_command(model, corpus)}" if report.blocking
                          else f"run {extract_command(model, corpus)} to finish it")
    if is_remote(path):
        raise SergenError(f"--repair works on stores on a local disk, not {path}", where=str(path),
                          fix=f"rebuild it with {rebuild_command(model, corpus)}")
    with StoreLock(path):
        apply_repair(zarr.open_group(str(path), mode="r+"), report.plan, str(path))
    console.print(f"{model}/{corpus}: {len(report.plan.drop)} damaged chunk file(s) dropped, "
                  f"{len(report.plan.utts)} utterance(s) marked to rewrite; now run {extract_command(model, corpus)}",
                  highlight=False)
    _say_weights_needed(model, path)


@app.command()
def views():
    """The waveform augmentation views (the poster's list)."""
    from sergen.augment import VIEWS

    console.print(registry_table(VIEWS, "what it does", lambda cls: cls.description))


@models_app.command("ls")
def models_ls(as_json: bool = typer.Option(False, "--json", help="print JSON for scripts instead of a table")):
    """Every extractor: sample rate, frame rate, dimension, weights present locally?"""
    from sergen.extractors import EXTRACTORS, get_extractor
    from sergen.extractors.options import describe

    models = []
    for name in EXTRACTORS.names():
        cls = EXTRACTORS.get(name)
        entry = {"model": name, "aliases": EXTRACTORS.aliases(name), "sample_rate": cls.sample_rate,
                 "frame_rate": cls.frame_rate_text or f"{cls.frame_rate:g}", "dim": cls.dim,
                 "weights_present": False, "weights_problem": None, "revision": cls.revision, "source": cls.source,
                 "batching": cls.batching, "precisions": list(cls.precisions), "options": describe(cls.Options)}
        try:
            extractor = get_extractor(name)  # with the configured weights and revision
            entry.update(weights_present=bool(extractor.weights_present()), revision=extractor.revision)
        except SergenError as exc:
            entry["weights_problem"] = exc.what
        models.append(entry)
    if as_json:
        print_json({"models": models})
        return
    headers = ["model", "aliases", "rate (Hz)", "frames/s", "dim", "weights here", "revision", "source"]
    rows = [[m["model"], ", ".join(m["aliases"]), str(m["sample_rate"]), m["frame_rate"], str(m["dim"]),
             "yes" if m["weights_present"] else f"[red]no ({m['weights_problem']})" if m["weights_problem"] else "[red]no",
             m["revision"] or "-", m["source"]] for m in models]
    rows.append(["hf:<model-id>", "", "the model's own", "from its convolutions", "hidden size",
                 "per model", "main", "any wav2vec2-family encoder (wav2vec2, HuBERT, data2vec-audio …)"])
    table, left_out = fitted_table(headers, rows, 1, ["source", "revision"], console.width)
    console.print(table)
    if left_out:  # too narrow (a pipe is 80 columns): the long text goes below, wrapped at spaces only
        console.print(f"{' and '.join(left_out)} of each model:")
        below = Table.grid(padding=(0, 1))
        below.add_column(no_wrap=True)
        below.add_column()
        for row in rows:
            below.add_row(f"  {row[0]}:", "; ".join(f"{h} {row[headers.index(h)]}" for h in left_out))
        console.print(below, highlight=False)
    from sergen.extractors import HFEncoder

    console.print("batching (`sergen models check MODEL` verifies it) and precisions:")
    below = Table.grid(padding=(0, 1))
    below.add_column(no_wrap=True)
    below.add_column()
    for name, batching, precisions in [(m["model"], m["batching"], m["precisions"]) for m in models] + [
            ("hf:<model-id>", HFEncoder.batching, HFEncoder.precisions)]:
        below.add_row(f"  {name}:", f"{batching}; {'/'.join(precisions)}")
    console.print(below, highlight=False)
    console.print("options (`--opt key=value`, or `OPT=\"key=value …\"` with make extract):")
    below = Table.grid(padding=(0, 1))
    below.add_column(no_wrap=True)
    below.add_column()
    for name, options in [(m["model"], m["options"]) for m in models if m["options"] != "none"] + [
            ("hf:<model-id>", describe(HFEncoder.Options))]:
        below.add_row(f"  {name}:", options)
    console.print(below, highlight=False)


@models_app.command("check")
def models_check(
    model: str = typer.Argument(..., help="extractor name (`sergen models ls`) or hf:<model-id>",
                                callback=check.model_name),
    corpus: Optional[str] = typer.Option(None, help="whose utterances (default: the first corpus with a manifest)",
                                         callback=check.corpus_name_given),
    device: Optional[str] = typer.Option(None, help="cuda, cuda:1, cpu (default: CUDA when present)",
                                         callback=check.device),
    weights: Optional[Path] = typer.Option(None, help="local checkpoint file or folder (default: as `sergen extract`)",
                                           callback=check.existing_path),
    root: Optional[Path] = typer.Option(None, help="corpus root, when it moved since the manifest was made",
                                        callback=check.existing_dir),
    utterances: int = typer.Option(6, help="how many utterances, spread over the corpus's lengths",
                                   callback=check.check_utterances),
    batch_seconds: float = typer.Option(60.0, help="audio seconds per batch, as for `sergen extract`",
                                        callback=check.positive_float),
    layers: Optional[str] = typer.Option(None, help="as for `sergen extract`", callback=check.layers),
    precision: Optional[str] = typer.Option(None, help="fp32 (default), bf16 or fp16, as for `sergen extract`",
                                            callback=check.precision),
    input_mode: Optional[str] = typer.Option(None, help="whisper-*: padded (default) or trimmed",
                                             callback=check.input_mode),
    opt: list[str] = typer.Option([], "--opt", help=OPT_HELP),
    tolerance: Optional[float] = typer.Option(None, help="largest |batched − alone| / RMS of the frames alone "
                                                         "(default 1e-3 at fp32, 5e-2 at bf16/fp16)",
                                              callback=check.positive_float),
):
    """Batch invariance on your own utterances, weights and device: each utterance embedded alone and through
    extraction's batching; prints the largest difference and the cosine per utterance and exits 1 beyond the
    tolerance."""
    import numpy as np

    from sergen.batch_check import TOLERANCE, compare, pick_spread, with_common_length
    from sergen.extract import plan_frames
    from sergen.extract_window import decode_row
    from sergen.extractors import get_extractor
    from sergen.extractors import default_device
    from sergen.preflight import preflight

    names = manifest_corpora()
    if corpus is None and not names:
        raise SergenError("no manifests yet: the check embeds utterances of one of your corpora",
                          fix="run `sergen manifest CORPUS --root DIR` (or `sergen demo-data` and `make demo`) first")
    corpus = corpus or names[0]
    options = extractor_options(opt, layers=layers, precision=precision, input_mode=input_mode)
    manifest, _, corpus_root = preflight(model, corpus, device=device, weights=weights, corpus_root=root,
                                         batch_seconds=batch_seconds, extractor_options=options or None)
    extractor = get_extractor(model, device=device or default_device(model), weights=weights, **options).load()
    plan = plan_frames(manifest, extractor)
    rows = [plan.iloc[i] for i in pick_spread(plan["n_model"].to_numpy(), utterances)]
    ids, waves = [], []
    for row in rows:
        wav, error = decode_row(corpus_root, row, extractor, None, 0)
        if error:
            err_console.print(f"[yellow]{row.utt_id}: left out ({error})")
            continue
        ids.append(str(row.utt_id))
        waves.append(wav)
    if not waves:
        raise SergenError(f"none of the {len(rows)} utterances picked could be decoded", where=str(corpus_root),
                          fix="check the corpus with `sergen extract` first (it names each failing file)")
    ids, waves = with_common_length(ids, waves, extractor.min_samples)
    limit = tolerance or TOLERANCE[extractor.precision]
    found = compare(extractor, ids, waves, batch_seconds)
    table = Table(title=f"{extractor.name} on {corpus}, {extractor.device}, {extractor.precision}: "
                        "batched (as extraction runs) vs alone")
    for header in ("utterance", "frames", "max |Δ|", "max |Δ| / RMS", "min cosine", ""):
        table.add_column(header, justify="left" if header == "utterance" else "right")
    for d in found:
        table.add_row(d.utt_id, str(d.n_frames), f"{d.max_abs:.2e}", f"{d.relative:.2e}", f"{d.cosine:.6f}",
                      "ok" if d.relative <= limit else "[red]beyond")
    console.print(table)
    worst = max(found, key=lambda d: d.relative)
    verdict = (f"largest deviation {worst.relative:.2e} × RMS ({worst.utt_id}); tolerance {limit:g} × RMS; "
               f"batching: {extractor.batching}")
    if worst.relative > limit or not np.isfinite(worst.relative):
        err_console.print(f"[red]not batch-invariant here: {verdict}")
        raise typer.Exit(1)
    console.print(f"batch-invariant: {verdict}")


def unreachable(stem: str) -> str | None:
    """Why a manifest named ``stem`` cannot be read by its name, or None: a reader's name or alias in another
    spelling (``csv``, ``Folder``: read as folder), or a keyword (``all``, ``each``: every corpus)."""
    from sergen.corpora import CORPUS_READERS
    from sergen.corpora.keywords import corpus_keyword

    if corpus_keyword(stem):
        return f"{stem!r} is read as the keyword {corpus_keyword(stem)!r}"
    if stem in CORPUS_READERS and CORPUS_READERS.canonical(stem) != stem:
        return f"{stem!r} is read as {CORPUS_READERS.canonical(stem)}"
    return None


def refuse_unreachable(stems: list[str]) -> None:
    """``--corpus all`` over manifests one of which no name reaches: extracting it under its file name would make
    a store nothing reads, and reading it by its name would read another corpus; refused, naming each (here, not
    in ``corpora.manifest_names``: the reader registry it needs imports the manifest module)."""
    from sergen.corpora.manifest_names import remake_hint

    why = [(stem, reason) for stem in stems if (reason := unreachable(stem))]
    if not why:
        return
    raise SergenError("`all` takes every manifest, but " + "; ".join(f"manifests/{s}.csv cannot be reached by its "
                                                                      f"name ({r})" for s, r in why),
                      fix=f"remake it under a name of its own ({remake_hint(why[0][0])}), then delete the old "
                          "manifest and its .json")

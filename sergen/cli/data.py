"""Commands about corpora: listing readers, manifests, the synthetic demo data and the whole demo."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from sergen.cli import validate as check
from sergen.cli.app import app, config_app, registry_table
from sergen.console import console, err_console
from sergen.errors import SergenError

from sergen.cli.app import OUTSIDE_COLUMN, counts_table, native_counts_table


@app.command()
def corpora():
    """List the corpus readers with their aliases and native layouts."""
    from sergen.corpora import CORPUS_READERS

    console.print(registry_table(CORPUS_READERS, "native layout", lambda cls: cls.layout))


@app.command()
def manifest(
    corpus: str = typer.Argument(..., help="iemocap, cremad, msp, emodb, ravdess, folder (aliases allowed), "
                                           "or emobox:<dataset> with --emobox", callback=check.reader_name),
    root: Optional[Path] = typer.Option(None, help="the corpus's own folder (default: the configured root)"),
    out: Optional[Path] = typer.Option(None, help="CSV to write (default manifests/<corpus>.csv)",
                                       callback=check.output_file),
    seed: int = typer.Option(0, help="seed of random splits", callback=check.non_negative_int),
    keep_excited_apart: bool = typer.Option(False, help="IEMOCAP: keep 'exc' (excited) out of hap "
                                            "instead of merging it (kept for --labels native)"),
    labels: Optional[str] = typer.Option(None, help="CREMA-D: intended (default) or perceived",
                                         callback=check.choice("intended", "perceived")),
    test_set: Optional[str] = typer.Option(None, help="MSP-Podcast: which set is the test split (Test1)",
                                           callback=check.non_empty),
    csv: Optional[Path] = typer.Option(None, help="folder: the CSV with path,label[,speaker,split]",
                                       callback=check.label_csv),
    name: Optional[str] = typer.Option(None, help="folder: the corpus name to record", callback=check.corpus_name),
    emobox: Optional[Path] = typer.Option(None, help="emobox:<dataset>: an EmoBox checkout (the folder holding data/)",
                                          callback=check.existing_dir),
):
    """Read a corpus in its native layout and write its manifest (one row per utterance). The root is
    recorded beside the manifest (``<corpus>.json``), so a rerun needs no --root; the config is not touched."""
    from sergen.corpora import CORPUS_READERS, read_corpus, write_manifest

    corpus, emobox_prefix, emobox_dataset = corpus.partition(":")  # emobox:<dataset>
    canon = CORPUS_READERS.canonical(corpus)
    if (canon == "emobox") != bool(emobox_prefix) or (emobox is not None and canon != "emobox"):
        raise SergenError("EmoBox datasets are named emobox:<dataset>, and --emobox goes only with them",
                          fix="e.g. `sergen manifest emobox:iemocap --root IEMOCAP_DIR --emobox EmoBox`")
    options = {"seed": seed}
    if canon == "iemocap":
        options["merge_excited"] = not keep_excited_apart
    if canon == "cremad":
        options["labels"] = labels
    if canon == "msp":
        options["test_set"] = test_set
    if canon == "folder":
        options.update(csv=csv, name=name)
    if canon == "emobox":  # a rerun finds the root and checkout recorded beside the manifest
        from sergen.corpora.emobox import recorded_paths

        recorded_root, recorded_checkout = recorded_paths(emobox_dataset)
        root = root or recorded_root
        options.update(dataset=emobox_dataset, emobox=emobox or recorded_checkout)
    with err_console.status(f"reading {canon} …"):
        result = read_corpus(canon, root, **options)
    path = write_manifest(result, out)
    console.print(counts_table(result.manifest, f"{result.meta['corpus']}: {len(result.manifest)} utterances"))
    console.print(native_counts_table(result.manifest))
    if result.outside_four:
        console.print(f"{result.outside_four} utterances outside the four classes (column {OUTSIDE_COLUMN}) kept "
                      "for --labels native")
    if result.dropped:
        console.print("left out (no emotion class of their own, song, or another set): "
                      + ", ".join(f"{k} ({v})" for k, v in sorted(result.dropped.items())))
    for warning in result.warnings:
        err_console.print(f"[yellow]warning: {warning}")
    if result.problems:
        err_console.print(f"[yellow]{result.problems.summary()}")
    console.print(f"manifest written to [bold]{path}[/] (root {result.meta['root']} recorded in "
                  f"{path.with_suffix('.json')})")


@app.command("demo-data")
def demo_data(
    out: Path = typer.Option(Path("demo"), help="folder to write the five synthetic corpora into",
                             callback=check.not_under_a_file),
    seed: int = typer.Option(0, help="same seed, same corpora (0 … 2**32-1)", callback=check.non_negative_int),
    scale: float = typer.Option(1.0, help="utterances per speaker × scale (0.01 to 10)",
                                callback=check.demo_scale),
):
    """Synthesise the five demo corpora in their native layouts (speech-like audio, emotion by prosody).
    Replaces only demo corpora sergen made before (they carry SERGEN_DEMO.json) holding only files it wrote;
    refuses any other folder."""
    from sergen.corpora.demo import make_demo
    from sergen.corpora.demo.layouts import smallest_set_note

    with err_console.status("synthesising demo corpora …") as status:
        roots = make_demo(out, seed=seed, scale=scale,
                          progress=lambda c, n: status.update(f"synthesised {c} ({n} files) …"))
    for corpus, root in roots.items():
        console.print(f"{corpus:8s} → {root}   (then: sergen manifest {corpus} --root {root})")
    if smallest_set_note(scale):
        console.print(smallest_set_note(scale))


@app.command()
def demo(
    out: Path = typer.Option(Path("demo"), help="the demo's own workspace: corpora, manifests, stores, results, "
                                                  "reports and config all go here, nothing elsewhere",
                             callback=check.not_under_a_file),
    scale: float = typer.Option(1.0, help="utterances per speaker × scale (0.01 to 10)",
                                callback=check.demo_scale),
    models: str = typer.Option("melspec,egemaps", help="extractors to run (add cdpam-content if you have time)",
                               callback=check.model_names),
    views: str = typer.Option("pink-noise,reverb,eq,time-stretch", help="augmented views for the aug-share sweep",
                              callback=check.view_names),
    seeds: str = typer.Option("0,1,2", help="training seeds of every grid cell (the report shows their spread)"),
    workers: int = typer.Option(2, callback=check.worker_count),
    sequence_heads: bool = typer.Option(True, help="also train the heads that see frames (attn, cnn) on melspec: "
                                                   "each corpus alone, and cnn on all five with true and scrambled "
                                                   "labels; the first seed"),
):
    """sergen's main job on the built-in demo, in its own workspace: synthesise, manifest, extract, grid,
    analyse, report."""
    from sergen.demo import run_demo

    try:
        seed_list = check.listed_once([int(s) for s in seeds.split(",") if s.strip()], "--seeds")
    except ValueError:
        raise SergenError(f"--seeds must be whole numbers separated by commas, not {seeds!r}",
                          fix="e.g. --seeds 0,1,2") from None
    report, runs = run_demo(out, scale=scale, models=[m for m in models.split(",") if m],
                            views=[v for v in views.split(",") if v], workers=workers, seeds=seed_list,
                            sequence_heads=sequence_heads, with_runs=True)
    from sergen.report.remedy_sections import console_lines

    # the remedy the demo runs (--norm corpus) against its baseline, at a glance (the runs the report read)
    for line in console_lines(runs.rows, runs.records):
        console.print(line, highlight=False, markup=False)
    console.print(f"[bold green]report: {report}")


@config_app.command("init")
def config_init(folder: Path = typer.Argument(Path("."), help="the workspace folder (default: here)")):
    """Make FOLDER a workspace: write FOLDER/sergen.toml, the anchor sergen finds from any folder below it."""
    from sergen.config import init_workspace

    path = init_workspace(folder)
    console.print(f"workspace {path.parent} (manifests/, stores/, results/, reports/ beside {path.name})")


@config_app.command("set-root")
def config_set_root(corpus: str = typer.Argument(..., callback=check.corpus_name_given), root: Path = typer.Argument(...)):
    """Remember where a corpus lives, so later commands need no --root. A manifest recording another root is
    rebuilt from this one (with its reader options), so extraction reads the new root, never the old files."""
    from sergen.config import set_root
    from sergen.corpora import CORPUS_READERS
    from sergen.corpora.root_move import rebuild_for_root

    name = CORPUS_READERS.canonical(corpus)
    if not root.is_dir():
        raise SergenError(f"no folder at {root}", where=str(root.absolute()),
                          fix=f"give the folder that holds the {name} corpus")
    with err_console.status(f"reading {name} at its new root …"):
        rebuilt = rebuild_for_root(name, root)  # before the config: a root it cannot read changes nothing
    path = set_root(name, root)
    console.print(f"{name} root set in {path}")
    if rebuilt:
        console.print(rebuilt, highlight=False)


@config_app.command("set-weights")
def config_set_weights(model: str = typer.Argument(..., callback=check.model_name), path: Path = typer.Argument(...)):
    """Remember where a model's weights are (a checkpoint file or folder), so later commands need no --weights."""
    from sergen.config import set_weights
    from sergen.extractors import canonical_model

    if not path.exists():
        raise SergenError(f"no file or folder at {path}", fix="give the path of the checkpoint file or folder")
    name = canonical_model(model)
    config = set_weights(name, path)
    console.print(f"{name} weights set to {path.resolve()} in {config}")


@config_app.command("show")
def config_show():
    """Show the workspace and how it was found, the config file, and where each folder and root comes from."""
    from sergen.config import config_path, configured_root, find_workspace, load_config, locate_dir
    from sergen.corpora import CORPUS_READERS
    from sergen.corpora.manifest import recorded_root

    workspace = find_workspace()
    path = config_path()
    console.print(f"workspace  : {workspace.root}  (found via {workspace.found_via})", highlight=False)
    console.print(f"config file: {path}{'' if path.exists() else '  (none yet)'}", highlight=False)
    for kind in ("manifests", "stores", "results", "reports"):
        folder, origin = locate_dir(kind)
        console.print(f"{kind:11s}: {folder}" + ("" if origin == workspace.describe() else f"  ({origin})"),
                      highlight=False)
    for name in CORPUS_READERS.names():
        root, origin = configured_root(name), "configured"
        if root is None:
            root, origin = recorded_root(name), "recorded beside its manifest"
        console.print(f"root {name:8s}: {root or '-'}" + (f"  ({origin})" if root else ""), highlight=False)
    for table in ("weights", "revisions"):
        for model, value in load_config().get(table, {}).items():
            console.print(f"{table[:-1]} {model}: {value}", highlight=False)

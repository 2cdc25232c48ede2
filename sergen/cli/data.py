"""Commands about corpora: listing readers, manifests, the synthetic demo data and the whole demo."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from sergen.cli import validate as check
from sergen.cli.app import app, config_app, registry_table
from sergen.console import console, err_console
from sergen.errors import SergenError

from sergen.cli.app import counts_table


@app.command()
def corpora():
    """List the corpus readers with their aliases and native layouts."""
    from sergen.corpora import CORPUS_READERS

    console.print(registry_table(CORPUS_READERS, "native layout", lambda cls: cls.layout))


@app.command()
def manifest(
    corpus: str = typer.Argument(..., help="iemocap, cremad, msp, emodb, ravdess or folder (aliases allowed)"),
    root: Optional[Path] = typer.Option(None, help="the corpus's own folder (default: the configured root)"),
    out: Optional[Path] = typer.Option(None, help="CSV to write (default manifests/<corpus>.csv)",
                                       callback=check.output_file),
    seed: int = typer.Option(0, help="seed of random splits", callback=check.non_negative_int),
    keep_excited_apart: bool = typer.Option(False, help="IEMOCAP: drop 'exc' instead of merging it into hap"),
    labels: Optional[str] = typer.Option(None, help="CREMA-D: intended (default) or perceived",
                                         callback=check.choice("intended", "perceived")),
    test_set: Optional[str] = typer.Option(None, help="MSP-Podcast: which set is the test split (Test1)",
                                           callback=check.non_empty),
    csv: Optional[Path] = typer.Option(None, help="folder: the CSV with path,label[,speaker,split]"),
    name: Optional[str] = typer.Option(None, help="folder: the corpus name to record", callback=check.corpus_name),
):
    """Read a corpus in its native layout and write its manifest (one row per utterance)."""
    from sergen.config import set_root, configured_root
    from sergen.corpora import CORPUS_READERS, read_corpus, write_manifest

    canon = CORPUS_READERS.canonical(corpus)
    options = {"seed": seed}
    if canon == "iemocap":
        options["merge_excited"] = not keep_excited_apart
    if canon == "cremad":
        options["labels"] = labels
    if canon == "msp":
        options["test_set"] = test_set
    if canon == "folder":
        options.update(csv=csv, name=name)
    with err_console.status(f"reading {canon} …"):
        result = read_corpus(canon, root, **options)
    path = write_manifest(result, out)
    if root is not None and configured_root(result.meta["corpus"]) is None:
        set_root(result.meta["corpus"], root)
    console.print(counts_table(result.manifest, f"{result.meta['corpus']}: {len(result.manifest)} utterances"))
    if result.dropped:
        console.print("left out by the 4-class rule or subset: "
                      + ", ".join(f"{k} ({v})" for k, v in sorted(result.dropped.items())))
    for warning in result.warnings:
        err_console.print(f"[yellow]warning: {warning}")
    if result.problems:
        err_console.print(f"[yellow]{result.problems.summary()}")
    console.print(f"manifest written to [bold]{path}[/]")


@app.command("demo-data")
def demo_data(
    out: Path = typer.Option(Path("demo"), help="folder to write the five synthetic corpora into"),
    seed: int = typer.Option(0, help="same seed, same corpora", callback=check.non_negative_int),
    scale: float = typer.Option(1.0, help="utterances per speaker × scale", callback=check.positive_float),
):
    """Synthesise the five demo corpora in their native layouts (speech-like audio, emotion by prosody)."""
    from sergen.corpora.demo import make_demo

    with err_console.status("synthesising demo corpora …") as status:
        roots = make_demo(out, seed=seed, scale=scale,
                          progress=lambda c, n: status.update(f"synthesised {c} ({n} files) …"))
    for corpus, root in roots.items():
        console.print(f"{corpus:8s} → {root}   (then: sergen manifest {corpus} --root {root})")


@app.command()
def demo(
    out: Path = typer.Option(Path("demo"), help="where the synthetic corpora go"),
    scale: float = typer.Option(1.0, help="utterances per speaker × scale", callback=check.positive_float),
    models: str = typer.Option("melspec,egemaps", help="extractors to run (add cdpam-content if you have time)",
                               callback=check.names),
    views: str = typer.Option("pink-noise,reverb,eq,time-stretch", help="augmented views for the aug-share sweep"),
    workers: int = typer.Option(2, callback=check.positive_int),
):
    """sergen's main job on the built-in demo: synthesise, manifest, extract, grid, analyse, report."""
    from sergen.demo import run_demo

    report = run_demo(out, scale=scale, models=models.split(","), views=[v for v in views.split(",") if v],
                      workers=workers)
    console.print(f"[bold green]report: {report}")


@config_app.command("set-root")
def config_set_root(corpus: str, root: Path):
    """Remember where a corpus lives, so later commands need no --root."""
    from sergen.config import set_root
    from sergen.corpora import CORPUS_READERS

    path = set_root(CORPUS_READERS.canonical(corpus), root)
    console.print(f"{corpus} root set in {path}")


@config_app.command("set-weights")
def config_set_weights(model: str, path: Path):
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
    """Show the config file in use and the folders sergen reads and writes."""
    from sergen.config import config_path, configured_root, data_dir
    from sergen.corpora import CORPUS_READERS

    console.print(f"config file: {config_path()}")
    for kind in ("manifests", "stores", "results", "reports"):
        console.print(f"{kind:9s}: {data_dir(kind)}")
    for name in CORPUS_READERS.names():
        console.print(f"root {name:8s}: {configured_root(name) or '-'}")
    from sergen.config import load_config

    for table in ("weights", "revisions"):
        for model, value in load_config().get(table, {}).items():
            console.print(f"{table[:-1]} {model}: {value}")

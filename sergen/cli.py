"""The ``sergen`` command: thin wrappers that parse arguments and call the library."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from sergen import LABELS
from sergen.console import console, err_console
from sergen.errors import SergenError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Cross-corpus speech emotion recognition: manifests → stores → probes → reports.")
config_app = typer.Typer(no_args_is_help=True, help="Corpus roots and folders, set once.")
app.add_typer(config_app, name="config")


def counts_table(df, title: str) -> Table:
    table = Table(title=title)
    table.add_column("split")
    for label in LABELS:
        table.add_column(label, justify="right")
    table.add_column("total", justify="right")
    for split in ("train", "valid", "test"):
        part = df[df["split"] == split]
        table.add_row(split, *[str((part["label"] == lab).sum()) for lab in LABELS], str(len(part)))
    table.add_row("all", *[str((df["label"] == lab).sum()) for lab in LABELS], str(len(df)), style="bold")
    return table


@app.command()
def corpora():
    """List the corpus readers with their aliases and native layouts."""
    from sergen.corpora import CORPUS_READERS

    table = Table("corpus", "aliases", "native layout")
    for name in CORPUS_READERS.names():
        table.add_row(name, ", ".join(CORPUS_READERS.aliases(name)), CORPUS_READERS.get(name).layout)
    console.print(table)


@app.command()
def manifest(
    corpus: str = typer.Argument(..., help="iemocap, cremad, msp, emodb, ravdess or folder (aliases allowed)"),
    root: Optional[Path] = typer.Option(None, help="the corpus's own folder (default: the configured root)"),
    out: Optional[Path] = typer.Option(None, help="CSV to write (default manifests/<corpus>.csv)"),
    seed: int = typer.Option(0, help="seed of random splits"),
    keep_excited_apart: bool = typer.Option(False, help="IEMOCAP: drop 'exc' instead of merging it into hap"),
    labels: Optional[str] = typer.Option(None, help="CREMA-D: intended (default) or perceived"),
    test_set: Optional[str] = typer.Option(None, help="MSP-Podcast: which set is the test split (Test1)"),
    csv: Optional[Path] = typer.Option(None, help="folder: the CSV with path,label[,speaker,split]"),
    name: Optional[str] = typer.Option(None, help="folder: the corpus name to record"),
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
    if result.problems:
        err_console.print(f"[yellow]{result.problems.summary()}")
    console.print(f"manifest written to [bold]{path}[/]")


@app.command("demo-data")
def demo_data(
    out: Path = typer.Option(Path("demo"), help="folder to write the five synthetic corpora into"),
    seed: int = typer.Option(0, help="same seed, same corpora"),
    scale: float = typer.Option(1.0, help="utterances per speaker × scale"),
):
    """Synthesise the five demo corpora in their native layouts (speech-like audio, emotion by prosody)."""
    from sergen.corpora.demo import make_demo

    with err_console.status("synthesising demo corpora …") as status:
        roots = make_demo(out, seed=seed, scale=scale,
                          progress=lambda c, n: status.update(f"synthesised {c} ({n} files) …"))
    for corpus, root in roots.items():
        console.print(f"{corpus:8s} → {root}   (then: sergen manifest {corpus} --root {root})")


@config_app.command("set-root")
def config_set_root(corpus: str, root: Path):
    """Remember where a corpus lives, so later commands need no --root."""
    from sergen.config import set_root
    from sergen.corpora import CORPUS_READERS

    path = set_root(CORPUS_READERS.canonical(corpus), root)
    console.print(f"{corpus} root set in {path}")


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


def main():
    try:
        app()
    except SergenError as exc:
        err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted; rerun the same command to resume")
        sys.exit(130)


if __name__ == "__main__":
    main()

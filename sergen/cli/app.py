"""The ``sergen`` typer app, its sub-apps, shared table helpers and the entry point that turns
``SergenError`` into a message without a traceback."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape
from rich.table import Table

from sergen import LABELS
from sergen.console import err_console
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


def registry_table(registry, heading: str, describe) -> Table:
    """Name, aliases and one described attribute of every entry of a registry."""
    table = Table(registry.kind, "aliases", heading)
    for name in registry.names():
        table.add_row(name, ", ".join(registry.aliases(name)), describe(registry.get(name)))
    return table



def main():
    try:
        app()
    except SergenError as exc:
        err_console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False)  # "[roots]" is text
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted; rerun the same command to resume")
        sys.exit(130)

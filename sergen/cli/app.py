"""The ``sergen`` typer app, its sub-apps, shared table helpers and the entry point that turns
``SergenError`` into a message without a traceback."""

from __future__ import annotations

import json
import sys

import typer
from rich.table import Table
from rich.text import Text

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
    return keep_keys_whole(table, 1)


def keep_keys_whole(table: Table, keys: int) -> Table:
    """Never cut the first ``keys`` columns (names, corpora, paths: what a reader looks a row up by), even
    in a pipe where the width is 80: each is as wide as its longest cell; the other columns fold."""
    for k, column in enumerate(table.columns):
        if k < keys:
            column.no_wrap = True
            column.min_width = max([Text.from_markup(str(c)).cell_len for c in column.cells]
                                   + [Text.from_markup(str(column.header)).cell_len])
        else:
            column.overflow = "fold"
    return table


def print_json(data) -> None:
    """JSON on stdout for scripts (progress and messages go to stderr)."""
    sys.stdout.write(json.dumps(_finite(data), indent=1, default=_json_default, allow_nan=False) + "\n")


def _finite(value):
    """NaN (a metric undefined for a test set) as null: JSON has no NaN."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _finite(value.item())
    return value


def _json_default(value):
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)



def main():
    try:
        app()
    except SergenError as exc:
        err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted; rerun the same command to resume")
        sys.exit(130)

"""The ``sergen`` typer app, its sub-apps, shared table helpers and the entry point that turns
``SergenError`` into a message without a traceback."""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import sys

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from sergen import LABELS
from sergen.console import OutputConsole, err_console
from sergen.errors import SergenError


class SergenGroup(TyperGroup):
    """The root command: once the whole command tree is built, every path parameter refuses ''
    (``validate.refuse_empty_paths``), whichever module declares it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from sergen.cli.validate import refuse_empty_paths

        refuse_empty_paths(self)


app = typer.Typer(cls=SergenGroup, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Cross-corpus speech emotion recognition: manifests → stores → probes → reports.")
config_app = typer.Typer(no_args_is_help=True, help="Corpus roots and folders, set once.")
app.add_typer(config_app, name="config")


def _print_version(value: bool) -> None:
    if value:
        from sergen import __version__

        print(f"sergen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                       help="print sergen's version (every result records it) and exit")):
    """Cross-corpus speech emotion recognition: manifests → stores → probes → reports."""


OUTSIDE_COLUMN = "outside"
"""Header of the counts column for utterances whose native class is none of the four (label "")."""


def counts_table(df, title: str) -> Table:
    """Utterances per split of the four classes, and of the classes outside them (kept for --labels native)."""
    table = Table(title=title)
    table.add_column("split")
    for label in (*LABELS, OUTSIDE_COLUMN):
        table.add_column(label, justify="right")
    table.add_column("total", justify="right")

    def cells(part) -> list[str]:
        return [str((part["label"] == lab).sum()) for lab in (*LABELS, "")] + [str(len(part))]

    for split in ("train", "valid", "test"):
        table.add_row(split, *cells(df[df["split"] == split]))
    table.add_row("all", *cells(df), style="bold")
    return table


def native_counts_table(df) -> Table:
    """Utterances per native class (what ``--labels native`` trains on) and split, with the 4-class label each
    native class maps to ("-": none of the four)."""
    table = Table(title="native classes (--labels native)")
    for header in ("native", "4-class", "train", "valid", "test", "all"):
        table.add_column(header, justify="left" if header in ("native", "4-class") else "right")
    for native, part in df.groupby("native_label", sort=True):
        mapped = ", ".join(sorted(set(part["label"]) - {""})) or "-"
        table.add_row(str(native), mapped, *[str((part["split"] == s).sum()) for s in ("train", "valid", "test")],
                      str(len(part)))
    return keep_keys_whole(table, 1)


def registry_table(registry, heading: str, describe) -> Table:
    """Name, aliases and one described attribute of every entry of a registry."""
    table = Table(registry.kind, "aliases", heading)
    for name in registry.names():
        table.add_row(name, ", ".join(registry.aliases(name)), describe(registry.get(name)))
    return keep_keys_whole(table, 1)


LONGEST_WHOLE_WORD = 24
"""Words up to this long are never cut in a table; longer ones (paths inside a message) may fold."""


def keep_keys_whole(table: Table, keys: int) -> Table:
    """Never cut the first ``keys`` columns (names, corpora, paths: what a reader looks a row up by), even
    in a pipe where the width is 80: each is as wide as its longest cell. The other columns fold at spaces
    only: each is at least as wide as its longest word (header included), so a number is never split."""
    for k, column in enumerate(table.columns):
        texts = [Text.from_markup(str(c)).plain for c in column.cells] + [Text.from_markup(str(column.header)).plain]
        if k < keys:
            column.no_wrap = True
            column.min_width = max(Text(t).cell_len for t in texts)
        else:
            column.overflow = "fold"
            column.min_width = min(LONGEST_WHOLE_WORD, max([Text(w).cell_len for t in texts for w in t.split()] + [1]))
    return table


def table_min_width(table: Table) -> int:
    """Characters the table needs with every column at its ``min_width`` (borders and padding included)."""
    return sum((c.min_width or 1) + 2 for c in table.columns) + len(table.columns) + 1


def fitted_table(headers: list[str], rows: list[list[str]], keys: int, droppable: list[str],
                 width: int) -> tuple[Table, list[str]]:
    """A table (see ``keep_keys_whole``) that leaves out the columns of ``droppable``, in that order, while it
    is wider than ``width``; returns it with the headers left out, which the caller shows another way."""
    left_out: list[str] = []
    while True:
        shown = [i for i, h in enumerate(headers) if h not in left_out]
        table = Table(*[headers[i] for i in shown])
        for row in rows:
            table.add_row(*[row[i] for i in shown])
        keep_keys_whole(table, keys)
        rest = [h for h in droppable if h not in left_out]
        if table_min_width(table) <= width or not rest:
            return _set_widths(table, width), left_out
        left_out.append(rest[0])


def _set_widths(table: Table, width: int) -> Table:
    """Fix each column's width when the table is wider than ``width``: its ``min_width``, plus a share of what
    is left, given to the columns that need it most. Rich's own shrinking may stop wider than the line."""
    natural = [max(Text.from_markup(str(t)).cell_len for t in [c.header, *c.cells]) for c in table.columns]
    overhead = 3 * len(table.columns) + 1
    if sum(natural) + overhead <= width:
        return table
    widths = [min(c.min_width or 1, n) for c, n in zip(table.columns, natural)]
    spare = width - overhead - sum(widths)
    while spare > 0 and any(w < n for w, n in zip(widths, natural)):
        k = max(range(len(widths)), key=lambda i: natural[i] - widths[i])
        widths[k] += 1
        spare -= 1
    for column, w in zip(table.columns, widths):
        column.width = w
    return table


def print_json(data) -> None:
    """JSON on stdout for scripts (progress and messages go to stderr)."""
    from sergen.console import close_stdout

    text = json.dumps(_finite(data), indent=1, default=_json_default, allow_nan=False) + "\n"
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # a reader that stopped early: the command still finishes (see OutputConsole)
        close_stdout()


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



def json_requested(argv: list[str] | None = None) -> bool:
    """The user asked for JSON (``--json`` before any ``--``): errors then also go to stdout as JSON."""
    args = list(sys.argv[1:] if argv is None else argv)
    return "--json" in (args[:args.index("--")] if "--" in args else args)


def error_object(exc: Exception) -> dict:
    """``{"error", "where", "fix"}`` of a SergenError or a click usage error (a malformed option value)."""
    if isinstance(exc, SergenError):
        return {"error": exc.what, "where": exc.where, "fix": exc.fix}
    param = getattr(exc, "param", None)
    ctx = getattr(exc, "ctx", None)
    where = f"option {'/'.join(param.opts)}" if param is not None and getattr(param, "opts", None) else None
    command = ctx.command_path if ctx is not None else "sergen"
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    return {"error": message, "where": where, "fix": f"see `{command} --help`"}


PATH_ERRNOS = {errno.EACCES, errno.EPERM, errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EROFS}


def path_error(exc: OSError) -> SergenError:
    """A path the user named that cannot be made, read or written (``--out /sys/x``, a read-only folder) as a
    message; any other OSError is a fault sergen does not expect and keeps its traceback."""
    if exc.errno not in PATH_ERRNOS or not exc.filename:
        raise exc
    return SergenError(f"{exc.filename}: {exc.strerror or type(exc).__name__}",
                       fix="name a path you can use: a folder sergen makes needs a parent that exists and is "
                           "writable (not /proc, /sys or a read-only folder); a file it reads must exist")


@contextlib.contextmanager
def heavy_imports():
    """A command's own imports (pandas, Zarr, ...) without the cyclic garbage collector, then every object alive
    frozen out of its reach, once per process: imports make few cycles, and a collection during them walked
    every module object made so far, again and again (80-240 ms of a cold `sergen extract`, issue 22). What
    the command allocates later is collected as before."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        if not gc.get_freeze_count():
            gc.freeze()


def main():
    """Run the app; a SergenError or a usage error ends with its message (and, under ``--json``, a JSON error
    object on stdout) and exit code 2, never a traceback."""
    from typer import rich_utils

    from sergen.console import stand_in_for_closed_streams

    stand_in_for_closed_streams()
    as_json = json_requested()
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        err_console.print("Aborted!")
        sys.exit(1)
    except typer.TyperException as exc:  # click's usage errors: a malformed option value, an unknown option
        if as_json and exc.__class__.__name__ != "NoArgsIsHelpError":
            print_json(error_object(exc))
        rich_utils.rich_format_error(exc)
        sys.exit(getattr(exc, "exit_code", 2))
    except typer.Abort:
        err_console.print("Aborted!")
        sys.exit(1)
    except (SergenError, OSError) as exc:
        exc = exc if isinstance(exc, SergenError) else path_error(exc)
        if as_json:
            print_json(error_object(exc))
        err_console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False)  # "[roots]" is text
        sys.exit(2)
    except KeyboardInterrupt:
        code = 130
    if code == 130:  # typer turns Ctrl-C into exit code 130
        err_console.print("[yellow]interrupted; rerun the same command to resume")
    if OutputConsole.write_failed:
        err_console.print(f"[bold red]error:[/] the output could not be written ({OutputConsole.write_failed}): "
                          "stdout was closed, and the command carried on to its end; everything it saves (runs, "
                          "matrices, reports) was saved", highlight=False)
        sys.exit(code if isinstance(code, int) and code else 1)
    if OutputConsole.pipe_closed:
        err_console.print("[yellow]note: the output pipe closed early (e.g. `| head`), so the rest of the output was "
                          "not printed; the command carried on to its end, and everything it saves (runs, matrices, "
                          "reports) was saved", highlight=False)
    sys.exit(code if isinstance(code, int) else 0)

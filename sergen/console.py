"""Shared rich console and progress bar, so every long command shows the same kind of progress."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn



class OutputConsole(Console):
    """stdout. A pipe closed early (``sergen grid … | head``) stops the printing, never the command: rich's
    default exits at the next print, which stopped a grid between runs and said nothing. ``pipe_closed``
    tells ``main`` to say on stderr that the command carried on and kept what it saves."""

    pipe_closed = False
    write_failed: str | None = None  # why stdout could not be written (a full disk, ``> /dev/full``), if so

    def on_broken_pipe(self) -> None:
        close_stdout()

    def _check_buffer(self) -> None:
        """As rich's, but stdout that cannot be written (no space left, an I/O error) is closed like a broken
        pipe, and ``main`` says so, instead of a traceback ending the command mid-work."""
        try:
            super()._check_buffer()
        except OSError as exc:
            OutputConsole.write_failed = exc.strerror or str(exc)
            self._buffer.clear()
            close_stdout()


def close_stdout() -> None:
    """Point stdout at /dev/null (further prints, and Python's flush at exit, go nowhere) and remember it."""
    console.quiet = True
    OutputConsole.pipe_closed = True
    _to_devnull(sys.stdout)


def _to_devnull(stream) -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
    except (OSError, ValueError, AttributeError):  # no real stream (a test's capture): nothing more is printed anyway
        pass


class ErrorConsole(Console):
    """stderr. Piped with stdout into a reader that stops early (``sergen grid … 2>&1 | head``), it is closed
    the same way: the command carries on and keeps what it saves (nothing can be said on a closed stderr)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        OutputConsole.pipe_closed = True
        _to_devnull(sys.stderr)


class ClosedStream:
    """Stands in for a standard stream the shell closed (``sergen stores ls >&-``), where Python leaves
    ``sys.stdout`` None and rich would drop every line without a word: a write to it is remembered, so the
    command ends saying its output was lost, with a non-zero code, as a full disk does."""

    def __init__(self, name: str):
        self.name = name

    def write(self, text: str) -> int:
        if text and self.name == "stdout":
            OutputConsole.write_failed = "Bad file descriptor"
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError(f"{self.name} is closed")


def stand_in_for_closed_streams() -> None:
    """Give a closed stdout or stderr a ``ClosedStream`` (called first thing by the CLI's ``main``)."""
    if sys.stdout is None:
        sys.stdout = ClosedStream("stdout")
    if sys.stderr is None:
        sys.stderr = ClosedStream("stderr")


console = OutputConsole(stderr=False, soft_wrap=True)
err_console = ErrorConsole(stderr=True, soft_wrap=True)


def progress_bar(*extra_columns, enabled: bool = True) -> Progress:
    """A progress bar on stderr; off when asked, or when stderr is no terminal (unless SERGEN_PROGRESS=1)."""
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), *extra_columns,
        TimeElapsedColumn(), TimeRemainingColumn(), console=err_console,
        disable=not enabled or (not sys.stderr.isatty() and not _force_progress()),
    )


def _force_progress() -> bool:
    import os

    return os.environ.get("SERGEN_PROGRESS", "") == "1"

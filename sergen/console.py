"""Shared rich console and progress bar, so every long command shows the same kind of progress."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

console = Console(stderr=False, soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


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

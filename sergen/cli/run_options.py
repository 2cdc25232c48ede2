"""The probe's and grid's run options as command-line options, made from the run-option table
(``sergen.spec``): declared once, with one help text, for both commands. The probe takes one value of each;
the grid takes several (comma-separated) of the options the table marks ``several``, under their plural names
(``--heads``, ``--seeds``)."""

from __future__ import annotations

import inspect
from typing import Callable, Optional

import typer

from sergen.cli import validate as check
from sergen.spec import RunOption, cli_options


def option_help(option: RunOption, grid: bool) -> str:
    if grid and option.grid_help:
        return option.grid_help
    return f"{option.help}; several, comma-separated (one run each)" if grid and option.several else option.help


def parameter(option: RunOption, grid: bool) -> inspect.Parameter:
    """The typer option of ``option`` in the probe (one value) or the grid (several, as a comma list)."""
    default = option.grid_default_value if grid else option.default
    kind = str if grid and option.several else option.type
    checker = option.grid_check if grid else option.check
    info = typer.Option(default, help=option_help(option, grid), callback=getattr(check, checker) if checker else None)
    return inspect.Parameter(option.grid_name if grid else option.name, inspect.Parameter.KEYWORD_ONLY, default=info,
                             annotation=Optional[kind] if default is None else kind)


def with_run_options(grid: bool, options=None) -> Callable:
    """Give a command ``(ctx, <its own options>, **options)`` every run option, after ``ctx`` and before its
    own options; their values arrive in ``**options`` (and ``ctx.params``). ``options``: another table (tests)."""
    def wrap(command: Callable) -> Callable:
        own = inspect.signature(command)
        params = [p for p in own.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        run = [parameter(o, grid) for o in (cli_options(options) if options else cli_options())]
        command.__signature__ = own.replace(parameters=[params[0], *run,
                                                        *(p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
                                                          for p in params[1:])])
        return command

    return wrap

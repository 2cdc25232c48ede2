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


def norm_choices() -> tuple[str, str]:
    """The registered normalisations: (each with its one-line help, their names as ``allowed`` lists them)."""
    from sergen.train.norms import NORMS, choices_text

    return "; ".join(f"{n}: {NORMS.get(n).help}" for n in NORMS.names()), choices_text()


def pool_choices() -> tuple[str, str]:
    """The registered poolings, as ``norm_choices`` gives the normalisations."""
    from sergen.train.pooling import POOLS

    names = [f'"{n}"' for n in POOLS.names()]
    return ("; ".join(f"{n}: {POOLS.get(n).help}" for n in POOLS.names()),
            names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}")


def head_choices() -> tuple[str, str]:
    """The registered heads: (each with its ``summary``, each with its ``note``); no torch is imported."""
    from sergen.train.head_base import head_choices as listed
    from sergen.train.heads import HEADS  # noqa: F401  (registers every head)

    return listed()


# options whose values are a registry's names: their help and allowed values are read from it, so a strategy
# registered there is a choice here with no other edit
REGISTERED = {"norm": norm_choices, "pool": pool_choices, "head": head_choices}


def base_help(option: RunOption) -> str:
    """The option's help, with the registered choices where its values are a registry's names."""
    listed = REGISTERED.get(option.name)
    return f"{option.help} — {listed()[0]}" if listed else option.help


def allowed(option: RunOption, grid: bool) -> str:
    """The values allowed, as an error message names them (a registry's names where it has one)."""
    listed = REGISTERED.get(option.name)
    if listed:
        names = listed()[1]
        if grid and option.several:  # the option's own wording of a list, where it has one
            return option.grid_allowed.format(names=names) if option.grid_allowed else f"{names}, or a list of them"
        return names
    return option.grid_allowed_text() if grid else option.allowed


def option_help(option: RunOption, grid: bool) -> str:
    if grid and option.grid_help:
        return option.grid_help
    text = base_help(option)
    return f"{text}; several, comma-separated (one run each)" if grid and option.several else text


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

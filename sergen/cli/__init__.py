"""The ``sergen`` command: thin wrappers that parse arguments and call the library, one module per
group of commands (corpora, stores, experiments)."""

from sergen.cli import benchmark, compare, data, experiments, stores  # noqa: F401  (registers the commands on ``app``)
from sergen.cli.app import app, main

__all__ = ["app", "main"]

"""The ``sergen`` command tree written out as Markdown: the documentation site's CLI reference
(``docs/reference/cli.md``) is this text, and every site build compares the two (``docs/hooks/reference.py``),
so a reference that lags behind the commands fails ``make test``."""

from __future__ import annotations

import html
import re

import typer

from sergen.cli import app

PROG = "sergen"


def command_tree():
    """The whole command tree (``sergen probe``, ``sergen stores ls``, …) as typer's click command."""
    return typer.main.get_command(app)


def command_paths() -> list[str]:
    """Every command a user can type, e.g. ``sergen stores ls``, in the reference's order."""
    return [path for path, _, _ in _walk(command_tree(), _context(command_tree(), PROG), PROG)]


def cli_reference() -> str:
    """The reference page: per command its help, its usage line and a table of its arguments and options."""
    root = command_tree()
    parts = ["# Command-line reference", "",
             "Every `sergen` command with its arguments and options, generated from the typer app",
             "(`sergen.cli.reference`); a site build fails when this page differs from the code. `sergen <command>",
             "--help` prints the same. Commands with sub-commands list them first.", ""]
    for path, command, ctx in _walk(root, _context(root, PROG), PROG):
        depth = path.count(" ")
        parts += [f"{'#' * min(depth + 2, 4)} `{path}`", ""]
        if command.help:
            parts += [_text(command.help), ""]
        parts += ["```", " ".join([path, *command.collect_usage_pieces(ctx)]), "```", ""]  # one line, any terminal
        subcommands = getattr(command, "commands", None)
        if subcommands:
            parts += ["| command | what it does |", "|---|---|"]
            for name in sorted(subcommands):
                sub = subcommands[name]
                if not sub.hidden:
                    parts.append(f"| [`{path} {name}`](#{_anchor(f'{path} {name}')}) | {_cell(_first_line(sub.help))} |")
            parts.append("")
            continue
        records = [(p, p.get_help_record(ctx)) for p in command.get_params(ctx)]
        records = [(p, r) for p, r in records if r is not None]
        if records:
            parts += ["| argument or option | what it is |", "|---|---|"]
            for param, (flags, text) in records:
                parts.append(f"| `{flags}` | {_cell(text)} |")
            parts.append("")
    return "\n".join(parts) + "\n"


def _context(command, name: str, parent=None):
    """The parsing context a command sees when typed (its usage line and option records need one)."""
    return command.context_class(command, info_name=name, parent=parent)


def _walk(command, ctx, path):
    yield path, command, ctx
    for name in sorted(getattr(command, "commands", {}) or {}):
        sub = command.commands[name]
        if not sub.hidden:
            yield from _walk(sub, _context(sub, name, ctx), f"{path} {name}")


def _anchor(path: str) -> str:
    """The heading id Python-Markdown's toc gives ``# `sergen stores ls` `` (lower case, dashes)."""
    return re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", path).strip().lower())


def _first_line(text: str | None) -> str:
    return (text or "").strip().split("\n\n")[0].replace("\n", " ")


def _text(text: str) -> str:
    """Help text as Markdown: ``x`` (reST) and `x` become code; <, >, &, *, _ and | elsewhere are shown as typed."""
    out = []
    for k, piece in enumerate(re.split(r"``(.*?)``|`([^`]*)`", text.strip())):
        if piece is None:
            continue
        if k % 3:
            out.append(f"`{piece}`" if piece else "")
        else:
            piece = html.escape(piece, quote=False)
            out.append(re.sub(r"([\\*_|\[\]`])", r"\\\1", piece))
    return "".join(out)


def _cell(text: str) -> str:
    return _text(" ".join(text.split())) or "–"

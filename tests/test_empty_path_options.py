"""Every path parameter of every command refuses '' (an unset shell variable: ``--out "$DIR"``) before anything
is read or written: ``Path('')`` is the current folder. The parameters are found by walking the typer app, so a
new option is covered without being named here."""

from __future__ import annotations

import pytest
import typer.main

from sergen.cli import app
from sergen.cli.validate import names_a_path
from tests.test_bad_input import cli  # noqa: F401 - the in-process CLI fixture


def _commands(command, path=()):
    subs = getattr(command, "commands", None)
    if subs is None:
        yield path, command
        return
    for name, sub in subs.items():
        yield from _commands(sub, (*path, name))


def _path_parameters():
    found = []
    for path, command in _commands(typer.main.get_command(app)):
        for param in command.params:
            if names_a_path(param):
                found.append((path, command, param))
    return found


PATH_PARAMETERS = _path_parameters()


def _args(path, command, target, value: str) -> list[str]:
    """The command line: the empty option first, then a dummy for every other required parameter."""
    args = list(path)
    if target.param_type_name == "option":
        args += [target.opts[0], value]
    for param in command.params:
        if param.param_type_name == "argument":
            args.append(value if param is target else "x")
        elif param is not target and param.required:
            args += [param.opts[0], "x"]
    return args


def test_the_walk_finds_every_kind_of_path_parameter():
    named = {(" ".join(path), param.name) for path, _, param in PATH_PARAMETERS}
    assert len(named) >= 20
    for expected in [("demo", "out"), ("report", "results"), ("manifest", "root"), ("extract", "weights"),
                     ("config init", "folder"), ("stores ls", "root"), ("stores verify", "root")]:
        assert expected in named


@pytest.mark.parametrize("value", ["", " "])
@pytest.mark.parametrize("path,command,param", PATH_PARAMETERS,
                         ids=[f"{' '.join(p)}:{q.name}" for p, _, q in PATH_PARAMETERS])
def test_an_empty_path_is_refused_naming_the_parameter(cli, tmp_path, monkeypatch, path, command, param, value):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, text = cli(*_args(path, command, param, value))
    shown = param.opts[0] if param.param_type_name == "option" else param.name
    assert code == 2
    assert f"Invalid value for '{shown}': is empty: give a path (`.` for the current folder)" in text
    assert list(here.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == before

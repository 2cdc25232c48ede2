"""``sergen demo --out ''`` (an unset shell variable) once made the demo's workspace in the current folder:
``Path('')`` is ``.``. An empty --out is refused before anything is written."""

import pytest

from tests.test_bad_input import cli  # noqa: F401 - the in-process CLI fixture


@pytest.mark.parametrize("out", ["", "  "])
def test_an_empty_out_is_refused_and_nothing_is_written(cli, out, tmp_path, monkeypatch):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    code, text = cli("demo", "--out", out, "--scale", "0.01")
    assert code == 2
    assert "Invalid value for '--out': is empty: give a folder (`.` for the current one)" in text
    assert list(here.iterdir()) == []


def test_the_default_and_a_dot_are_still_folders(monkeypatch):
    from sergen.cli.validate import given_path

    assert str(given_path(".")) == "." and str(given_path("demo")) == "demo"

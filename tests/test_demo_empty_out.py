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
    assert "Invalid value for '--out': is empty: give a path (`.` for the current folder)" in text
    assert list(here.iterdir()) == []


def test_a_dot_is_still_the_current_folder(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, text = cli("demo", "--out", ".", "--scale", "0")
    assert code == 2 and "Invalid value for '--scale'" in text and "'--out'" not in text

"""Every demo scale below ``SMALLEST_SET_BELOW`` writes the same, smallest corpora, and the first scale at it
writes more: what ``demo-data`` and ``--scale``'s error say (a hostile pass found 0.2 silently equal to 0.1)."""

import pytest

from sergen.corpora.demo import check_demo_options
from sergen.corpora.demo.layouts import SMALLEST_SET_BELOW, WRITERS
from sergen.errors import SergenError


def _counts(tmp_path, scale: float) -> dict[str, int]:
    return {c: write(tmp_path / f"{c}-{scale}", 0, scale) for c, write in WRITERS.items()}


def test_every_scale_below_the_bound_writes_the_smallest_set_and_the_bound_more(tmp_path, monkeypatch):
    import sergen.corpora.demo.layouts as layouts

    monkeypatch.setattr(layouts.Renderer, "write", lambda self, path, *a, **k: path.parent.mkdir(parents=True, exist_ok=True) or 0.0)  # counts only
    smallest = _counts(tmp_path, 0.01)
    for scale in (0.1, 0.2, 0.3, SMALLEST_SET_BELOW - 1e-9):
        assert _counts(tmp_path, scale) == smallest, scale
    above = _counts(tmp_path, SMALLEST_SET_BELOW)
    assert sum(above.values()) > sum(smallest.values())


def test_the_scale_error_names_the_bound(tmp_path):
    with pytest.raises(SergenError) as exc:
        check_demo_options(0, 0.001)
    assert f"every scale below {SMALLEST_SET_BELOW:g} makes the same, smallest set" in exc.value.fix

"""The heads the CLI names are read from the registry at start-up, which imports no torch: a head registered
in a test, and nowhere else, is a choice of ``--head`` and ``--heads``, in their help and in the errors."""

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from typing import ClassVar

import pytest
import typer

from sergen.cli import validate
from sergen.cli.run_options import allowed, base_help, head_choices
from sergen.spec import OPTION
from sergen.train.head_base import HEADS, Head

LISTED = ("linear, mlp, mlp-dann (several training corpora only), attn (attentive statistics pooling over frames) "
          "or cnn (log-Mel stores only)")


def test_the_cli_lists_exactly_the_registered_heads():
    summaries, notes = head_choices()
    assert HEADS.names() == ["linear", "mlp", "mlp-dann", "attn", "cnn"]
    assert notes == LISTED
    assert base_help(OPTION["head"]) == (
        "classifier head (a registered head of sergen.train.heads) — linear, mlp (128x256), mlp-dann (the MLP "
        "against a corpus classifier by gradient reversal; several training corpora only), attn (attentive statistics "
        "pooling over the window's frames, then the MLP) or cnn (a small CNN from scratch on log-Mel frames; "
        "melspec stores only)")
    assert allowed(OPTION["head"], grid=False) == LISTED
    assert allowed(OPTION["head"], grid=True) == f"a list of heads: {LISTED}"


def test_an_unknown_head_lists_them_with_their_notes():
    with pytest.raises(Exception) as caught:  # the registry's own error
        HEADS.get("svm")
    assert str(caught.value).startswith("unknown head 'svm'; known: linear, mlp, mlp-dann, attn, cnn")
    assert f"heads: {LISTED}" in str(caught.value)
    with pytest.raises(typer.BadParameter, match=re.escape(f"'svm' is not a head: give {LISTED}")):
        validate.head("svm")


def test_listing_the_heads_imports_no_torch():
    code = ("import json, sys\nfrom sergen.cli.run_options import head_choices\nfrom sergen.train.heads import HEADS\n"
            "head_choices(); [HEADS.get(n)() for n in HEADS.names()]\n"
            "print(json.dumps(['torch' in sys.modules, HEADS.names()]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == [False, ["linear", "mlp", "mlp-dann", "attn", "cnn"]]


@pytest.fixture
def wide_head(monkeypatch):
    """A head registered for this test only (the registry restored afterwards)."""
    monkeypatch.setattr(HEADS, "_items", dict(HEADS._items))
    monkeypatch.setattr(HEADS, "_aliases", dict(HEADS._aliases))

    @HEADS.register("mlp-wide", "wide")
    @dataclass(frozen=True)
    class WideHead(Head):
        note: ClassVar[str] = "one wide layer"
        summary: ClassVar[str] = "one hidden layer of units"
        units: int = 512

    return WideHead


def test_a_registered_head_is_a_choice_everywhere(wide_head):
    summaries, notes = head_choices()
    assert notes == LISTED.replace(" or cnn", ", cnn") + " or mlp-wide (one wide layer)"
    assert summaries.endswith(", cnn (a small CNN from scratch on log-Mel frames; melspec stores only) or "
                              "mlp-wide (one hidden layer of units)")
    assert base_help(OPTION["head"]).endswith("or mlp-wide (one hidden layer of units)")
    assert allowed(OPTION["head"], grid=True) == f"a list of heads: {notes}"
    # an alias is read in its canonical spelling, as every choice option reads it (validate.one_of, stop 36)
    assert validate.head("wide") == "mlp-wide" and validate.heads("mlp,mlp-wide") == "mlp,mlp-wide"
    with pytest.raises(typer.BadParameter, match="or mlp-wide \\(one wide layer\\)"):
        validate.head("svm")

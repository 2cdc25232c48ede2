"""A head registered is a choice everywhere — the CLI's help and allowed values, the error for an unknown head,
the registry's own hint — with no list of heads to edit elsewhere."""

from dataclasses import dataclass
from typing import ClassVar

import pytest
import typer

from sergen.cli import validate
from sergen.cli.run_options import allowed, base_help
from sergen.spec import OPTION
from sergen.train.head_base import HEADS, Head, head_choices


def test_todays_heads_are_listed_as_before():
    assert head_choices()[1] == ("linear, mlp, mlp-dann (several training corpora only), attn (attentive statistics "
                                 "pooling over frames) or cnn (log-Mel stores only)")
    assert head_choices()[0].startswith("linear, mlp (128x256), mlp-dann (the MLP against a corpus classifier")
    assert allowed(OPTION["head"], grid=True) == f"a list of heads: {head_choices()[1]}"


@pytest.fixture
def with_a_new_head(monkeypatch):
    monkeypatch.setattr(HEADS, "_items", dict(HEADS._items))
    monkeypatch.setattr(HEADS, "_aliases", dict(HEADS._aliases))

    @HEADS.register("knn", "nearest")
    @dataclass(frozen=True)
    class NearestCentroidHead(Head):
        """A nearest-centroid head (a test's)."""

        note: ClassVar[str] = "no training steps"
        summary: ClassVar[str] = "each class's centroid, nearest wins"
        k: int = 1

    return NearestCentroidHead


def test_a_registered_head_is_a_choice_in_every_listing(with_a_new_head):
    assert head_choices()[1].endswith("cnn (log-Mel stores only) or knn (no training steps)")
    assert base_help(OPTION["head"]).endswith("or knn (each class's centroid, nearest wins)")
    assert allowed(OPTION["head"], grid=False).endswith("or knn (no training steps)")
    assert validate.head("nearest") == "nearest"
    with pytest.raises(typer.BadParameter, match=r"'svm' is not a head: give .* or knn \(no training steps\)"):
        validate.head("svm")
    with pytest.raises(Exception) as exc:
        HEADS.get("svm")
    assert "heads: linear, mlp" in str(exc.value) and "or knn (no training steps)" in str(exc.value)

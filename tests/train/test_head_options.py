"""Heads as classes with keyword hyper-parameters (issue 23 item 4): what they build, how ``--head-opt`` is
written in a run spec, and that today's defaults keep today's run ids."""

from __future__ import annotations

import numpy as np
import pytest
from torch import nn

from sergen.errors import SergenError
from sergen.experiments.grid import grid_head_options
from sergen.experiments.probe import ProbeSpec, _check_values
from sergen.train.head_base import canonical_head_options, make_head_object, shown_head
from sergen.train.heads import AdversarialMLP, LinearHead, MLPHead, make_head


def widths(model: nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]


def test_an_mlp_head_builds_the_layers_its_keywords_say():
    model = MLPHead(hidden=(64, 32, 16), dropout=0.5).build(10, 4, np.zeros(10), np.ones(10))
    assert widths(model) == [(10, 64), (64, 32), (32, 16), (16, 4)]
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout)] == [0.5, 0.5, 0.5]
    assert widths(MLPHead().build(10, 4, np.zeros(10), np.ones(10))) == [(10, 128), (128, 256), (256, 4)]
    assert widths(LinearHead().build(10, 4, np.zeros(10), np.ones(10))) == [(10, 4)]


def test_the_adversarial_head_takes_the_mlp_keywords():
    model = make_head("mlp-dann", 6, 3, np.zeros(6), np.ones(6), n_corpora=3, options="hidden=8x5")
    assert isinstance(model, AdversarialMLP)
    assert widths(model.features) == [(6, 8), (8, 5)] and widths(model.classifier) == [(5, 3)]
    assert widths(model.corpus_classifier) == [(5, 128), (128, 3)]


def test_options_are_written_sorted_and_without_defaults():
    assert canonical_head_options("mlp", "hidden=64x128, dropout=0.3") == "dropout=0.3,hidden=64x128"
    assert canonical_head_options("mlp", "dropout=0.2,hidden=128x256") == ""  # the defaults: nothing recorded
    assert canonical_head_options("mlp", "dropout=.30") == "dropout=0.3"  # one spelling per value
    assert canonical_head_options("linear", "") == ""
    assert make_head_object("mlp", "hidden=7") == MLPHead(hidden=(7,))
    assert shown_head("mlp", "dropout=0.3") == "mlp[dropout=0.3]" and shown_head("mlp") == "mlp"


@pytest.mark.parametrize("head, text, message", [
    ("linear", "dropout=0.3", "--head-opt dropout: head linear has no such hyper-parameter; its hyper-parameters "
                              "(defaults): none"),
    ("mlp", "width=3", "--head-opt width: head mlp has no such hyper-parameter; its hyper-parameters (defaults): "
                       "dropout=0.2,hidden=128x256"),
    ("mlp", "hidden=64xx", "--head-opt hidden=64xx: not a value of hidden ('64xx' is not whole numbers joined by x)"),
    ("mlp", "hidden=abc", "--head-opt hidden=abc: not a value of hidden ('abc' is not whole numbers joined by x)"),
    ("mlp", "dropout=abc", "--head-opt dropout=abc: not a value of dropout ('abc' is not a number)"),
    ("attn", "attention=1.5", "--head-opt attention=1.5: not a value of attention ('1.5' is not a whole number)"),
    ("mlp", "dropout=1.5", "--head-opt 'dropout=1.5' for head mlp: dropout must lie from 0 up to (not including) 1, "
                           "got 1.5"),
    ("mlp", "hidden=0x4", "--head-opt 'hidden=0x4' for head mlp: hidden must be one or more layer widths of 1 or "
                          "more units, got (0, 4)"),
    ("mlp", "dropout", "--head-opt 'dropout': 'dropout' is not key=value"),
    ("mlp", "dropout=0.1,dropout=0.3", "--head-opt 'dropout=0.1,dropout=0.3' sets dropout twice"),
])
def test_bad_options_are_refused_with_what_and_fix(head, text, message):
    with pytest.raises(SergenError) as caught:
        canonical_head_options(head, text)
    assert caught.value.what == message and caught.value.fix


def test_the_run_id_holds_the_options_only_away_from_the_defaults():
    plain = ProbeSpec(model="melspec", train=("emodb",), test=("emodb", "ravdess"))
    assert plain.run_id == "a365423a15658930"  # tests/experiments/test_run_id_fixtures.py: today's id
    assert "head_opt" not in plain.as_dict()
    tuned = ProbeSpec(model="melspec", train=("emodb",), test=("emodb", "ravdess"), head_opt="dropout=0.3")
    assert tuned.as_dict()["head_opt"] == "dropout=0.3" and tuned.run_id != plain.run_id
    _check_values(tuned)
    with pytest.raises(ValueError, match="head_opt 'hidden=128x256' is not written as sergen writes it"):
        _check_values(ProbeSpec(model="melspec", train=("emodb",), test=("emodb",), head_opt="hidden=128x256"))


def test_a_grid_gives_each_head_the_pairs_it_takes():
    assert grid_head_options(["linear", "mlp"], "dropout=0.3") == {"linear": "", "mlp": "dropout=0.3"}
    assert grid_head_options(["linear", "mlp"], "") == {"linear": "", "mlp": ""}
    with pytest.raises(SergenError, match="--head-opt width: no head of this grid"):
        grid_head_options(["linear", "mlp"], "width=3,dropout=0.3")

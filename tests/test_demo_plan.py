"""The demo's grid (``sergen.demo.demo_specs``): the sequence heads run beside linear and MLP, in their short
form: exactly which runs, with which settings."""

from __future__ import annotations

import pytest

from sergen.demo import SEQUENCE_TRAINING, demo_specs
from sergen.train.loop import TrainConfig

CORPORA = ("iemocap", "cremad", "msp", "emodb", "ravdess")  # the tables' order
ALL = "+".join(CORPORA)


@pytest.fixture(scope="module")
def melspec_demo(tmp_path_factory):
    """The five demo corpora, small, with their melspec stores (no views)."""
    from sergen import CORPORA as NAMES
    from sergen.config import use_workspace
    from sergen.corpora import read_corpus, write_manifest
    from sergen.corpora.demo import make_demo
    from sergen.extract import extract

    out = tmp_path_factory.mktemp("demo_plan")
    roots = make_demo(out / "corpora", seed=0, scale=0.1)
    with use_workspace(out):
        for corpus in NAMES:
            write_manifest(read_corpus(corpus, roots[corpus]))
            extract("melspec", corpus, show_progress=False)
    return out


def plan(specs) -> list[tuple]:
    return [(s.model, s.train_name, s.head, s.seed, s.scramble, s.aug_share, s.norm) for s in specs]


def test_the_demo_runs_attn_and_cnn_on_melspec_beside_linear_and_mlp(melspec_demo):
    from sergen.config import use_workspace

    with use_workspace(melspec_demo):
        specs = demo_specs(["melspec"], [], [0, 1])
        without = demo_specs(["melspec"], [], [0, 1], sequence_heads=False)
    sequence = [s for s in specs if s.head in ("attn", "cnn")]
    assert plan(specs[:len(without)]) == plan(without)  # the mean heads' runs, unchanged and first
    assert len(specs) == len(without) + 12
    # one seed (the first), each corpus alone, then the CNN on all five with true and scrambled labels
    assert plan(sequence) == (
        [("melspec", c, h, 0, False, 0.0, "global") for c in CORPORA for h in ("attn", "cnn")]
        + [("melspec", ALL, "cnn", 0, scramble, 0.0, "global") for scramble in (False, True)])
    assert {s.training for s in sequence} == {TrainConfig(max_steps=300, min_steps=100, stop_patience=3)}
    assert SEQUENCE_TRAINING == {"max_steps": 300, "min_steps": 100, "stop_patience": 3}
    assert {s.training for s in without} == {TrainConfig()}  # the mean heads' run ids are untouched
    assert {s.test for s in sequence} == {CORPORA}  # tested on every corpus


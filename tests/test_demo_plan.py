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
    assert {s.training for s in sequence} == {TrainConfig(max_steps=120, min_steps=60)}
    assert SEQUENCE_TRAINING == {"max_steps": 120, "min_steps": 60}
    assert {s.training for s in without} == {TrainConfig()}  # the mean heads' run ids are untouched
    assert {s.test for s in sequence} == {CORPORA}  # tested on every corpus



def test_the_report_puts_the_sequence_heads_beside_the_mlp_and_scrambles_the_cnn(melspec_demo, tmp_path):
    """The report's single-corpus tables, multi-corpus table and scramble table each get the CNN's section
    beside the MLP's, its short schedule named (runs of other settings are never averaged with the defaults')."""
    from sergen.config import use_workspace
    from sergen.experiments.grid import grid_specs, run_grid
    from sergen.report.markdown import build_report

    fast = {"training": TrainConfig(max_steps=20, eval_every=10, min_steps=10), "n_boot": 10}
    results = tmp_path / "results"
    with use_workspace(melspec_demo):
        specs = grid_specs(["melspec"], "emodb,ravdess", heads=("mlp", "attn", "cnn"), **fast)
        specs += grid_specs(["melspec"], "emodb+ravdess", heads=("mlp", "cnn"), scrambles=(False, True), **fast)
        run_grid(specs, results_dir=results, workers=1, show_progress=False)
        report = build_report(results, tmp_path / "report").read_text()
    named = "melspec [eval_every=10,max_steps=20,min_steps=10]"
    cross = report[report.index("## Cross-corpus AUROC"):report.index("## Multi-corpora training")]
    assert [line for line in cross.splitlines() if line.startswith("### ")] == [
        f"### {named} · mlp", f"### {named} · attn", f"### {named} · cnn"]
    multi = report[report.index("## Multi-corpora training"):report.index("## Augmentation share")]
    assert [line for line in multi.splitlines() if line.startswith("### ")] == [
        f"### {named} · cnn", f"### {named} · mlp"]
    scramble = report[report.index("## Augmentation share"):report.index("## Confusion matrices")]
    assert [line for line in scramble.splitlines() if line.startswith("### ")] == [
        f"### {named} · {head} · trained on emodb+ravdess" for head in ("cnn", "mlp")]
    assert scramble.count("(scrambled)") == 2 * 2  # each head's table: a scrambled column per training corpus

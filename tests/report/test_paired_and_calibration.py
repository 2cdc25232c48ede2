"""The report's paired tests (a remedy against its baseline on shared test utterances) and its calibration
section, on constructed runs whose scores are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sergen.experiments.run_scores import UtteranceScores, write_scores
from sergen.report.calibration_section import calibration_section
from sergen.report.markdown import build_report
from sergen.report.paired_sections import paired_verdict
from sergen.train.calibration import expected_calibration_error
from tests.report.test_remedies import norm_fixture

IDS = np.array([f"msp_{i:03d}" for i in range(200)])
Y = np.arange(200) % 4


def informative(seed, strength):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(200, 4)) + strength * np.eye(4)[Y]
    proba = np.exp(logits)
    return (proba / proba.sum(1, keepdims=True)).astype(np.float32)


def test_a_remedy_verdict_comes_from_paired_tests_where_scores_exist(tmp_path):
    results = norm_fixture(tmp_path)
    for s in range(3):  # remedy: informative on msp; baseline: close to chance
        write_scores(f"corpus-true-{s}", {"msp": UtteranceScores(IDS, Y, informative(s, 3.0))}, results)
        write_scores(f"global-true-{s}", {"msp": UtteranceScores(IDS, Y, informative(10 + s, 0.1))}, results)
    text = build_report(results, tmp_path / "report").read_text()
    section = text[text.index("## Remedies against their baselines"):]
    assert "|    msp |      0 |                 200 |" in section and "| 0.000999 |      0.003 |" in section  # p = 1/1001
    assert ("**Verdict:** fragmentation lower (corpus-ID 0.910 → 0.550), off-diagonal AUROC higher (paired tests: "
            "in 3 of 3, Holm p < 0.05).") in section


def test_without_scores_the_spread_verdict_stays(tmp_path):
    text = build_report(norm_fixture(tmp_path), tmp_path / "report").read_text()
    assert "off-diagonal AUROC higher (0.610 → 0.710)" in text and "(paired tests:" not in text


@pytest.mark.parametrize("diffs, ps, verdict", [
    ([0.1, 0.2], [0.03, 0.2], "off-diagonal AUROC unchanged (paired tests: no difference with Holm p < 0.05 in 2 test(s))"),
    ([0.1, -0.2], [0.001, 0.002], "off-diagonal AUROC mixed (paired tests: higher in 1, lower in 1 of 2, Holm p < 0.05)"),
    ([-0.1, -0.2], [0.001, 0.3], "off-diagonal AUROC lower (paired tests: in 1 of 2, Holm p < 0.05)"),
])
def test_paired_verdicts(diffs, ps, verdict):
    from sergen.experiments.compare import holm

    table = pd.DataFrame({"difference": diffs, "p": ps, "p_holm": holm(ps)})
    assert paired_verdict(table) == verdict


def test_calibration_section_per_cell(tmp_path):
    results = tmp_path / "results"
    rows = []
    for seed in (0, 1):
        run_id = f"emodb-{seed}"
        scores = {"emodb": UtteranceScores(IDS, Y, informative(seed, 3.0)),
                  "msp": UtteranceScores(IDS, Y, informative(seed + 5, 0.5))}
        write_scores(run_id, scores, results)
        rows += [dict(model="melspec", head="linear", train="emodb", n_train_corpora=1, test=t, scramble=False,
                      aug_share=0.0, run_id=run_id, seed=seed) for t in scores]
    fig_dir = tmp_path / "figures"
    fig_dir.mkdir()
    lines = calibration_section(pd.DataFrame(rows), fig_dir, results, synthetic=True)
    text = "\n".join(lines)
    within = np.mean([expected_calibration_error(Y, informative(s, 3.0)) for s in (0, 1)])
    across = np.mean([expected_calibration_error(Y, informative(s + 5, 0.5)) for s in (0, 1)])
    assert lines[0] == "## Calibration under shift"
    assert f"emodb | {across:.3f} (2) | {within:.3f} (2) |" in text  # columns in the poster order: msp, emodb
    assert "![reliability melspec linear](figures/reliability_melspec_linear.png)" in text
    assert (fig_dir / "reliability_melspec_linear.png").stat().st_size > 5000
    assert calibration_section(pd.DataFrame(rows), fig_dir, tmp_path / "elsewhere") == []

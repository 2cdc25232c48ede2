"""Piped output of probe and grid fits the pipe's 80 columns: titles with fold information, the fold
summary, the footnote, the classes and left-out-classes lines, the tables with absent classes and the list
of matrices are folded or broken between words, never cut and never wider, and every figure stays in it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from tests.test_cli_output import in_small_workspace, sergen, small_workspace  # noqa: F401 (fixtures)

FAST = ("--set", "training.max_steps=100", "--set", "n_boot=20")


def widest(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def words(text: str) -> str:
    """The text with its line breaks and table borders undone, to find a phrase that was folded."""
    return " ".join(re.sub(r"[│┃]", " ", text).split())


def test_probe_and_grid_output_in_a_pipe_is_at_most_80_columns(in_small_workspace):  # noqa: F811
    ws = in_small_workspace
    runs = {
        "folds": ["probe", "--model", "melspec", "--train", "emodb", "--test", "emodb,cremad", "--head", "linear",
                  "--folds", "speaker:2", *FAST],
        "native": ["probe", "--model", "melspec", "--train", "emodb,cremad", "--head", "linear", "--labels", "native",
                   *FAST],
        "absent": ["probe", "--model", "melspec", "--train", "emodb", "--test", "emodb,cremad", "--head", "linear",
                   *FAST],
        "grid": ["grid", "--models", "melspec", "--train", "emodb", "--heads", "linear", "--folds", "speaker:2",
                 "--labels", "native", *FAST],
    }
    out = {}
    for name, args in runs.items():
        proc = sergen(*args, cwd=ws)
        assert proc.returncode == 0, proc.stderr
        out[name] = proc.stdout
        assert widest(proc.stdout) <= 80, (name, max(proc.stdout.splitlines(), key=len))
        assert widest(proc.stderr) <= 80, (name, max(proc.stderr.splitlines(), key=len))
        if name == "folds":  # its two runs, the only ones in the results folder yet
            fold_rows = pd.concat([pd.read_csv(f) for f in (ws / "results" / "runs").glob("*.csv")])

    folds = out["folds"]
    # the title broken between its parts, not cut: every part is there, whole
    assert "melspec · linear · trained on emodb · fold 1/2 (speaker:2)" in folds
    assert "fold 2/2 (speaker:2)" in folds and "SYNTHETIC demo data" in folds
    assert "* = in training (its held-out test split); CI = bootstrap 95% interval of AUROC" in folds
    # the fold summary keeps each mean and its spread (ddof 1) whole, the spread folded below the mean
    auroc = fold_rows[(fold_rows.test == "cremad") & (fold_rows.metric == "auroc")].value
    assert len(auroc) == 2
    lines = folds.splitlines()
    cremad = [k for k, line in enumerate(lines) if line.startswith("│ cremad ")][-1]
    assert f"{auroc.mean():.2f}" == lines[cremad].split("│")[2].strip()
    assert f"±{auroc.std(ddof=1):.2f}" == lines[cremad + 1].split("│")[2].strip()

    absent = out["absent"]
    assert "warning: cremad has no ang in its test split; emodb has no hap in its test split" in words(absent)
    assert "absent from test" not in absent  # the column left out in a pipe: the warning above names them

    native = words(out["native"])
    assert re.search(r"classes \(each corpus's own, shared by all\): ([a-z]+, )+[a-z]+", native)
    assert "left out (classes not shared by every corpus of the run, unless marked): emodb: bored (10)" in native

    grid = out["grid"]
    assert "train × test AUROC matrices in results/matrices:" in grid
    far = sergen(*runs["absent"], cwd=Path(__file__).parent)  # a long path outside the working folder: whole
    path = ws / "results" / "runs"
    assert re.search(rf"^results:\n{re.escape(str(path))}/[0-9a-f]+\.csv$", far.stdout, flags=re.M) or \
        re.search(rf"^results: {re.escape(str(path))}/[0-9a-f]+\.csv$", far.stdout, flags=re.M), far.stdout
    listed = re.findall(r"^  (auroc_\S+\.csv)$", grid, flags=re.M)
    assert listed and all((ws / "results" / "matrices" / name).is_file() for name in listed)

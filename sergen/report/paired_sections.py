"""Paired tests in the report: a remedy against its baseline on the test utterances both sides scored.

Where both sides kept per-utterance scores (``<run_id>.scores.npz``), the remedy section's AUROC verdict comes
from paired tests (``sergen.experiments.compare``) instead of the seeds' spread: per seed run on both sides
and per test corpus outside the training set, the AUROC difference remedy − baseline, its paired-bootstrap
95 % interval and randomisation p, Holm-corrected across the table's rows."""

from __future__ import annotations

import pandas as pd

from sergen.experiments.compare import holm, paired_test, shared_utterances
from sergen.experiments.run_scores import read_scores

REPORT_RESAMPLES = 1000
ALPHA = 0.05


def _scores(run_id: str, results_dir, cache: dict):
    if run_id not in cache:
        try:
            cache[run_id] = read_scores(run_id, results_dir)
        except ValueError:
            cache[run_id] = None
    return cache[run_id]


def paired_table(remedy: pd.DataFrame, baseline: pd.DataFrame, tests: list[str], results_dir=None,
                 metric: str = "auroc", cache: dict | None = None) -> pd.DataFrame:
    """One row per (test corpus, seed) both sides ran unscrambled and kept scores for (empty if none)."""
    cache = {} if cache is None else cache
    rows = []
    for side in (remedy, baseline):
        if side is None or side.empty:
            return pd.DataFrame()
    pick = lambda part: part[~part.scramble.astype(bool)].drop_duplicates(["test", "seed"])  # noqa: E731
    a_runs, b_runs = pick(remedy).set_index(["test", "seed"]).run_id, pick(baseline).set_index(["test", "seed"]).run_id
    for (test, seed) in sorted(set(a_runs.index) & set(b_runs.index), key=lambda k: (tests.index(k[0])
                                                                                    if k[0] in tests else 99, k[1])):
        if test not in tests:
            continue
        sa, sb = _scores(a_runs[(test, seed)], results_dir, cache), _scores(b_runs[(test, seed)], results_dir, cache)
        if not sa or not sb or test not in sa or test not in sb:
            continue
        y, pa, pb = shared_utterances(sa[test], sb[test])
        if len(y) < 2:
            continue
        diff, low, high, p = paired_test(y, pa, pb, metric, REPORT_RESAMPLES, seed=int(seed))
        rows.append({"test": test, "seed": int(seed), "shared": len(y), "difference": diff, "low": low, "high": high,
                     "p": p})
    table = pd.DataFrame(rows)
    if not table.empty:
        table["p_holm"] = holm(table["p"])
    return table


def paired_verdict(table: pd.DataFrame, what: str = "off-diagonal AUROC") -> str:
    """Higher / lower where Holm's p < 0.05 in every row of one sign, else unchanged (paired)."""
    significant = table[table.p_holm < ALPHA]
    n = len(table)
    if significant.empty:
        return f"{what} unchanged (paired tests: no difference with Holm p < {ALPHA} in {n} test(s))"
    up, down = int((significant.difference > 0).sum()), int((significant.difference < 0).sum())
    if up and down:
        return f"{what} mixed (paired tests: higher in {up}, lower in {down} of {n}, Holm p < {ALPHA})"
    return f"{what} {'higher' if up else 'lower'} (paired tests: in {up or down} of {n}, Holm p < {ALPHA})"


def markdown_rows(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"test": table.test, "seed": table.seed, "shared utterances": table.shared,
                         "AUROC remedy − baseline": table.difference.map("{:+.3f}".format),
                         "95% interval": [f"[{lo:+.3f}, {hi:+.3f}]" for lo, hi in zip(table.low, table.high)],
                         "p": table.p.map("{:.3g}".format), "p (Holm)": table.p_holm.map("{:.3g}".format)})

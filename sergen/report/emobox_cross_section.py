"""``## EmoBox cross-corpus benchmark``: the 4 × 4 matrix of ``--protocol emobox-cross`` runs beside Table 5 of
the EmoBox paper (``emobox_cross_corpus.csv``: accuracy %, columns = training sets, rows = test sets, as its
caption says; the diagonal is empty there, and left out here too)."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

from sergen.protocols.emobox_cross import SETS
from sergen.report.leaderboards import LEADERBOARD_MODELS
from sergen.report.tables import markdown_table

METRICS = (("acc", "accuracy"), ("uar", "UA"), ("emobox_f1", "macro-F1"))
INTRO = ("Runs of `--protocol emobox-cross`: EmoBox's cross-corpus benchmark (its track-2 test sets, 60 utterances "
         "per class of angry, happy, neutral, sad for each of IEMOCAP, MELD, RAVDESS and SAVEE). Columns are the "
         "training set, rows the test set, as in the paper's Table 5; values in %, mean over seeds (their number "
         "in brackets). Each corpus trains on its four-class utterances outside its own track-2 set, 20 % of its "
         "speakers held out for validation (EmoBox's repository does not publish its training side). Where Table 5 "
         "has the same model, its cell and the difference sergen − Table 5 follow; these compare only loosely "
         "(sergen's light head on one stored layer against EmoBox's downstream model on all layers).")


def table5() -> pd.DataFrame:
    with resources.files("sergen.report").joinpath("emobox_cross_corpus.csv").open() as fh:
        return pd.read_csv(fh, comment="#")


def set_of(corpus: str, resolved: dict[str, str]) -> str | None:
    """The benchmark set a corpus stood for: as resolved, else by name (``iemocap``, ``emobox-meld``)."""
    if corpus in resolved:
        return resolved[corpus]
    name = corpus.removeprefix("emobox-")
    return name if name in SETS else None


def _resolved() -> dict[str, str]:
    from sergen.errors import SergenError
    from sergen.protocols.emobox_cross import benchmark_corpora

    try:
        return benchmark_corpora()
    except (SergenError, OSError, ValueError):
        return {}


def _matrix(part: pd.DataFrame, metric: str, resolved: dict) -> pd.DataFrame:
    rows = part[(part.metric == metric) & ~part.in_training.astype(bool)].copy()
    rows["train_set"] = rows.train.map(lambda c: set_of(c, resolved))
    rows["test_set"] = rows.test.map(lambda c: set_of(c, resolved))
    rows = rows.dropna(subset=["train_set", "test_set"])
    grouped = rows.groupby(["test_set", "train_set"]).value.agg(["mean", "count"])
    out = pd.DataFrame(index=pd.Index(SETS, name="test \\ train"), columns=list(SETS), dtype=object)
    for (test, train), r in grouped.iterrows():
        out.loc[test, train] = (100 * r["mean"], int(r["count"]))
    return out


def emobox_cross_section(rows: pd.DataFrame) -> list[str]:
    part = rows[rows.get("protocol", pd.Series("", index=rows.index)).fillna("") == "emobox-cross"]
    if part.empty:
        return []
    resolved = _resolved()
    board = table5()
    lines = ["## EmoBox cross-corpus benchmark", "", INTRO, ""]
    for (model, head), block in part.groupby(["model", "head"], sort=True):
        lines += [f"### {model} · {head}", ""]
        name = LEADERBOARD_MODELS.get(model, (None, None))[0]
        theirs = board[board.model == name].set_index(["test", "train"]).accuracy_pct if name else pd.Series(dtype=float)
        for metric, title in METRICS:
            matrix = _matrix(block, metric, resolved)
            shown = matrix.map(lambda v: "–" if not isinstance(v, tuple) else f"{v[0]:.1f} ({v[1]})")
            if metric == "acc" and len(theirs):
                for test in SETS:
                    for train in SETS:
                        ours = matrix.loc[test, train]
                        if (test, train) in theirs.index and isinstance(ours, tuple):
                            ref = float(theirs[(test, train)])
                            shown.loc[test, train] += f" · T5 {ref:.1f} · {ours[0] - ref:+.1f}"
                        elif (test, train) in theirs.index:
                            shown.loc[test, train] = f"– · T5 {float(theirs[(test, train)]):.1f}"
            lines += [f"**{title}**" + (f" (beside Table 5's {name}: T5 value · difference)" if metric == "acc" and
                                       len(theirs) else ""), "", markdown_table(shown, index=True), ""]
        if not len(theirs):
            lines += [f"Table 5 has no row for {model}.", ""]
    return lines

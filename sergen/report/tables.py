"""The poster's tables computed from tidy results, each cell with its spread: the mean over seeds, the
bootstrap 95% interval over test utterances (each seed's bounds, averaged) and, with several seeds, the
standard deviation over seeds. The poster's own numbers sit beside them where the same cell exists
(``poster_numbers.csv``, transcribed once from the poster)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from sergen import LABELS, corpus_order
from sergen.results import absent_by_test
from sergen.train.metrics import METRICS, row_normalised

SPREAD_LEGEND = ("Each cell: mean over seeds, the bootstrap 95% interval over test utterances in brackets "
                 "(each seed's bounds averaged) and, where there are several seeds, ± their standard deviation "
                 "with the number of seeds.")


def markdown_table(df: pd.DataFrame, index: bool = False) -> str:
    """Markdown table, numbers to two decimals, absent cells as a dash."""
    shown = df.map(lambda v: "–" if isinstance(v, float) and pd.isna(v) else f"{v:.2f}" if isinstance(v, float) else v)
    return shown.to_markdown(index=index, stralign="right", disable_numparse=True)


def poster_numbers() -> pd.DataFrame:
    with resources.files("sergen.report").joinpath("poster_numbers.csv").open() as fh:
        return pd.read_csv(fh, comment="#")


def baseline(results: pd.DataFrame) -> pd.DataFrame:
    """Unscrambled, unaugmented runs."""
    return results[(~results.scramble.astype(bool)) & (results.aug_share == 0)]


def model_dim(model: str) -> str:
    """The extractor's dimension; ``model`` may carry its layer or settings (``melspec [max_steps=300]``,
    see ``markdown.by_layer``), which do not change it."""
    from sergen.extractors import EXTRACTORS

    model = model.split(" (layer ")[0].split(" [")[0]
    return str(EXTRACTORS.get(model).dim) if model in EXTRACTORS else "?"


def spread(part: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group: mean, mean bootstrap bounds, standard deviation over seeds and number of seeds."""
    grouped = part.groupby(by)
    out = pd.DataFrame({"mean": grouped.value.mean(), "low": grouped.ci_low.mean(), "high": grouped.ci_high.mean(),
                        "sd": grouped.value.std(ddof=1), "seeds": grouped.seed.nunique()})
    return out


def cell_text(row, sep: str = " ") -> str:
    if not np.isfinite(row["mean"]):
        return "–"
    text = f"{row['mean']:.2f}"
    if np.isfinite(row["low"]) and np.isfinite(row["high"]):
        text += f"{sep}[{row['low']:.2f}–{row['high']:.2f}]"
    if row["seeds"] > 1 and np.isfinite(row["sd"]):
        text += f"{sep}±{row['sd']:.2f} (n={int(row['seeds'])})"
    return text


def intra_metrics() -> list[str]:
    """The intra-corpus table's columns: the registered metrics marked as the poster's."""
    return [m.name for m in METRICS.all() if m.poster]


def intra_table(results: pd.DataFrame, corpus: str) -> pd.DataFrame:
    """Model × head rows for a corpus trained and tested on itself, poster's numbers beside."""
    names = intra_metrics()
    part = baseline(results)
    part = part[(part.train == corpus) & (part.test == corpus) & part.metric.isin(names)]
    if part.empty:
        return pd.DataFrame()
    stats = spread(part, ["model", "head", "metric"])
    table = stats.apply(cell_text, axis=1).unstack("metric").reindex(columns=names)
    poster = poster_numbers()
    poster = poster[(poster.table == "intra") & (poster.test == corpus)]
    ref = poster.pivot_table(index=["model", "head"], columns="metric", values="value").reindex(columns=names)
    ref.columns = [f"poster {c}" for c in ref.columns]
    table = table.join(ref, how="left")
    table.insert(0, "dim", [model_dim(m) for m, _ in table.index])
    table.columns = [METRICS.get(c).title if c in names else c for c in table.columns]
    return table.reset_index()


def _cross_part(results: pd.DataFrame, model: str, head: str, single_only: bool) -> pd.DataFrame:
    part = baseline(results)
    part = part[(part.model == model) & (part["head"] == head) & (part.metric == "auroc")]
    return part[part.n_train_corpora == 1] if single_only else part


def _order(matrix: pd.DataFrame) -> pd.DataFrame:
    cols = corpus_order(matrix.columns)
    rows = corpus_order([r for r in matrix.index if "+" not in r]) + sorted(r for r in matrix.index if "+" in r)
    return matrix.reindex(index=rows, columns=cols)


def cross_matrix(results: pd.DataFrame, model: str, head: str, single_only: bool = True) -> pd.DataFrame:
    """Mean AUROC, train × test (the heatmap's colours)."""
    part = _cross_part(results, model, head, single_only)
    if part.empty:
        return pd.DataFrame()
    return _order(part.pivot_table(index="train", columns="test", values="value", aggfunc="mean")).round(2)


def cross_cells(results: pd.DataFrame, model: str, head: str, sep: str = " ", single_only: bool = True) -> pd.DataFrame:
    """The same matrix as text cells with their spread."""
    part = _cross_part(results, model, head, single_only)
    if part.empty:
        return pd.DataFrame()
    cells = spread(part, ["train", "test"]).apply(lambda r: cell_text(r, sep), axis=1).unstack("test")
    return _order(cells).fillna("–")


def multi_table(results: pd.DataFrame, model: str, head: str) -> pd.DataFrame:
    """Multi-corpus training sets: AUROC per test corpus, and the difference from each test corpus's
    own single-corpus model (the diagonal of the cross-corpus matrix)."""
    part = baseline(results)
    part = part[(part.model == model) & (part["head"] == head) & (part.metric == "auroc")]
    multi = part[part.n_train_corpora > 1]
    if multi.empty:
        return pd.DataFrame()
    own = spread(part[(part.n_train_corpora == 1) & (part.train == part.test)], ["test"])
    rows = []
    for train, block in multi.groupby("train"):
        stats = spread(block, ["test"])
        for test in corpus_order(stats.index):
            mine = stats.loc[test]
            base = own.loc[test] if test in own.index else None
            rows.append({"train": train, "test": test, "AUROC": cell_text(mine),
                         "single-corpus AUROC": cell_text(base) if base is not None else "–",
                         "difference": round(mine["mean"] - base["mean"], 2) if base is not None else float("nan")})
    table = pd.DataFrame(rows)
    poster = poster_numbers()
    poster = poster[(poster.table == "multi") & (poster.model == model)][["train", "test", "value"]]
    poster = poster.rename(columns={"value": "poster AUROC"})
    return table.merge(poster, on=["train", "test"], how="left")


def aug_scramble_table(results: pd.DataFrame, model: str, head: str,
                       as_text: bool = False) -> tuple[pd.DataFrame, str | None]:
    """The poster's findings table: for the largest multi-corpus training set, AUROC on each of its corpora
    minus that corpus's single-corpus baseline, per augmentation share, unscrambled and scrambled.
    ``as_text``: cells with the multi-corpus run's bootstrap interval shifted by the baseline (taken as
    fixed) and the standard deviation over seeds."""
    part = results[(results.model == model) & (results["head"] == head) & (results.metric == "auroc")]
    multi = part[part.n_train_corpora > 1]
    if multi.empty:
        return pd.DataFrame(), None
    train = multi.sort_values("n_train_corpora").train.iloc[-1]
    block = multi[(multi.train == train) & multi.in_training.astype(bool)]
    base = baseline(part)
    own = base[(base.n_train_corpora == 1) & (base.train == base.test)].groupby("test").value.mean()
    shift = block.test.map(own)
    block = block.assign(value=block.value - shift, ci_low=block.ci_low - shift, ci_high=block.ci_high - shift,
                         scramble=block.scramble.astype(bool))
    stats = spread(block, ["aug_share", "scramble", "test"])
    column = stats.apply(cell_text, axis=1) if as_text else stats["mean"].round(2)
    table = column.unstack(["scramble", "test"])
    tests = corpus_order(block.test.unique())
    cols = [(s, t) for s in (False, True) for t in tests if (s, t) in table.columns]
    table = table.reindex(columns=pd.MultiIndex.from_tuples(cols))
    table.columns = [f"{t} ({'scrambled' if s else 'true labels'})" for s, t in table.columns]
    table.index = [f"{a * 100:g}%" for a in table.index]
    return table, train


def absent_classes(results: pd.DataFrame) -> dict[str, str]:
    """Test corpus → the classes its test split lacks, as text."""
    return {t: ", ".join(a) for t, a in absent_by_test(results).items()}


# ---------------------------------------------------------------- confusion matrices

@dataclass
class Confusion:
    """Counts [true][predicted] summed over runs, in the order of ``classes`` (the runs' heads' outputs)."""

    counts: np.ndarray
    classes: list[str]


def summed_confusion(records: dict, run_ids, test: str) -> Confusion | None:
    """The confusion counts of ``run_ids`` on ``test``, summed (None when none recorded them). Runs whose heads
    have other classes, or the same in another order, are never summed together: a ValueError names them."""
    found = [(r, records[r]) for r in run_ids if r in records and test in records[r].confusion]
    if not found:
        return None
    classes = list(found[0][1].classes)
    other = [r for r, record in found if list(record.classes) != classes]
    if other:
        raise ValueError(f"runs {found[0][0]} and {other[0]} have other class lists "
                         f"({', '.join(classes)} and {', '.join(records[other[0]].classes)}): their confusion "
                         "counts cannot be summed")
    counts = np.sum([np.asarray(record.confusion[test]) for _, record in found], axis=0)
    if counts.shape != (len(classes), len(classes)):
        raise ValueError(f"run {found[0][0]} records a {counts.shape[0]}×{counts.shape[1]} confusion on {test} "
                         f"for {len(classes)} classes")
    return Confusion(counts, classes)


def confusion_counts(results: pd.DataFrame, records: dict, model: str, head: str, train: str,
                     test: str) -> Confusion | None:
    """Counts of the baseline runs of one cell, summed over seeds (and folds), with their classes (None
    without any)."""
    part = baseline(results)
    part = part[(part.model == model) & (part["head"] == head) & (part.train == train) & (part.test == test)]
    return summed_confusion(records, part.run_id.unique(), test)


def confusion_table(counts: np.ndarray, classes=LABELS) -> pd.DataFrame:
    """Cells "count (row share)", rows: true class, columns: predicted class, in the order of ``classes``."""
    classes = list(classes)
    if counts.shape != (len(classes), len(classes)):
        raise ValueError(f"{counts.shape[0]}×{counts.shape[1]} counts for {len(classes)} classes")
    shares = row_normalised(counts)
    cells = [[f"{int(c)} ({s:.2f})" if np.isfinite(s) else f"{int(c)}" for c, s in zip(crow, srow)]
             for crow, srow in zip(counts, shares)]
    table = pd.DataFrame(cells, index=[f"true {lab}" for lab in classes], columns=[f"pred {lab}" for lab in classes])
    table["n"] = counts.sum(1).astype(int)
    return table


def confusion_cells(results: pd.DataFrame, model: str, head: str) -> list[tuple[str, str]]:
    """The cells whose confusion a reader wants first: each corpus trained and tested on itself, and for
    each training corpus the test corpus it transfers to worst (lowest mean AUROC)."""
    part = _cross_part(results, model, head, single_only=True)
    if part.empty:
        return []
    means = part.groupby(["train", "test"]).value.mean()
    cells = [(c, c) for c in corpus_order(part.train.unique()) if (c, c) in means.index]
    for train in corpus_order(part.train.unique()):
        others = means[train].drop(train, errors="ignore") if train in means.index.get_level_values(0) else None
        if others is not None and len(others):
            cells.append((train, others.idxmin()))
    return cells

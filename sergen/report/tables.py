"""The poster's tables computed from tidy results (means over seeds), with the poster's own numbers
beside them where the same cell exists (``poster_numbers.csv``, transcribed once from the poster)."""

from __future__ import annotations

from importlib import resources

import pandas as pd

from sergen import corpus_order

INTRA_METRICS = ("auroc", "acc", "f1", "avprec")


def poster_numbers() -> pd.DataFrame:
    with resources.files("sergen.report").joinpath("poster_numbers.csv").open() as fh:
        return pd.read_csv(fh, comment="#")


def _baseline(results: pd.DataFrame) -> pd.DataFrame:
    """Unscrambled, unaugmented runs."""
    return results[(~results.scramble.astype(bool)) & (results.aug_share == 0)]


def model_dim(model: str) -> str:
    from sergen.extractors import EXTRACTORS

    return str(EXTRACTORS.get(model).dim) if model in EXTRACTORS else "?"


def intra_table(results: pd.DataFrame, corpus: str) -> pd.DataFrame:
    """Model × head rows for a corpus trained and tested on itself, poster's numbers beside."""
    part = _baseline(results)
    part = part[(part.train == corpus) & (part.test == corpus) & part.metric.isin(INTRA_METRICS)]
    if part.empty:
        return pd.DataFrame()
    table = part.pivot_table(index=["model", "head"], columns="metric", values="value", aggfunc="mean")
    table = table.reindex(columns=list(INTRA_METRICS)).round(2)
    poster = poster_numbers()
    poster = poster[(poster.table == "intra") & (poster.test == corpus)]
    ref = poster.pivot_table(index=["model", "head"], columns="metric", values="value").reindex(columns=list(INTRA_METRICS))
    ref.columns = [f"poster {c}" for c in ref.columns]
    table = table.join(ref, how="left")
    table.insert(0, "dim", [model_dim(m) for m, _ in table.index])
    table.columns = [c.upper() if not c.startswith("poster") else c for c in table.columns]
    return table.reset_index()


def cross_matrix(results: pd.DataFrame, model: str, head: str, single_only: bool = True) -> pd.DataFrame:
    part = _baseline(results)
    part = part[(part.model == model) & (part["head"] == head) & (part.metric == "auroc")]
    if single_only:
        part = part[part.n_train_corpora == 1]
    if part.empty:
        return pd.DataFrame()
    matrix = part.pivot_table(index="train", columns="test", values="value", aggfunc="mean")
    cols = corpus_order(matrix.columns)
    rows = corpus_order([r for r in matrix.index if "+" not in r]) + sorted(r for r in matrix.index if "+" in r)
    return matrix.reindex(index=rows, columns=cols).round(2)


def multi_table(results: pd.DataFrame, model: str, head: str) -> pd.DataFrame:
    """Multi-corpus training sets: AUROC per test corpus, and the difference from each corpus's own
    single-corpus model (the diagonal of the cross-corpus matrix)."""
    part = _baseline(results)
    part = part[(part.model == model) & (part["head"] == head) & (part.metric == "auroc")]
    multi = part[part.n_train_corpora > 1]
    if multi.empty:
        return pd.DataFrame()
    own = part[(part.n_train_corpora == 1) & (part.train == part.test)].groupby("test").value.mean()
    rows = []
    for train, block in multi.groupby("train"):
        means = block.groupby("test").value.mean()
        for test in corpus_order(means.index):
            rows.append({"train": train, "test": test, "AUROC": round(means[test], 2),
                         "single-corpus AUROC": round(own.get(test, float("nan")), 2),
                         "difference": round(means[test] - own.get(test, float("nan")), 2)})
    table = pd.DataFrame(rows)
    poster = poster_numbers()
    poster = poster[(poster.table == "multi") & (poster.model == model)][["train", "test", "value"]]
    poster = poster.rename(columns={"value": "poster AUROC"})
    return table.merge(poster, on=["train", "test"], how="left")


def aug_scramble_table(results: pd.DataFrame, model: str, head: str) -> tuple[pd.DataFrame, str | None]:
    """The poster's findings table: for the largest multi-corpus training set, AUROC on each of its corpora
    minus that corpus's single-corpus baseline, per augmentation share, unscrambled and scrambled."""
    part = results[(results.model == model) & (results["head"] == head) & (results.metric == "auroc")]
    multi = part[part.n_train_corpora > 1]
    if multi.empty:
        return pd.DataFrame(), None
    train = multi.sort_values("n_train_corpora").train.iloc[-1]
    block = multi[(multi.train == train) & multi.in_training.astype(bool)]
    base = _baseline(part)
    own = base[(base.n_train_corpora == 1) & (base.train == base.test)].groupby("test").value.mean()
    block = block.assign(diff=block.value - block.test.map(own))
    table = block.pivot_table(index="aug_share", columns=["scramble", "test"], values="diff", aggfunc="mean")
    tests = corpus_order(block.test.unique())
    cols = [(s, t) for s in (False, True) for t in tests if (s, t) in table.columns]
    table = table.reindex(columns=pd.MultiIndex.from_tuples(cols)).round(2)
    table.columns = [f"{t} ({'scrambled' if s else 'true labels'})" for s, t in table.columns]
    table.index = [f"{a * 100:g}%" for a in table.index]
    return table, train

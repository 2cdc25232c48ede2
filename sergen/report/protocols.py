"""Runs of other protocols than the poster's (another label set, folds, a named protocol such as SUPERB's
``superb-er``), as the report reads them: their protocol columns with the defaults of rows written by an
older sergen, the groups that never share a cell, and the mean ± spread over folds.

A protocol group is one (``labels``, ``folds``, ``protocol``): numbers of two groups are never averaged
together (another label set scores another task; another split tests other utterances). Inside a group a
cell is one model, head, layer, training set, test corpus and class list; its rows differ only by ``fold``
and ``seed``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sergen import LABELS
from sergen.spec import OPTIONS, cell_keys, group_keys, row_defaults
from sergen.train.metrics import METRICS
from sergen.train.norms import NORMS

POSTER_CLASSES = ",".join(LABELS)
# what a row written before runs carried their protocol means: the poster's four classes, one split (the text
# and whole-number columns of the run-option table, ``sergen.spec``, and the rows' class list and settings)
PROTOCOL_DEFAULTS = {**row_defaults(types=(str, int)), "classes": POSTER_CLASSES, "settings": ""}
# a label set, fold scheme, named protocol, normalisation or pooling changes what a head sees: a group apiece
GROUP_KEYS = group_keys()
CELL_KEYS = (*cell_keys(), "classes", "settings")
CELL_DEFAULTS = row_defaults(OPTIONS)  # a cell option absent from older rows: its row default


def with_protocol_columns(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with the columns of ``PROTOCOL_DEFAULTS`` always present and typed (``fold`` int, the others
    str): an absent column or an empty cell reads as the poster's protocol. A CSV round trip turns "" into NaN,
    "4" into the number 4 and a layer "12" into 12.0; all are undone here."""
    rows = rows.copy()
    for column, default in PROTOCOL_DEFAULTS.items():
        values = rows[column] if column in rows else pd.Series(default, index=rows.index, dtype=object)
        if type(default) is int:  # ``fold``
            rows[column] = pd.to_numeric(values, errors="coerce").fillna(0).astype(int)
        else:
            rows[column] = values.map(lambda v, d=default: d if v is None or (isinstance(v, float) and np.isnan(v))
                                      else _text(v) or d)
    return rows


def _text(value) -> str:
    """4.0 (a labels column read as numbers) → "4"."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def is_poster_protocol(rows: pd.DataFrame) -> pd.Series:
    """Rows of the poster's protocol: four classes, each corpus's own split, no named protocol, the training
    pool's normalisation."""
    poster = pd.Series(True, index=rows.index)
    for key in GROUP_KEYS:
        poster &= rows[key] == PROTOCOL_DEFAULTS[key]
    return poster


def protocol_groups(rows: pd.DataFrame) -> list[tuple[dict, pd.DataFrame]]:
    """(group, its rows) for every protocol other than the poster's, in a stable order."""
    other = rows[~is_poster_protocol(rows)]
    groups = []
    for key, part in other.groupby(list(GROUP_KEYS), sort=True):
        groups.append((dict(zip(GROUP_KEYS, key)), part))
    return groups


def group_title(group: dict) -> str:
    """e.g. "labels native (each corpus's native classes) · folds: 4 speaker folds", or with a named protocol
    "protocol superb-er — labels 4 (the poster's 4 classes) · folds: the corpus's own folds"."""
    labels = group["labels"]
    named = {"4": "the poster's 4 classes", "native": "each corpus's native classes"}
    meaning = named.get(labels, f"the classes of {labels[4:] if labels.startswith('map:') else labels}")
    folds = {"": "each corpus's own split", "corpus": "the corpus's own folds"}.get(group["folds"], group["folds"])
    if group["folds"].startswith("speaker:"):
        folds = f"{group['folds'].split(':', 1)[1]} speaker folds"
    elif group["folds"].startswith("file:"):
        folds = f"the folds of {group['folds'][5:]}"
    text = f"labels {labels} ({meaning}) · folds: {folds}"
    if group.get("norm", "global") != "global":
        norm = group["norm"]  # its one line from the registry; a name this sergen does not know, as given
        text += f" · normalisation: {NORMS.get(norm).help if norm in NORMS else norm} (--norm {norm})"
    if group.get("pool", "mean") != "mean":
        text += f" · pooling: {group['pool']} (--pool {group['pool']})"
    return f"protocol {group['protocol']} — {text}" if group["protocol"] else text


def expected_folds(folds: str) -> int | None:
    """The number of folds a protocol promises where its name says it (``speaker:K``), else None."""
    if folds.startswith("speaker:"):
        try:
            return int(folds.split(":", 1)[1])
        except ValueError:
            return None
    return None


# ---------------------------------------------------------------- the mean over folds

@dataclass
class FoldAggregate:
    """One cell's value over folds (and seeds)."""

    mean: float  # mean over folds of the per-fold values
    sd_folds: float  # sample standard deviation (ddof=1) of the per-fold values; NaN with one fold
    n_folds: int  # folds with a value
    sd_seeds: float  # sample standard deviation (ddof=1) over seeds of each seed's mean over folds; NaN with one seed
    n_seeds: int
    per_fold: pd.Series  # fold → mean over seeds of that fold's value


def aggregate_folds(part: pd.DataFrame) -> FoldAggregate:
    """Aggregate the rows of one cell and one metric that differ only by ``fold`` and ``seed``.

    - per-fold value: the mean over seeds of that fold's values;
    - ``mean``: the unweighted mean of the per-fold values (each fold counts once, whatever its size, as
      SUPERB and EmoBox average their folds);
    - ``sd_folds``: the sample standard deviation (ddof=1) of the per-fold values: how much the folds
      differ, not an error of the mean (NaN with one fold);
    - ``sd_seeds`` (several seeds): the sample standard deviation (ddof=1) over seeds of each seed's mean
      over its folds: how much training randomness moves the cell.

    Values that are NaN (a metric undefined on a fold) are left out of every mean; ``n_folds`` counts the
    folds that have a value.
    """
    values = part[["fold", "seed", "value"]].astype({"value": float})
    per_fold = values.groupby("fold").value.mean().dropna().sort_index()
    per_seed = values.dropna(subset=["value"]).groupby("seed").value.mean()
    return FoldAggregate(mean=float(per_fold.mean()) if len(per_fold) else float("nan"),
                         sd_folds=float(per_fold.std(ddof=1)) if len(per_fold) > 1 else float("nan"),
                         n_folds=int(len(per_fold)),
                         sd_seeds=float(per_seed.std(ddof=1)) if len(per_seed) > 1 else float("nan"),
                         n_seeds=int(values.seed.nunique()),
                         per_fold=per_fold)


def fold_cell_text(agg: FoldAggregate, percent: bool = False, expected: int | None = None) -> str:
    """``0.712 ± 0.021 (4 folds)``; in percent ``71.20 ± 2.10 (4 folds)``; a missing fold shows as
    ``(3 of 4 folds)``; several seeds add ``; ±0.004 over 3 seeds``."""
    if not np.isfinite(agg.mean):
        return "–"
    scale, digits = (100.0, 2) if percent else (1.0, 3)
    text = f"{agg.mean * scale:.{digits}f}"
    if np.isfinite(agg.sd_folds):
        text += f" ± {agg.sd_folds * scale:.{digits}f}"
    count = f"{agg.n_folds} of {expected}" if expected and agg.n_folds != expected else f"{agg.n_folds}"
    text += f" ({count} fold{'s' if (expected or agg.n_folds) != 1 else ''})"
    if agg.n_seeds > 1 and np.isfinite(agg.sd_seeds):
        text += f"; ±{agg.sd_seeds * scale:.{digits}f} over {agg.n_seeds} seeds"
    return text


def seed_cell_text(part: pd.DataFrame, percent: bool = False) -> str:
    """A cell without folds: mean over seeds, the bootstrap interval (each seed's bounds averaged) and,
    with several seeds, ± their standard deviation (ddof=1) — as the poster's tables."""
    values = part.value.astype(float)
    if not np.isfinite(values).any():
        return "–"
    scale, digits = (100.0, 2) if percent else (1.0, 2)
    text = f"{values.mean() * scale:.{digits}f}"
    low, high = part.ci_low.astype(float).mean(), part.ci_high.astype(float).mean()
    if np.isfinite(low) and np.isfinite(high):
        text += f" [{low * scale:.{digits}f}–{high * scale:.{digits}f}]"
    if part.seed.nunique() > 1:
        text += f" ±{values.std(ddof=1) * scale:.{digits}f} (n={part.seed.nunique()})"
    return text


def has_folds(group: dict) -> bool:
    return group["folds"] != ""


def cell_text(part: pd.DataFrame, group: dict, percent: bool = False) -> str:
    """One cell of a protocol group: over folds where the group has folds, over seeds otherwise."""
    if has_folds(group):
        return fold_cell_text(aggregate_folds(part), percent, expected_folds(group["folds"]))
    return seed_cell_text(part, percent)


def spread_legend(group: dict) -> str:
    """What the ± of a group's cells is over, in words."""
    if has_folds(group):
        return ("Each cell: the mean over folds of each fold's value (a fold's value: its mean over seeds), ± the "
                "sample standard deviation over folds (ddof=1; how much the folds differ), with the number of "
                "folds; where there are several seeds, then ± the standard deviation over seeds of each seed's "
                "mean over folds. Bootstrap intervals are per fold and not shown here.")
    return ("Each cell: mean over seeds, the bootstrap 95% interval over test utterances in brackets (each seed's "
            "bounds averaged) and, with several seeds, ± their standard deviation with the number of seeds.")


# ---------------------------------------------------------------- tables of a group

# (column title, metric, percent) — the registered metrics (``sergen.train.metrics``) under the poster's
# classes, and EmoBox's columns as EmoBox names and prints them (WA and micro-F1 are both sergen's ``acc``)
def poster_columns() -> tuple[tuple[str, str, bool], ...]:
    return tuple((m.title, m.name, False) for m in METRICS.all() if m.report)


EMOBOX_COLUMNS = (("AUROC", "auroc", False), ("WA %", "acc", True), ("UA %", "uar", True),
                  ("micro-F1 %", "acc", True), ("macro-F1 %", "emobox_f1", True))


def emobox_style(group: dict, rows: pd.DataFrame) -> bool:
    """EmoBox's metrics for a group of other classes than the poster's, or of EmoBox's datasets."""
    return group["labels"] != "4" or rows.test.astype(str).str.startswith("emobox-").any() \
        or rows.train.astype(str).str.startswith("emobox-").any()


def _cells(rows: pd.DataFrame) -> list[tuple[dict, pd.DataFrame]]:
    """(cell, its rows) in table order: model, head, training set, then the test corpora in the poster's order."""
    from sergen import corpus_order

    rows = rows.assign(**{k: rows[k] if k in rows else CELL_DEFAULTS[k] for k in CELL_KEYS if k in CELL_DEFAULTS})
    order = {c: i for i, c in enumerate(corpus_order(rows.test.unique()))}
    cells = [(dict(zip(CELL_KEYS, key)), part) for key, part in rows.groupby(list(CELL_KEYS), sort=True, dropna=False)]
    # then by layer, scramble and augmentation share, in that order (the groupby's for the rest)
    return sorted(cells, key=lambda kv: (str(kv[0]["model"]), str(kv[0]["head"]), str(kv[0]["train"]),
                                         order.get(kv[0]["test"], 0), str(kv[0]["classes"]), str(kv[0]["layer"])))


def _cell_label(cell: dict) -> dict:
    """The row heading of a cell: the layer beside the model where one was chosen; scrambled or augmented
    training beside the training set."""
    model, train = str(cell["model"]), str(cell["train"])
    if str(cell["layer"]) not in ("-", "nan", ""):
        model += f" (layer {cell['layer']})"
    scrambled, aug = bool(cell["scramble"]), float(cell["aug_share"] or 0)
    if scrambled or aug > 0:
        train += " (" + ", ".join((["scrambled"] if scrambled else []) + ([f"aug {aug:.0%}"] if aug > 0 else [])) + ")"
    return {"model": model, "head": cell["head"], "train": train, "test": cell["test"]}


def group_table(rows: pd.DataFrame, group: dict) -> pd.DataFrame:
    """One row per cell (model, head, layer, train, test, class list; scrambled and augmented runs
    apart), the group's metrics as text with their spread."""
    columns = EMOBOX_COLUMNS if emobox_style(group, rows) else poster_columns()
    out = []
    for cell, part in _cells(rows):
        line = dict(_cell_label(cell), classes=len(str(cell["classes"]).split(",")))
        for title, metric, percent in columns:
            block = part[part.metric == metric]
            line[title] = cell_text(block, group, percent) if len(block) else "–"
        out.append(line)
    return pd.DataFrame(out)


def class_lists(rows: pd.DataFrame) -> list[str]:
    """"train → test: class, class, …" for every distinct class list of a group (the heads' output order)."""
    lines = []
    for classes, part in rows.groupby("classes", sort=True):
        pairs = sorted({f"{t} → {s}" for t, s in zip(part.train, part.test)})
        lines.append(f"{', '.join(pairs)}: {str(classes).replace(',', ', ')} ({len(str(classes).split(','))} classes)")
    return lines


def per_fold_table(rows: pd.DataFrame, group: dict, metric: str, percent: bool = False) -> pd.DataFrame:
    """One row per cell, one column per fold (its mean over seeds), then the mean and the standard
    deviation over folds (``aggregate_folds``)."""
    part = rows[rows.metric == metric]
    scale, digits = (100.0, 2) if percent else (1.0, 3)
    out = []
    for cell, cell_rows in _cells(part):
        agg = aggregate_folds(cell_rows)
        line = _cell_label(cell)
        for fold, value in agg.per_fold.items():
            line[f"fold {int(fold)}"] = f"{value * scale:.{digits}f}"
        line["mean"] = f"{agg.mean * scale:.{digits}f}" if np.isfinite(agg.mean) else "–"
        line["sd"] = f"{agg.sd_folds * scale:.{digits}f}" if np.isfinite(agg.sd_folds) else "–"
        line["seeds"] = agg.n_seeds
        out.append(line)
    table = pd.DataFrame(out)
    if table.empty:
        return table
    folds = sorted((c for c in table.columns if c.startswith("fold ")), key=lambda c: int(c.split()[1]))
    head = ["model", "head", "train", "test"]
    return table.reindex(columns=head + folds + ["mean", "sd", "seeds"]).fillna("–")


def protocol_summary(rows: pd.DataFrame) -> list[str]:
    """One line per protocol of these rows with its number of runs, the poster's first."""
    rows = with_protocol_columns(rows)
    poster = rows[is_poster_protocol(rows)]
    lines = [f"the poster's protocol (4 classes, each corpus's own split): {poster.run_id.nunique()} run(s)"] \
        if len(poster) else []
    return lines + [f"{group_title(group)}: {part.run_id.nunique()} run(s)" for group, part in protocol_groups(rows)]

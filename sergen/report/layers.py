"""Layer sweeps as the report reads them: where one model, training set and head was probed on several
numeric layers (``--layer all`` or ``--layer N`` runs), AUROC per layer within corpora (test corpora in the
training set) and across them (the mean of the off-diagonal: test corpora outside it), each as mean ± sd
over seeds — the layer-wise picture SUPERB-style studies draw."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sergen import corpus_order
from sergen.report.remedies import Stat, remedy_rows

SWEEP_KEYS = ("model", "train", "head", "labels", "folds", "protocol", "classes", "norm", "pool")


@dataclass
class LayerSweep:
    """One sweep: its shared settings, and per layer the within- and cross-corpus AUROC over seeds."""

    context: dict
    layers: list[int]
    within: dict[int, Stat | None]
    cross: dict[int, Stat | None]
    outside: list[str]  # the test corpora outside the training set (the cross-corpus mean's)

    @property
    def title(self) -> str:
        c = self.context
        extra = [f"norm {c['norm']}"] if c["norm"] != "global" else []
        extra += [f"pool {c['pool']}"] if c["pool"] != "mean" else []
        extra += [f"labels {c['labels']}"] if c["labels"] != "4" else []
        extra += [f"folds {c['folds']}"] if c["folds"] else []
        extra += [f"protocol {c['protocol']}"] if c["protocol"] else []
        return " · ".join([c["model"], c["head"], f"trained on {c['train']}", *extra])

    def table(self) -> pd.DataFrame:
        """Layer × (within-corpus AUROC, cross-corpus AUROC), cells "mean ± sd (n=seeds)", "–" where absent."""
        cross = "cross-corpus AUROC" + (f" ({', '.join(self.outside)})" if self.outside else "")
        return pd.DataFrame({"layer": self.layers,
                             "within-corpus AUROC": [_cell(self.within[k]) for k in self.layers],
                             cross: [_cell(self.cross[k]) for k in self.layers]})

    def means(self) -> pd.DataFrame:
        """Layer-indexed means and sds of both lines, for the figure."""
        def col(stats, attr):
            return [getattr(stats[k], attr) if stats[k] else float("nan") for k in self.layers]
        return pd.DataFrame({"within": col(self.within, "mean"), "within_sd": col(self.within, "sd"),
                             "cross": col(self.cross, "mean"), "cross_sd": col(self.cross, "sd")},
                            index=pd.Index(self.layers, name="layer"))


def _cell(stat: Stat | None) -> str:
    return stat.text() if stat else "–"


def layer_sweeps(rows: pd.DataFrame) -> list[LayerSweep]:
    """Every sweep in ``rows`` (true labels, no augmentation): groups holding two or more numeric layers."""
    if rows.empty:
        return []
    rows = remedy_rows(rows)
    rows = rows[(rows.metric == "auroc") & ~rows.scramble & (rows.aug_share == 0) & rows.layer.str.isdigit()]
    sweeps = []
    for key, part in rows.groupby(list(SWEEP_KEYS), sort=True):
        layers = sorted({int(v) for v in part.layer})
        if len(layers) < 2:
            continue
        within, cross = {}, {}
        for layer in layers:
            one = part[part.layer == str(layer)]
            within[layer] = Stat.of(one[one.in_training].groupby("seed").value.mean())
            cross[layer] = Stat.of(one[~one.in_training].groupby("seed").value.mean())
        sweeps.append(LayerSweep(dict(zip(SWEEP_KEYS, key)), layers, within, cross,
                                 corpus_order(part[~part.in_training].test.unique())))
    return sweeps

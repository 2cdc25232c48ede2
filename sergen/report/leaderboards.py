"""Published leaderboards sergen's numbers are set beside, each transcribed once into a CSV with its source
named in the file's header (``emobox_leaderboard.csv``: EmoBox's intra-corpus track;
``superb_leaderboard.csv``: SUPERB's emotion recognition as the WavLM paper prints it), the table that says
which sergen model is which leaderboard model, and the "sergen vs leaderboard" rows of a report."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

from sergen.report.protocols import aggregate_folds

EMOBOX_SOURCE = ("EmoBox intra-corpus leaderboard, https://emo-box.github.io/leaderboard1.html "
                 "(Ma et al., Interspeech 2024, arXiv:2406.07162)")
SUPERB_SOURCE = ("SUPERB emotion recognition (IEMOCAP, 4 classes, 5 leave-one-session-out folds, accuracy) as printed "
                 "in the WavLM paper: Chen et al., IEEE JSTSP 16(6), 2022, arXiv:2110.13900, Table I, column ER")

# sergen's model name (a store's folder name) → (EmoBox's name, SUPERB's name) of the same checkpoint; None where
# that leaderboard has no row for it. Only the same weights count: WavLM Base+ is not WavLM Base.
LEADERBOARD_MODELS: dict[str, tuple[str | None, str | None]] = {
    "wavlm-large": ("WavLM large", "WavLM Large"),
    "hf-microsoft--wavlm-large": ("WavLM large", "WavLM Large"),
    "hf-microsoft--wavlm-base": ("WavLM base", None),
    "hf-facebook--hubert-large-ll60k": ("HuBERT large", "HuBERT Large"),
    "hf-facebook--hubert-base-ls960": ("HuBERT base", None),
    "hf-facebook--wav2vec2-base": ("wav2vec 2.0 base", None),
    "hf-facebook--wav2vec2-large-lv60": (None, "wav2vec 2.0 Large"),
    "hf-facebook--data2vec-audio-base": ("data2vec base", None),
    "hf-facebook--data2vec-audio-large": ("data2vec large", None),
    "whisper-large-v3": ("Whisper large v3", None),
}
# EmoBox's metric → the row metric that computes it as EmoBox does (WA = accuracy, UA = UAR, F1 = macro-F1
# over the classes of the truth and the predictions)
EMOBOX_METRIC_OF = {"wa": "acc", "ua": "uar", "f1": "emobox_f1"}
COMPARABILITY = (
    "These numbers are comparable only loosely. sergen's are light heads (linear, or an MLP 128×256) trained on "
    "frame windows of one stored layer of a frozen encoder, with sergen's sampler, early stopping and "
    "validation split; SUPERB and EmoBox train their own downstream model on a learned weighted sum of every "
    "layer of the frozen encoder, with their own training recipe. The column `protocol match` says how close "
    "the utterances, classes and folds are: only a row whose match reads \"same\" tests the same utterances "
    "on the same classes and folds as the leaderboard; the others differ in what they test as well.")


def emobox_leaderboard() -> pd.DataFrame:
    """One row per published cell: table (``intra``), dataset (EmoBox's ``data/<dataset>`` name), emobox_column
    (the page's column), corpus (sergen's name, empty for datasets sergen has no reader for), model (as EmoBox
    prints it), metric (``wa``, ``ua``, ``f1``: EmoBox's WA, UA, macro-F1) and value (percent)."""
    with resources.files("sergen.report").joinpath("emobox_leaderboard.csv").open() as fh:
        return pd.read_csv(fh, comment="#", dtype={"corpus": str}, keep_default_na=False)


def superb_leaderboard() -> pd.DataFrame:
    """One row per published cell: benchmark (``superb``), task (``er``), model (as the paper prints it),
    metric (``acc``) and value (percent)."""
    with resources.files("sergen.report").joinpath("superb_leaderboard.csv").open() as fh:
        return pd.read_csv(fh, comment="#")


def emobox_dataset(corpus: str, board: pd.DataFrame | None = None) -> str | None:
    """EmoBox's dataset for a sergen corpus: ``emobox-<dataset>`` (EmoBox's own metadata) or one of sergen's
    readers that EmoBox also covers (``msp`` → ``msppodcast``); None otherwise."""
    board = emobox_leaderboard() if board is None else board
    if corpus.startswith("emobox-") and corpus[7:] in set(board.dataset):
        return corpus[7:]
    mapped = board[board.corpus == corpus].dataset.unique()
    return str(mapped[0]) if len(mapped) else None


def _emobox_match(corpus: str, labels: str, folds: str) -> str:
    """How close a sergen cell is to EmoBox's protocol for that dataset, in words."""
    own = corpus.startswith("emobox-")
    if own and labels == "native" and folds == "corpus":
        return "same: EmoBox's utterances, classes and folds"
    if own:
        what = "EmoBox's utterances" + (", classes" if labels == "native" else f", labels {labels}")
        split = "its folds" if folds == "corpus" else (f"folds {folds}" if folds else "its fold 1 only")
        return f"partly: {what} and {split}"
    split = {"": "its own split", "corpus": "its own folds"}.get(folds, f"folds {folds}")
    return f"loosely: sergen's {corpus} reader, labels {labels}, {split} (not EmoBox's metadata and folds)"


def leaderboard_comparison(rows: pd.DataFrame) -> pd.DataFrame:
    """sergen's intra-corpus cells (true labels, no augmentation, one training corpus tested on itself) whose
    protocol matches a leaderboard, beside its cell: SUPERB's ER accuracy for ``protocol superb-er``; EmoBox's
    WA (and UA, F1 where published) for native labels, or EmoBox's folds, on an EmoBox dataset. sergen's
    value is the mean over folds (``aggregate_folds``), in percent. ``rows`` need the protocol columns
    (``sergen.report.protocols.with_protocol_columns``)."""
    part = rows[(~rows.scramble.astype(bool)) & (rows.aug_share.astype(float) == 0) & (rows.train == rows.test)]
    emobox, superb = emobox_leaderboard(), superb_leaderboard()
    out = []
    keys = ["model", "head", "train", "test", "labels", "folds", "protocol", "classes", "norm", "pool"]
    for key, cell in part.groupby(keys, sort=True):
        c = dict(zip(keys, key))
        emobox_name, superb_name = LEADERBOARD_MODELS.get(c["model"], (None, None))
        common = {"sergen model": c["model"], "head": c["head"], "corpus": c["test"],
                  "sergen protocol": f"labels {c['labels']}, folds {c['folds'] or '(own split)'}"
                                     + (f", {c['protocol']}" if c["protocol"] else "")
                                     + (f", --norm {c['norm']}" if c["norm"] != "global" else "")
                                     + (f", --pool {c['pool']}" if c["pool"] != "mean" else "")}
        if c["protocol"] == "superb-er" and superb_name:
            for _, ref in superb[superb.model == superb_name].iterrows():
                out.append(_line(common, cell, "acc", "SUPERB ER", "iemocap", "accuracy", superb_name, ref.value,
                                 "same: SUPERB's classes and folds" if c["test"] in ("iemocap", "emobox-iemocap")
                                 else "loosely: another corpus"))
        dataset = emobox_dataset(c["test"], emobox)
        if emobox_name and dataset and (c["labels"] == "native" or (c["folds"] == "corpus" and
                                                                    c["test"].startswith("emobox-"))):
            refs = emobox[(emobox.dataset == dataset) & (emobox.model == emobox_name)]
            for _, ref in refs.iterrows():
                out.append(_line(common, cell, EMOBOX_METRIC_OF[ref.metric], "EmoBox", dataset,
                                 ref.metric.upper(), emobox_name, ref.value,
                                 _emobox_match(c["test"], c["labels"], c["folds"])))
    columns = ["leaderboard", "dataset", "metric", "sergen model", "leaderboard model", "head", "corpus",
               "sergen protocol", "sergen %", "leaderboard %", "difference (points)", "protocol match"]
    return pd.DataFrame(out, columns=columns)


def _line(common: dict, cell: pd.DataFrame, metric: str, board: str, dataset: str, shown: str, name: str,
          value: float, match: str) -> dict:
    rows = cell[cell.metric == metric]
    agg = aggregate_folds(rows) if len(rows) else None
    mine = agg.mean * 100 if agg is not None and np.isfinite(agg.mean) else float("nan")
    with_folds = agg is not None and agg.n_folds and (rows.fold.astype(int) > 0).any()
    folds = f" ({agg.n_folds} fold{'s' if agg.n_folds != 1 else ''})" if with_folds else ""
    return dict(common, **{"leaderboard": board, "dataset": dataset, "metric": shown, "leaderboard model": name,
                           "sergen %": f"{mine:.2f}{folds}" if np.isfinite(mine) else "–",
                           "leaderboard %": f"{float(value):.2f}",
                           "difference (points)": f"{mine - float(value):+.2f}" if np.isfinite(mine) else "–",
                           "protocol match": match})

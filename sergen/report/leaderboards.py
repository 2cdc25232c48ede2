"""Published leaderboards sergen's numbers are set beside, each transcribed once into a CSV with its source
named in the file's header (``emobox_leaderboard.csv``: EmoBox's intra-corpus track)."""

from __future__ import annotations

from importlib import resources

import pandas as pd

EMOBOX_SOURCE = ("EmoBox intra-corpus leaderboard, https://emo-box.github.io/leaderboard1.html "
                 "(Ma et al., Interspeech 2024, arXiv:2406.07162)")


def emobox_leaderboard() -> pd.DataFrame:
    """One row per published cell: table (``intra``), dataset (EmoBox's ``data/<dataset>`` name), emobox_column
    (the page's column), corpus (sergen's name, empty for datasets sergen has no reader for), model (as EmoBox
    prints it), metric (``wa``, ``ua``, ``f1``: EmoBox's WA, UA, macro-F1) and value (percent)."""
    with resources.files("sergen.report").joinpath("emobox_leaderboard.csv").open() as fh:
        return pd.read_csv(fh, comment="#", dtype={"corpus": str}, keep_default_na=False)

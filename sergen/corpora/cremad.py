"""CREMA-D: ``AudioWAV/<actor>_<sentence>_<EMO>_<level>.wav``.

Intended labels (from the file name) by default; ``labels="perceived"`` takes the voice-only vote of
``processedResults/summaryTable.csv`` (letters A, D, F, H, N, S) and drops files whose vote is tied
(``A:N``), counted. Native classes (code → ``native_label`` → ``label``): ANG/A angry → ang, HAP/H happy
→ hap, NEU/N neutral → neu, SAD/S sad → sad, DIS/D disgust, FEA/F fearful → "" (kept for ``--labels
native``: 6 classes, 7,442 files). Gender from ``VideoDemographics.csv`` when present. Random seeded split
in the poster's proportions (3,960 / 1,413 / 1,424 of the four classes); the other classes are split on
their own in the same proportions, so the 4-class split is the poster's whatever else is kept. Speakers
overlap across splits, as in the poster.
"""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd

from sergen.corpora.base import (CORPUS_READERS, OUTSIDE_FOUR, CorpusReader, Problems, random_split_four_first,
                                 read_table)
from sergen.errors import SergenError

NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")
# code of the file name (intended) or letter of the vote (perceived) → (native class, 4-class label)
EMOTIONS = {"ANG": ("angry", "ang"), "HAP": ("happy", "hap"), "NEU": ("neutral", "neu"), "SAD": ("sad", "sad"),
            "DIS": ("disgust", OUTSIDE_FOUR), "FEA": ("fearful", OUTSIDE_FOUR)}
VOTES = {"A": EMOTIONS["ANG"], "H": EMOTIONS["HAP"], "N": EMOTIONS["NEU"], "S": EMOTIONS["SAD"],
         "D": EMOTIONS["DIS"], "F": EMOTIONS["FEA"]}
POSTER_FRACTIONS = (3960, 1413, 1424)


@CORPUS_READERS.register("cremad", "crema-d", "crema")
class CremadReader(CorpusReader):
    name = "cremad"
    layout = "AudioWAV/<actor>_<sentence>_<EMO>_<level>.wav"
    required = ("AudioWAV",)

    def __init__(self, root, seed: int = 0, labels: str = "intended"):
        super().__init__(root, seed)
        if labels not in ("intended", "perceived"):
            raise SergenError(f"labels must be 'intended' or 'perceived', not {labels!r}")
        self.labels = labels

    def options(self) -> dict:
        return {"seed": self.seed, "labels": self.labels}

    def _genders(self) -> dict[str, str]:
        table = self.root / "VideoDemographics.csv"
        if not table.exists():
            return {}
        demo = read_table(table, "CREMA-D's VideoDemographics.csv", "use the release's file (columns ActorID, Sex)",
                          dtype=str)
        if not {"ActorID", "Sex"} <= set(demo.columns):
            raise SergenError(f"{table.name} lacks the ActorID and Sex columns", where=str(table),
                              fix="use the release's VideoDemographics.csv, or remove it (genders are then unknown)")
        return {row.ActorID: row.Sex[:1].upper() for row in demo.itertuples() if isinstance(row.Sex, str)}

    def _votes(self) -> dict[str, str]:
        table = self.root / "processedResults" / "summaryTable.csv"
        if not table.exists():
            raise SergenError(
                "perceived labels asked for, but the vote table is missing", where=str(table),
                fix="use the default intended labels, or add processedResults/summaryTable.csv from the CREMA-D release",
            )
        votes = read_table(table, "the CREMA-D vote table", "use the release's processedResults/summaryTable.csv",
                           dtype=str)
        if not {"FileName", "VoiceVote"} <= set(votes.columns):
            raise SergenError(f"{table} lacks the FileName and VoiceVote columns", where=str(table))
        return dict(zip(votes["FileName"], votes["VoiceVote"]))

    def scan(self, problems: Problems, dropped: Counter) -> list[dict]:
        genders = self._genders()
        votes = self._votes() if self.labels == "perceived" else None
        rows = []
        for wav in sorted((self.root / "AudioWAV").glob("*.wav")):
            rel = str(wav.relative_to(self.root))
            match = NAME.match(wav.stem)
            if not match or match.group(3) not in EMOTIONS:
                problems.add(rel, "unparseable file name: expected <actor>_<sentence>_<ANG|HAP|NEU|SAD|DIS|FEA>_<level>.wav")
                continue
            actor, _, emo, _ = match.groups()
            native, label = EMOTIONS[emo]
            if votes is not None:
                if wav.stem not in votes:
                    problems.add(rel, "missing vote: file not in processedResults/summaryTable.csv")
                    continue
                vote = votes[wav.stem]
                if vote not in VOTES:  # a tie (A:N) or an empty vote: no class of its own
                    dropped[f"label {vote}"] += 1
                    continue
                native, label = VOTES[vote]
            rows.append({"utt_id": wav.stem, "path": rel, "native_label": native, "label": label,
                         "speaker": actor, "gender": genders.get(actor, "unknown")})
        return rows

    def assign_splits(self, df: pd.DataFrame) -> pd.Series:
        return random_split_four_first(df, POSTER_FRACTIONS, self.seed)

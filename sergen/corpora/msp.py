"""MSP-Podcast: ``Labels/labels_consensus.csv`` (older releases: ``labels_concensus.csv``) and ``Audios/``.

EmoClass (code → ``native_label`` → ``label``): A angry → ang, H happy → hap, N neutral → neu, S sad → sad,
C contempt, D disgust, F fearful, U surprised, O other → "" (kept for ``--labels native``). X (the raters
reached no agreement) has no class and is dropped, counted, as is any code not listed. The corpus's own
sets give the split: Train → train, Validation/Development → valid, Test1 → test. Test2/Test3 are left out
unless ``test_set`` names one of them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import PurePosixPath

import pandas as pd

from sergen.corpora.base import CORPUS_READERS, OUTSIDE_FOUR, CorpusReader, Problems, read_table
from sergen.errors import SergenError

LABEL_FILES = ("Labels/labels_consensus.csv", "Labels/labels_concensus.csv")
COLUMNS = ("FileName", "EmoClass", "SpkrID", "Gender", "Split_Set")
# EmoClass → (native class, 4-class label)
CLASSES = {"A": ("angry", "ang"), "H": ("happy", "hap"), "N": ("neutral", "neu"), "S": ("sad", "sad"),
           "C": ("contempt", OUTSIDE_FOUR), "D": ("disgust", OUTSIDE_FOUR), "F": ("fearful", OUTSIDE_FOUR),
           "U": ("surprised", OUTSIDE_FOUR), "O": ("other", OUTSIDE_FOUR)}


@CORPUS_READERS.register("msp", "msp-podcast", "msppodcast")
class MspReader(CorpusReader):
    name = "msp"
    layout = "Audios/*.wav and Labels/labels_consensus.csv"
    required = ("Audios",)

    def __init__(self, root, seed: int = 0, test_set: str = "Test1"):
        super().__init__(root, seed)
        self.test_set = test_set

    def options(self) -> dict:
        return {"seed": self.seed, "test_set": self.test_set}

    def label_file(self):
        for name in LABEL_FILES:
            if (self.root / name).exists():
                return self.root / name
        raise SergenError(
            "MSP-Podcast label file is missing", where=str(self.root / LABEL_FILES[0]),
            fix="copy Labels/labels_consensus.csv from the release next to Audios/",
        )

    def scan(self, problems: Problems, dropped: Counter) -> list[dict]:
        table_path = self.label_file()
        table = read_table(table_path, f"the MSP-Podcast label file {table_path.name}",
                           f"use the release's Labels/{table_path.name} (columns {', '.join(COLUMNS)})", dtype=str)
        missing = [c for c in COLUMNS if c not in table.columns]
        if missing:
            raise SergenError(f"{table_path.name} lacks the column(s) {', '.join(missing)}", where=str(table_path),
                              fix=f"expected the columns {', '.join(COLUMNS)}")
        known = sorted(set(table["Split_Set"].dropna()))
        if self.test_set not in known:
            raise SergenError(f"MSP-Podcast has no set {self.test_set!r} to test on; its sets: {', '.join(known)}",
                              where=str(table_path), fix="pass --test-set with one of those names (Test1 by default)")
        split_map = {"Train": "train", "Validation": "valid", "Development": "valid", self.test_set: "test"}
        rows = []
        for lineno, rec in enumerate(table.itertuples(index=False), 2):
            split = split_map.get(rec.Split_Set)
            if split is None:
                dropped[f"set {rec.Split_Set}"] += 1
                continue
            if rec.EmoClass not in CLASSES:
                dropped[f"label {rec.EmoClass}"] += 1
                continue
            native, label = CLASSES[rec.EmoClass]
            if not isinstance(rec.FileName, str) or not rec.FileName.endswith(".wav"):
                problems.add(f"{table_path.name}:{lineno}", f"unparseable file name: {rec.FileName!r}")
                continue
            speaker = rec.SpkrID if isinstance(rec.SpkrID, str) and rec.SpkrID != "Unknown" else "unknown"
            gender = {"Male": "M", "Female": "F"}.get(rec.Gender, "unknown")
            rows.append({"utt_id": PurePosixPath(rec.FileName).stem, "path": f"Audios/{rec.FileName}",
                         "native_label": native, "label": label, "speaker": speaker,
                         "gender": gender, "split": split})
        return rows

    def assign_splits(self, df: pd.DataFrame) -> pd.Series:
        return df["split"]

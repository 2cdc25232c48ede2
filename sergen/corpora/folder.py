"""Bring your own corpus: a folder of audio plus a CSV with ``path,label[,speaker,split]``.

``native_label`` is the CSV's label as written (spaces trimmed); ``label`` its 4-class name matched by common
names (happy/joy, sad/sadness, neutral/calm, angry/anger, ...), or "" for any other class, kept for
``--labels native``. A row without a label has no class and is dropped, counted. Without a split column, a
seeded split by speaker (when given: all rows, so no speaker is on both sides) or by utterance, 70/15/15
(the rows of the four classes first, as if alone, then the others).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path, PurePosixPath

import pandas as pd

from sergen.corpora.base import (CORPUS_READERS, OUTSIDE_FOUR, CorpusReader, Problems, random_split_four_first,
                                 read_table, seeded_speaker_split)
from sergen.errors import SergenError

SYNONYMS = {
    "hap": "hap", "happy": "hap", "happiness": "hap", "joy": "hap", "h": "hap", "exc": "hap",
    "sad": "sad", "sadness": "sad", "s": "sad",
    "neu": "neu", "neutral": "neu", "calm": "neu", "n": "neu",
    "ang": "ang", "angry": "ang", "anger": "ang", "a": "ang",
}
SPLIT_NAMES = {"train": "train", "valid": "valid", "validation": "valid", "dev": "valid",
               "development": "valid", "test": "test"}


def refuse_reader_name(name: str) -> None:
    """A folder corpus may not take a name a corpus option reads as a reader's (in any case, aliases too):
    ``emodb`` would replace emodb's manifest, stores and results; ``csv`` or ``Folder`` would be written under
    its own name and then never reached, since ``--corpus csv`` reads folder's (hostile pass 37). ``folder``
    itself, the default name, is read as itself. ``emobox-<dataset>`` is an EmoBox dataset's manifest."""
    if str(name).lower().startswith("emobox-"):
        raise SergenError(f"--name {name!r} is how sergen names an EmoBox dataset's manifest (`sergen manifest "
                          f"emobox:{name[7:]}` writes it, `--corpus emobox:{name[7:]}` reads it, and the report "
                          "sets it beside EmoBox's published numbers)", fix="give the folder corpus a name of its "
                          f"own, e.g. --name my-{name[7:].lower()}")
    if name not in CORPUS_READERS or name == "folder":
        return
    canon = CORPUS_READERS.canonical(name)
    why = ("is a corpus sergen reads itself: its manifest, stores and results would be replaced by this folder's"
           if canon != "folder" else
           "is read by every corpus option as folder (the folder reader's name or alias, in any case): the "
           "manifest would be written as " + f"{name}.csv and never reached by that name")
    raise SergenError(f"--name {name!r} {why}", fix="give the folder corpus a name of its own, "
                      f"e.g. --name my-{name.lower()}" + (" (or leave --name out: it is then named folder)"
                                                          if canon == "folder" else ""))


@CORPUS_READERS.register("folder", "csv")
class FolderReader(CorpusReader):
    name = "folder"
    layout = "audio files plus a CSV (path,label[,speaker,split]), labels.csv by default"

    def __init__(self, root, seed: int = 0, csv: str | Path | None = None, name: str = "folder"):
        super().__init__(root, seed)
        # a relative --csv is read where the user typed it (the working directory), like any shell path;
        # the absolute path goes into the manifest's sidecar
        self.csv_given = Path(csv).expanduser() if csv else None
        self.csv = self.csv_given.absolute() if csv else self.root.absolute() / "labels.csv"
        refuse_reader_name(name)
        self.name = name

    def options(self) -> dict:
        return {"seed": self.seed, "csv": str(self.csv)}

    def scan(self, problems: Problems, dropped: Counter) -> list[dict]:
        if not self.csv.is_file():
            beside_root = self.root / self.csv_given if self.csv_given and not self.csv_given.is_absolute() else None
            hint = (f"; there is one in the corpus root: pass --csv {beside_root.absolute()}"
                    if beside_root is not None and beside_root.is_file() else "")
            raise SergenError("label CSV is missing" + (" (a relative --csv is read from the working directory)"
                                                        if self.csv_given else ""),
                              where=str(self.csv),
                              fix="give --csv FILE with columns path,label[,speaker,split]" + hint)
        table = read_table(self.csv, "the label CSV",
                           "columns path,label[,speaker,split], one line per file", dtype=str)
        missing = [c for c in ("path", "label") if c not in table.columns]
        if missing:
            raise SergenError(f"{self.csv.name} lacks the column(s) {', '.join(missing)}", where=str(self.csv),
                              fix="columns: path,label[,speaker,split]")
        rows = []
        for lineno, rec in enumerate(table.to_dict("records"), 2):
            native = rec["label"].strip() if isinstance(rec["label"], str) else ""
            if not native:
                dropped["no label"] += 1
                continue
            label = SYNONYMS.get(native.lower(), OUTSIDE_FOUR)
            row = {"utt_id": PurePosixPath(rec["path"]).with_suffix("").as_posix().replace("/", "__"),
                   "path": rec["path"], "native_label": native, "label": label,
                   "speaker": rec.get("speaker") if isinstance(rec.get("speaker"), str) else "unknown",
                   "gender": rec.get("gender") if isinstance(rec.get("gender"), str) else "unknown"}
            if isinstance(rec.get("split"), str):
                split = SPLIT_NAMES.get(rec["split"].strip().lower())
                if split is None:
                    problems.add(f"{self.csv.name}:{lineno}", f"unknown split: {rec['split']!r} (train, valid or test)")
                    continue
                row["split"] = split
            rows.append(row)
        return rows

    def assign_splits(self, df: pd.DataFrame) -> pd.Series:
        if (df["speaker"] != "unknown").all() and df["speaker"].nunique() >= 5:
            n = df["speaker"].nunique()
            n_hold = max(1, round(n * 0.15))
            return seeded_speaker_split(df["speaker"], n_hold, n_hold, self.seed)
        return random_split_four_first(df, (70, 15, 15), self.seed)

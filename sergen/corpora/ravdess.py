"""RAVDESS: ``Actor_XX/MM-VV-EE-II-SS-RR-AA.wav`` (modality, vocal channel, emotion, intensity,
statement, repetition, actor).

Speech only (vocal channel 01; song is not speech and is left out, counted as ``song``). Native classes
(code → ``native_label`` → ``label``): 01 neutral → neu, 02 calm → neu, 03 happy → hap, 04 sad → sad,
05 angry → ang, 06 fearful, 07 disgust, 08 surprised → "" (kept for ``--labels native``: 8 classes,
1,440 speech files). Odd actors are male. Split by actor: 1–16 train, 17–20 valid, 21–24 test
(576 / 144 / 144 of the four classes on the full corpus; both sexes in every split).
"""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd

from sergen.corpora.base import CORPUS_READERS, OUTSIDE_FOUR, CorpusReader, Problems

NAME = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")
# code → (native class, 4-class label)
EMOTIONS = {"01": ("neutral", "neu"), "02": ("calm", "neu"), "03": ("happy", "hap"), "04": ("sad", "sad"),
            "05": ("angry", "ang"), "06": ("fearful", OUTSIDE_FOUR), "07": ("disgust", OUTSIDE_FOUR),
            "08": ("surprised", OUTSIDE_FOUR)}
VALID_ACTORS = range(17, 21)
TEST_ACTORS = range(21, 25)


@CORPUS_READERS.register("ravdess")
class RavdessReader(CorpusReader):
    name = "ravdess"
    layout = "Actor_XX/MM-VV-EE-II-SS-RR-AA.wav"

    def scan(self, problems: Problems, dropped: Counter) -> list[dict]:
        rows = []
        for wav in sorted(self.root.glob("Actor_*/*.wav")):
            rel = str(wav.relative_to(self.root))
            match = NAME.match(wav.stem)
            if not match or match.group(3) not in EMOTIONS:
                problems.add(rel, "unparseable file name: expected MM-VV-EE-II-SS-RR-AA.wav with emotion 01..08")
                continue
            _, vocal, emo, _, _, _, actor = match.groups()
            if wav.parent.name != f"Actor_{actor}":
                problems.add(rel, f"actor mismatch: file names actor {actor} but sits in {wav.parent.name}")
                continue
            if vocal != "01":
                dropped["song"] += 1
                continue
            native, label = EMOTIONS[emo]
            rows.append({"utt_id": wav.stem, "path": rel, "native_label": native, "label": label,
                         "speaker": f"Actor_{actor}", "gender": "M" if int(actor) % 2 else "F"})
        return rows

    def assign_splits(self, df: pd.DataFrame) -> pd.Series:
        actor = df["speaker"].str[-2:].astype(int)
        return actor.map(lambda a: "valid" if a in VALID_ACTORS else "test" if a in TEST_ACTORS else "train")

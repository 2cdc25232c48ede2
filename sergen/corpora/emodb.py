"""EmoDB (Berlin): ``wav/<speaker:2><text:3><emotion:1><version:1>.wav``, e.g. ``03a01Fa.wav``.

Native classes (letter → ``native_label`` → ``label``): W angry (Ärger) → ang, F happy (Freude) → hap,
T sad (Trauer) → sad, N neutral → neu, L bored (Langeweile), E disgust (Ekel), A fearful (Angst) → ""
(kept for ``--labels native``: 7 classes, 535 files). Gender from the corpus's speaker table. Random seeded
split in the poster's sizes 192 / 75 / 72 (of the 339 files of the four classes); the other classes are
split on their own in the same proportions, so the 4-class split is the poster's whatever else is kept.
"""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd

from sergen.corpora.base import CORPUS_READERS, OUTSIDE_FOUR, CorpusReader, Problems, random_split_four_first

NAME = re.compile(r"^(\d{2})([a-b]\d{2})([WLEAFTN])([a-z])$")
# letter → (native class, 4-class label)
EMOTIONS = {"W": ("angry", "ang"), "L": ("bored", OUTSIDE_FOUR), "E": ("disgust", OUTSIDE_FOUR),
            "A": ("fearful", OUTSIDE_FOUR), "F": ("happy", "hap"), "T": ("sad", "sad"), "N": ("neutral", "neu")}
# From the corpus documentation: the ten speakers and their sex.
SPEAKER_GENDER = {"03": "M", "08": "F", "09": "F", "10": "M", "11": "M",
                  "12": "M", "13": "F", "14": "F", "15": "M", "16": "F"}
POSTER_SIZES = (192, 75, 72)


@CORPUS_READERS.register("emodb", "emo-db", "berlin")
class EmodbReader(CorpusReader):
    name = "emodb"
    language = "de"
    layout = "wav/<speaker><text><emotion><version>.wav, e.g. wav/03a01Fa.wav"
    required = ("wav",)

    def scan(self, problems: Problems, dropped: Counter) -> list[dict]:
        rows = []
        for wav in sorted((self.root / "wav").glob("*.wav")):
            rel = str(wav.relative_to(self.root))
            match = NAME.match(wav.stem)
            if not match:
                problems.add(rel, "unparseable file name: expected <speaker:2><text:3><emotion:1><version:1>.wav")
                continue
            speaker, _, emo, _ = match.groups()
            native, label = EMOTIONS[emo]
            rows.append({"utt_id": wav.stem, "path": rel, "native_label": native, "label": label,
                         "speaker": speaker, "gender": SPEAKER_GENDER.get(speaker, "unknown")})
        return rows

    def assign_splits(self, df: pd.DataFrame) -> pd.Series:
        return random_split_four_first(df, POSTER_SIZES, self.seed)

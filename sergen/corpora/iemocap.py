"""IEMOCAP: labels from ``Session*/dialog/EmoEvaluation/<dialog>.txt``, audio in
``Session*/sentences/wav/<dialog>/<utt>.wav``.

Speaker = session + the gender letter of the utterance's last token (``Ses01F_impro01_M003`` → ``Ses01M``):
the dialog prefix names who *started* the dialog, not who speaks. Split: Session 5's female speaker is
validation, its male speaker test, sessions 1–4 train (speaker-disjoint); ``fold`` holds the session
number for leave-one-session-out work.

Native classes (code → ``native_label`` → ``label``): neu neutral → neu, hap happy → hap, exc excited → hap
(the poster's and SUPERB's merge; "" with ``merge_excited=False``), sad sad → sad, ang angry → ang,
fru frustrated, sur surprised, fea fearful, dis disgust, oth other → "" (kept for ``--labels native``).
``oth`` is kept: it is the raters' majority for "Other", a class the corpus gives, like MSP-Podcast's O.
``xxx`` (no majority among the raters) has no class and is dropped, counted, as is any code not listed.
"""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd

from sergen.corpora.base import CORPUS_READERS, OUTSIDE_FOUR, CorpusReader, Problems, speaker_split

LINE = re.compile(r"^\[(\d+(?:\.\d+)?) - (\d+(?:\.\d+)?)\]\t(\S+)\t(\S+)\t\[([^\]]*)\]\s*$")
UTT = re.compile(r"^Ses(\d{2})[FM]_\S+_([FM])\d{3}$")
# code → (native class, 4-class label); xxx and unknown codes have no class
EMOTIONS = {"neu": ("neutral", "neu"), "hap": ("happy", "hap"), "exc": ("excited", "hap"), "sad": ("sad", "sad"),
            "ang": ("angry", "ang"), "fru": ("frustrated", OUTSIDE_FOUR), "sur": ("surprised", OUTSIDE_FOUR),
            "fea": ("fearful", OUTSIDE_FOUR), "dis": ("disgust", OUTSIDE_FOUR), "oth": ("other", OUTSIDE_FOUR)}


@CORPUS_READERS.register("iemocap", "iemo")
class IemocapReader(CorpusReader):
    name = "iemocap"
    layout = "Session1..5/dialog/EmoEvaluation/*.txt and Session*/sentences/wav/<dialog>/<utt>.wav"

    def __init__(self, root, seed: int = 0, merge_excited: bool = True,
                 valid_speakers=("Ses05F",), test_speakers=("Ses05M",)):
        super().__init__(root, seed)
        self.merge_excited = merge_excited
        self.valid_speakers, self.test_speakers = set(valid_speakers), set(test_speakers)

    def options(self) -> dict:
        return {"seed": self.seed, "merge_excited": self.merge_excited,
                "valid_speakers": sorted(self.valid_speakers), "test_speakers": sorted(self.test_speakers)}

    def scan(self, problems: Problems, dropped: Counter) -> list[dict]:
        label_files = sorted(self.root.glob("Session*/dialog/EmoEvaluation/*.txt"))
        label_files = [p for p in label_files if not p.name.startswith(".")]
        rows = []
        for label_file in label_files:
            rel_label = label_file.relative_to(self.root)
            dialog = label_file.stem
            for lineno, line in enumerate(label_file.read_text(errors="replace").splitlines(), 1):
                if not line.startswith("["):
                    continue  # headers, blank lines and per-annotator lines (C-E1: ...)
                match = LINE.match(line)
                if not match:
                    problems.add(f"{rel_label}:{lineno}", f"label line does not parse: {line.strip()[:80]!r}")
                    continue
                utt_id, code = match.group(3), match.group(4)
                utt = UTT.match(utt_id)
                if not utt:
                    problems.add(f"{rel_label}:{lineno}", f"unparseable utterance id: {utt_id!r}")
                    continue
                if code not in EMOTIONS:
                    dropped[f"label {code}"] += 1
                    continue
                native, label = EMOTIONS[code]
                if code == "exc" and not self.merge_excited:
                    label = OUTSIDE_FOUR
                session = int(utt.group(1))
                session_dir = label_file.parents[2]
                rows.append({
                    "utt_id": utt_id,
                    "path": str((session_dir / "sentences" / "wav" / dialog / f"{utt_id}.wav").relative_to(self.root)),
                    "native_label": native, "label": label,
                    "speaker": f"Ses{session:02d}{utt.group(2)}",
                    "gender": "F" if utt.group(2) == "F" else "M",
                    "fold": session,
                })
        return rows

    def assign_splits(self, df: pd.DataFrame) -> pd.Series:
        return speaker_split(df["speaker"], self.valid_speakers, self.test_speakers)

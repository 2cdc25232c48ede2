"""Write each synthetic corpus in its real corpus's native layout: file names, label files, rates.

The readers in ``sergen.corpora`` parse these trees unchanged, so the demo exercises the same code as
real data. ``scale`` multiplies the number of utterances per speaker (speaker counts stay fixed, as the
splits depend on them).

Every demo corpus carries every native class of its real corpus (RAVDESS 8, CREMA-D 6, EmoDB 7, IEMOCAP 10
and its unlabelled ``xxx``, MSP-Podcast 9 and its no-agreement ``X``), so ``--labels native`` has each
corpus's own classes. The classes outside the four are few (about one utterance per speaker and class), and
those added for ``--labels native`` are rendered from a random stream of their own (``EXTRA_STREAM``), so the
four-class utterances are the same files as before they were added.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import soundfile as sf

from sergen.corpora.demo.channel import apply_channel
from sergen.corpora.demo.styles import STYLES, corpus_emotions, vary
from sergen.corpora.demo.voice import Speaker, draw_speaker, synthesise


EXTRA_STREAM = 1
"""Random stream of the utterances added for ``--labels native`` (the main stream is 0)."""


class Renderer:
    """Renders utterances of one synthetic corpus, deterministically for a seed (and stream)."""

    def __init__(self, corpus: str, seed: int, stream: int = 0):
        self.corpus, self.style = corpus, STYLES[corpus]
        self.emotions = corpus_emotions(corpus)
        self.rng = np.random.default_rng([seed, zlib.crc32(corpus.encode())] + ([stream] if stream else []))

    def speaker(self, speaker_id: str, gender: str) -> Speaker:
        return draw_speaker(self.rng, speaker_id, gender)

    def write(self, path: Path, speaker: Speaker, emotion: str) -> float:
        style, rng = self.style, self.rng
        prosody = vary(rng, self.emotions[emotion])
        n_syl = int(rng.integers(style.syllables[0], style.syllables[1] + 1))
        dry = synthesise(rng, style.sample_rate, speaker, prosody, style.vowels, n_syl, style.syllable_s)
        wet = apply_channel(rng, dry, style.sample_rate, style.channel, prosody.gain_db)
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, wet, style.sample_rate, subtype="PCM_16")
        return len(wet) / style.sample_rate


def _reps(scale: float, base: int) -> int:
    return max(1, int(round(base * scale)))


# Below this scale every count above is at its floor (one per class, speaker and set; MSP-Podcast's four per
# speaker): every such scale writes the same, smallest corpora. The first count to rise is _reps(scale, 4) = 2.
SMALLEST_SET_BELOW = 0.375


def smallest_set_note(scale: float) -> str | None:
    """What ``demo-data`` and ``demo`` both say at a scale below ``SMALLEST_SET_BELOW`` (None above it): a user who
    asked for 0.2 and for 0.1 gets the same files, and should know so before comparing the two."""
    if scale >= SMALLEST_SET_BELOW:
        return None
    return (f"--scale {scale:g} wrote the smallest demo corpora: every scale below {SMALLEST_SET_BELOW:g} writes "
            "these same files (one utterance per class and speaker); a larger scale adds utterances")


def write_iemocap(root: Path, seed: int, scale: float) -> int:
    r, extra = Renderer("iemocap", seed), Renderer("iemocap", seed, EXTRA_STREAM)
    plan = ["neu"] * 4 + ["hap"] * 2 + ["exc"] * 2 + ["sad"] * 3 + ["ang"] * 3 + ["fru", "xxx"]
    extra_plan = ["sur", "fea", "dis", "oth"]  # the corpus's rarer classes: one each per speaker
    n = 0
    for session in range(1, 6):
        speakers = {g: r.speaker(f"Ses{session:02d}{g}", g) for g in "FM"}
        dialogs = [f"Ses{session:02d}F_impro01", f"Ses{session:02d}M_script01_1"]
        lines = {d: ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""] for d in dialogs}
        clock = {d: 2.0 for d in dialogs}
        counters = {(d, g): 0 for d in dialogs for g in "FM"}
        for renderer, labels_of in ((r, plan), (extra, extra_plan)):
            for g, spk in speakers.items():
                labels = [lab for lab in labels_of for _ in range(_reps(scale, 2 if renderer is r else 1))]
                for i, label in enumerate(labels):
                    dialog = dialogs[i % 2]
                    utt = f"{dialog}_{g}{counters[(dialog, g)]:03d}"
                    counters[(dialog, g)] += 1
                    render = "fru" if label == "xxx" else label
                    dur = renderer.write(root / f"Session{session}/sentences/wav/{dialog}/{utt}.wav", spk, render)
                    start = clock[dialog]
                    clock[dialog] += dur + 0.5
                    lines[dialog] += [f"[{start:.4f} - {start + dur:.4f}]\t{utt}\t{label}\t[2.5000, 3.0000, 2.5000]",
                                      f"C-E1:\t{label};\t()", ""]
                    n += 1
        for dialog in dialogs:
            label_file = root / f"Session{session}/dialog/EmoEvaluation/{dialog}.txt"
            label_file.parent.mkdir(parents=True, exist_ok=True)
            label_file.write_text("\n".join(lines[dialog]) + "\n")
    return n


def write_cremad(root: Path, seed: int, scale: float) -> int:
    r = Renderer("cremad", seed)
    codes = {"ANG": "ang", "HAP": "hap", "NEU": "neu", "SAD": "sad", "DIS": "dis", "FEA": "fea"}
    sentences = ["IEO", "TIE", "IOM", "DFA", "ITH", "TSI", "WSI", "MTI"]
    demographics, votes, n = ["ActorID,Age,Sex,Race,Ethnicity"], ["FileName,VoiceVote,FaceVote,MultiModalVote"], 0
    for a in range(12):
        actor = str(1001 + a)
        gender = "F" if a % 2 else "M"
        demographics.append(f"{actor},{30 + a},{'Female' if gender == 'F' else 'Male'},Caucasian,Not Hispanic")
        spk = r.speaker(actor, gender)
        plan = [(emo, s) for emo in ("ANG", "HAP", "NEU", "SAD") for s in range(_reps(scale, 4))] + [("DIS", 0), ("FEA", 0)]
        for emo, s in plan:
            sentence = sentences[s % len(sentences)]
            level = "XX" if s < len(sentences) else ["LO", "MD", "HI"][s % 3]
            name = f"{actor}_{sentence}_{emo}_{level}"
            if (root / "AudioWAV" / f"{name}.wav").exists():
                continue
            r.write(root / "AudioWAV" / f"{name}.wav", spk, codes[emo])
            # Raters mostly hear the intended emotion; some disagree, some tie.
            roll = r.rng.random()
            vote = emo[0] if roll < 0.8 else ("A:H" if roll < 0.85 else "NSAH"[int(r.rng.integers(4))])
            votes.append(f"{name},{vote},{emo[0]},{emo[0]}")
            n += 1
    (root / "VideoDemographics.csv").write_text("\n".join(demographics) + "\n")
    (root / "processedResults").mkdir(parents=True, exist_ok=True)
    (root / "processedResults/summaryTable.csv").write_text("\n".join(votes) + "\n")
    return n


def write_msp(root: Path, seed: int, scale: float) -> int:
    r, extra = Renderer("msp", seed), Renderer("msp", seed, EXTRA_STREAM)
    classes = {"N": "neu", "H": "hap", "A": "ang", "S": "sad", "C": "cal", "U": "sur", "X": "fru"}
    weights = np.array([0.36, 0.22, 0.16, 0.14, 0.05, 0.04, 0.03])
    # two more utterances per speaker, cycling through the classes outside the four, so each set holds each
    extra_classes = {"C": "con", "U": "sur", "F": "fea", "D": "dis", "O": "oth"}
    extra_codes = list(extra_classes)
    sets = ["Train"] * 20 + ["Development"] * 4 + ["Test1"] * 4 + ["Test2"] * 2
    rows, n = ["FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set"], 0
    for s, split_set in enumerate(sets):
        gender = "Female" if s % 2 else "Male"
        spk = r.speaker(str(100 + s), gender[0])
        per_speaker = _reps(scale, 9)
        # every class at least once per speaker, the rest drawn with the corpus's imbalance
        draws = list(classes)[:4] + list(r.rng.choice(list(classes), per_speaker - 4 if per_speaker > 4 else 0, p=weights))
        for k, cls in enumerate(draws):
            name = f"MSP-PODCAST_{s + 1:04d}_{k + 1:04d}.wav"
            r.write(root / "Audios" / name, spk, classes[cls])
            rows.append(f"{name},{cls},4.0,4.0,4.0,{100 + s},{gender},{split_set}")
            n += 1
        for j in range(2):
            cls = extra_codes[(2 * s + j) % len(extra_codes)]
            name = f"MSP-PODCAST_{s + 1:04d}_{len(draws) + j + 1:04d}.wav"
            extra.write(root / "Audios" / name, spk, extra_classes[cls])
            rows.append(f"{name},{cls},4.0,4.0,4.0,{100 + s},{gender},{split_set}")
            n += 1
    (root / "Labels").mkdir(parents=True, exist_ok=True)
    (root / "Labels/labels_consensus.csv").write_text("\n".join(rows) + "\n")
    return n


def write_emodb(root: Path, seed: int, scale: float) -> int:
    from sergen.corpora.emodb import SPEAKER_GENDER

    r = Renderer("emodb", seed)
    codes = {"F": "hap", "T": "sad", "N": "neu", "W": "ang", "L": "bor", "E": "dis", "A": "fea"}
    texts = ["a01", "a02", "a04", "a05", "a07", "b01", "b02", "b03", "b09", "b10"]
    n = 0
    for speaker, gender in SPEAKER_GENDER.items():
        spk = r.speaker(speaker, gender)
        plan = [(emo, t) for emo in "FTNW" for t in range(_reps(scale, 4))] + [("L", 0), ("E", 1), ("A", 2)]
        for emo, t in plan:
            r.write(root / "wav" / f"{speaker}{texts[t % 10]}{emo}{'ab'[t // 10 % 2]}.wav", spk, codes[emo])
            n += 1
    return n


def write_ravdess(root: Path, seed: int, scale: float) -> int:
    r, extra = Renderer("ravdess", seed), Renderer("ravdess", seed, EXTRA_STREAM)
    names = {"01": "neu", "02": "cal", "03": "hap", "04": "sad", "05": "ang", "06": "fea", "07": "dis", "08": "sur"}
    n = 0
    for actor in range(1, 25):
        spk = r.speaker(f"Actor_{actor:02d}", "M" if actor % 2 else "F")
        plan = [("01", "01", "01")] + [(e, i, "01") for e in ("02", "03", "04", "05") for i in ("01", "02")][1:] + [("06", "01", "01")]
        plan = [(e, i, f"{rep:02d}") for e, i, _ in plan for rep in range(1, _reps(scale, 1) + 1)]
        for emo, intensity, rep in plan:
            name = f"03-01-{emo}-{intensity}-01-{rep}-{actor:02d}.wav"
            r.write(root / f"Actor_{actor:02d}" / name, spk, names[emo])
            n += 1
        # one sung file per actor: song is not speech and must be left out by the reader
        r.write(root / f"Actor_{actor:02d}" / f"03-02-01-01-01-01-{actor:02d}.wav", spk, "neu")
        n += 1
        for emo in ("07", "08"):  # disgust and surprised: the classes the main plan lacks
            for rep in range(1, _reps(scale, 1) + 1):
                extra.write(root / f"Actor_{actor:02d}" / f"03-01-{emo}-01-01-{rep:02d}-{actor:02d}.wav", spk, names[emo])
                n += 1
    return n


WRITERS = {"iemocap": write_iemocap, "cremad": write_cremad, "msp": write_msp,
           "emodb": write_emodb, "ravdess": write_ravdess}

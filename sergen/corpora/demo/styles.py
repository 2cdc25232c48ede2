"""How each synthetic corpus sounds: its channel, sample rate, phone inventory, and its own rendering
of the emotions (acted corpora exaggerate, podcasts barely move; every corpus shifts the profiles a
little its own way). That is what makes cross-corpus transfer measurably harder than within-corpus."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace

import numpy as np

from sergen.corpora.demo.channel import Channel
from sergen.corpora.demo.voice import Prosody

# Canonical renderings of every native emotion the five corpora use (the four classes and the others).
EMOTIONS = {
    "neu": Prosody(1.00, 2.0, 1.00, 0.0, 0.80, 0.005),
    "hap": Prosody(1.30, 7.0, 1.15, 4.0, 0.55, 0.010),
    "sad": Prosody(0.86, 1.0, 0.70, -6.0, 0.93, 0.020),
    "ang": Prosody(1.18, 4.5, 1.12, 8.0, 0.30, 0.030),
    "exc": Prosody(1.38, 8.0, 1.20, 6.0, 0.50, 0.012),
    "cal": Prosody(0.96, 1.5, 0.90, -2.0, 0.85, 0.005),
    "fea": Prosody(1.45, 5.0, 1.25, 2.0, 0.60, 0.045),
    "dis": Prosody(0.92, 3.0, 0.85, 1.0, 0.70, 0.025),
    "fru": Prosody(1.08, 3.0, 1.00, 4.0, 0.45, 0.025),
    "sur": Prosody(1.40, 9.0, 1.10, 3.0, 0.60, 0.010),
    "bor": Prosody(0.92, 0.8, 0.80, -3.0, 0.88, 0.010),
    # added last: corpus_emotions draws each corpus's nudges in this order, so the profiles above stay as they were
    "con": Prosody(0.95, 2.5, 0.90, 2.0, 0.65, 0.015),
    "oth": Prosody(1.05, 2.5, 1.00, 1.0, 0.75, 0.008),
}

ENGLISH_VOWELS = np.array([(270, 2290, 3010), (390, 1990, 2550), (530, 1840, 2480), (660, 1720, 2410),
                           (730, 1090, 2440), (570, 840, 2410), (440, 1020, 2240), (300, 870, 2240),
                           (640, 1190, 2390), (490, 1350, 1690)], dtype=float)
GERMAN_VOWELS = np.array([(270, 2290, 3010), (250, 1750, 2150), (350, 1400, 2200), (750, 1300, 2500),
                          (350, 700, 2400), (300, 870, 2240), (530, 1840, 2480), (570, 840, 2410)], dtype=float)


@dataclass(frozen=True)
class CorpusStyle:
    sample_rate: int
    expressiveness: float  # scales every emotion's distance from neutral
    channel: Channel
    vowels: np.ndarray
    syllables: tuple[int, int]  # min, max per utterance
    syllable_s: float


STYLES = {
    "iemocap": CorpusStyle(16000, 0.8, Channel((80, 7000), 30, 0.30, -26, 0.5), ENGLISH_VOWELS, (3, 7), 0.20),
    "cremad": CorpusStyle(16000, 1.0, Channel((150, 6000), 24, 0.12, -20, 0.0), ENGLISH_VOWELS[:6], (3, 5), 0.19),
    "msp": CorpusStyle(16000, 0.55, Channel((60, 7800), 35, 0.05, -23, 0.8), ENGLISH_VOWELS, (4, 8), 0.18),
    "emodb": CorpusStyle(16000, 1.2, Channel((100, 7500), 40, 0.10, -18, 0.3), GERMAN_VOWELS, (3, 6), 0.21),
    "ravdess": CorpusStyle(48000, 1.1, Channel((50, 16000), 45, 0.20, -22, 0.2), ENGLISH_VOWELS[3:], (3, 5), 0.20),
}


def corpus_emotions(corpus: str) -> dict[str, Prosody]:
    """The corpus's own rendering: canonical profiles scaled by expressiveness, then nudged per corpus."""
    style = STYLES[corpus]
    rng = np.random.default_rng(zlib.crc32(corpus.encode()))
    neutral, k = EMOTIONS["neu"], style.expressiveness
    out = {}
    for name, p in EMOTIONS.items():
        out[name] = replace(
            p,
            f0_ratio=float((1 + (p.f0_ratio - 1) * k) * np.exp(rng.normal(0, 0.06))),
            range_st=float(max(0.3, neutral.range_st + (p.range_st - neutral.range_st) * k + rng.normal(0, 1.0))),
            tempo=float((1 + (p.tempo - 1) * k) * np.exp(rng.normal(0, 0.06))),
            gain_db=float(p.gain_db * k + rng.normal(0, 1.5)),
            tilt=float(np.clip(neutral.tilt + (p.tilt - neutral.tilt) * k + rng.normal(0, 0.06), 0.1, 0.97)),
            jitter=float(max(0.002, p.jitter * (0.5 + 0.5 * k))),
        )
    return out


def vary(rng: np.random.Generator, p: Prosody) -> Prosody:
    """Utterance-to-utterance variation, so no two renderings of an emotion are the same."""
    return replace(p, f0_ratio=p.f0_ratio * float(np.exp(rng.normal(0, 0.05))),
                   range_st=max(0.3, p.range_st + float(rng.normal(0, 0.8))),
                   tempo=p.tempo * float(np.exp(rng.normal(0, 0.06))),
                   gain_db=p.gain_db + float(rng.normal(0, 1.5)),
                   tilt=float(np.clip(p.tilt + rng.normal(0, 0.04), 0.1, 0.97)))

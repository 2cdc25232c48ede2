"""Batch invariance: the frames extraction stores (utterances batched as ``sergen extract`` batches them)
must equal the frames of each utterance embedded alone. `sergen models check` runs this on a user's own
utterances, weights and device; the registry-wide test runs it on tiny models of every extractor."""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass

import numpy as np

from sergen.extractors.base import Extractor

TOLERANCE = {"fp32": 1e-3, "bf16": 5e-2, "fp16": 5e-2}
"""Largest |batched − alone| allowed, relative to the RMS of the frames alone: float32 rounding of other
matrix shapes stays orders of magnitude below 1e-3; half precisions round at ≈ 4e-3 (bf16) per operation."""

Row = namedtuple("Row", "utt_id n_frames")


@dataclass
class Difference:
    utt_id: str
    n_frames: int
    max_abs: float  # largest |batched − alone| over all frames and dimensions
    relative: float  # max_abs / RMS of the frames alone
    cosine: float  # smallest per-frame cosine between batched and alone


def with_common_length(ids: list[str], waves: list[np.ndarray], min_samples: int) -> tuple[list[str], list[np.ndarray]]:
    """The utterances, and the same utterances cut to the shortest one's length: extractors that batch only
    equal lengths (``batch_key``) then batch the copies too, so every extractor's batching is exercised."""
    n = max(min(len(w) for w in waves), min_samples)
    cut = [(f"{u} (cut to {n} samples)", w[:n]) for u, w in zip(ids, waves) if len(w) > n]
    return ids + [u for u, _ in cut], waves + [w for _, w in cut]


def compare(extractor: Extractor, ids: list[str], waves: list[np.ndarray], batch_seconds: float = 60.0) -> list[Difference]:
    """Each utterance through the production path (``embed_window``: batched by ``batch_key`` and
    ``batch_seconds``) against itself alone (``embed([wave])``)."""
    from sergen.extract_window import embed_window

    rows = [Row(u, extractor.num_frames(len(w))) for u, w in zip(ids, waves)]
    batched, _, errors = embed_window(extractor, rows, [(w, None) for w in waves], batch_seconds)
    if errors:
        from sergen.errors import SergenError

        utt, why = next(iter(errors.items()))
        raise SergenError(f"{extractor.name} failed on {utt}: {why}", fix="see `sergen extract` on this corpus")
    out = []
    for row, wave, frames in zip(rows, waves, batched):
        wave = np.pad(wave, (0, max(0, extractor.min_samples - len(wave))))
        alone = np.asarray(extractor.embed([wave])[0], np.float64)
        diff = np.abs(np.asarray(frames, np.float64) - alone)
        rms = float(np.sqrt(np.mean(alone ** 2))) or 1.0
        norms = np.linalg.norm(frames, axis=1) * np.linalg.norm(alone, axis=1)
        cos = np.where(norms > 0, np.sum(frames * alone, axis=1) / np.where(norms > 0, norms, 1), 1.0)
        out.append(Difference(row.utt_id, row.n_frames, float(diff.max()), float(diff.max()) / rms, float(cos.min())))
    return out


def pick_spread(lengths: np.ndarray, n: int) -> np.ndarray:
    """Positions of ``n`` utterances spread over the length range (shortest, longest and between)."""
    order = np.argsort(lengths, kind="stable")
    return order[np.unique(np.linspace(0, len(order) - 1, min(n, len(order))).round().astype(int))]

"""One window of utterances, decoded and embedded: audio read and checked (``decode_row``), batched by
length and ``batch_key`` (``_batches``), run through the extractor and checked frame by frame
(``embed_window``). The same work whether ``extract`` runs it in this process or Dask workers run it
(``sergen.scale``), and what ``batch_check`` compares against one utterance at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sergen.audio import AudioError, load_audio, segment_of
from sergen.augment import View
from sergen.extractors.base import Extractor
from sergen.store.layout import FAILED, PADDED, WRITTEN


def _batches(lengths: list[int], rate: int, batch_seconds: float, keys: list) -> list[list[int]]:
    """Batches of at most ``batch_seconds`` (longest × count) whose members share one ``batch_key``, so every
    batch gives the frames its utterances give one at a time (see ``Extractor.batch_key``)."""
    order = sorted(range(len(lengths)), key=lambda i: (keys[i], lengths[i]))
    batches, current, longest = [], [], 0
    for i in order:
        longest = max(longest, lengths[i])
        if current and (keys[i] != keys[current[-1]] or longest * (len(current) + 1) / rate > batch_seconds):
            batches.append(current)
            current, longest = [], lengths[i]
        current.append(i)
    return batches + ([current] if current else [])


def decode_row(root: Path, row, extractor: Extractor, view: View | None, view_seed: int):
    try:
        wav = load_audio(root / row.path, extractor.sample_rate, **segment_of(row))
    except AudioError as exc:
        return None, str(exc)
    if len(wav) != row.n_model:
        return None, f"decoded length {len(wav)} differs from the header's {row.n_model}: file changed or truncated"
    if not np.isfinite(wav).all():  # float WAVs can hold NaN/Inf; models would turn them into NaN frames or abort
        bad = int((~np.isfinite(wav)).sum())
        return None, f"audio holds {bad} NaN or Inf sample(s): rewrite or remove the file"
    if view is not None:
        wav = view(wav, extractor.sample_rate, row.utt_id, view_seed)
    return wav, None


def embed_window(extractor: Extractor, rows, decoded, batch_seconds: float):
    """Frames, status codes and errors (utt_id → reason) of one window of utterances."""
    frames: list[np.ndarray | None] = [None] * len(rows)
    codes = [WRITTEN] * len(rows)
    errors: dict[str, str] = {}
    waves = []
    for i, (row, (wav, error)) in enumerate(zip(rows, decoded)):
        if error:
            errors[row.utt_id] = error
            codes[i] = FAILED
            waves.append(None)
            continue
        if len(wav) < extractor.min_samples:
            wav = np.pad(wav, (0, extractor.min_samples - len(wav)))
            codes[i] = PADDED
        waves.append(wav)
    ok = [i for i, w in enumerate(waves) if w is not None]
    lengths = [len(waves[i]) for i in ok]
    for batch in _batches(lengths, extractor.sample_rate, batch_seconds, [extractor.batch_key(n) for n in lengths]):
        idx = [ok[j] for j in batch]
        outputs = extractor.embed([waves[i] for i in idx])
        for i, out in zip(idx, outputs):
            row = rows[i]
            if out.shape != (row.n_frames, extractor.dim):
                errors[row.utt_id] = f"extractor gave {out.shape}, expected ({row.n_frames}, {extractor.dim})"
                codes[i] = FAILED
            elif not np.isfinite(out).all():
                errors[row.utt_id] = "extractor output holds NaN or Inf"
                codes[i] = FAILED
            else:
                frames[i] = out
    for i, row in enumerate(rows):
        if codes[i] == FAILED:
            frames[i] = np.zeros((row.n_frames, extractor.dim), np.float32)
    return frames, codes, errors

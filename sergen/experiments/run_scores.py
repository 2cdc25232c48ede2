"""Per-utterance scores beside each run record: ``results/runs/<run_id>.scores.npz``.

For each test corpus: the utterance ids (bytes), their class index in the run's ``classes`` order and the
head's probabilities (float32), so two runs can be compared on the very utterances both tested (paired
tests) and calibration drawn, without changing the run's CSV rows or its id. Compressed: at MSP-Podcast
scale (10,779 test utterances × 4 classes) one corpus takes about 0.2 MB (see README, "Paired comparison")."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sergen.results import SCORES_SUFFIX, not_saved, runs_dir


@dataclass(frozen=True)
class UtteranceScores:
    utt_id: np.ndarray  # str
    label: np.ndarray  # class index, the run's ``classes`` order
    proba: np.ndarray  # utterances × classes


def scores_path(run_id: str, results_dir=None) -> Path:
    return runs_dir(results_dir) / f"{run_id}{SCORES_SUFFIX}"


def write_scores(run_id: str, scores: dict[str, UtteranceScores], results_dir=None) -> Path:
    """Written atomically (a partial file, then a rename) before the run's CSV, which marks it finished."""
    path = scores_path(run_id, results_dir)
    arrays = {}
    for k, (corpus, s) in enumerate(sorted(scores.items())):
        arrays[f"c{k}_corpus"] = np.array(corpus.encode())
        arrays[f"c{k}_utt_id"] = np.char.encode(np.asarray(s.utt_id, dtype=str))
        arrays[f"c{k}_label"] = np.asarray(s.label, dtype=np.int16)
        arrays[f"c{k}_proba"] = np.asarray(s.proba, dtype=np.float32)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        tmp.replace(path)
    except OSError as exc:  # a full disk: no partial file stays, and the run is not taken for saved
        tmp.unlink(missing_ok=True)
        raise not_saved(run_id, path.parent, exc) from None
    return path


def read_scores(run_id: str, results_dir=None) -> dict[str, UtteranceScores] | None:
    """The run's scores by test corpus, or None when the run kept none (made by an older sergen)."""
    path = scores_path(run_id, results_dir)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            n = sum(1 for key in data.files if key.endswith("_corpus"))
            return {data[f"c{k}_corpus"].item().decode(): UtteranceScores(np.char.decode(data[f"c{k}_utt_id"]),
                                                                      data[f"c{k}_label"].astype(int),
                                                                      data[f"c{k}_proba"])
                    for k in range(n)}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path.name} is unreadable ({exc.__class__.__name__}: {exc})") from None


def scores_size(n_utts: int, n_classes: int, id_chars: int = 24, seed: int = 0) -> int:
    """Bytes of one corpus's compressed scores for ``n_utts`` utterances (random probabilities, ids of
    ``id_chars`` characters): the measure quoted for MSP-Podcast's test set."""
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.ones(n_classes), n_utts).astype(np.float32)
    ids = np.array([f"MSP-PODCAST_{i:04d}_{i % 997:04d}"[:id_chars] for i in range(n_utts)])
    buffer = io.BytesIO()
    np.savez_compressed(buffer, c0_corpus=np.array(b"msp"), c0_utt_id=np.char.encode(ids),
                        c0_label=rng.integers(n_classes, size=n_utts).astype(np.int16), c0_proba=proba)
    return buffer.getbuffer().nbytes

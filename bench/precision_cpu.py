"""Deviation of bf16 frames from fp32, of Whisper's trimmed input from its padded default, and of batched
frames from one-at-a-time, per registered extractor, on the tiny models of the registry-wide test (random
weights of the real config classes), on the CPU. Writes bench/precision_cpu.md. Full-size, trained-weight,
GPU figures are pending (bench/gpu_rtf.py's machine).

    .venv/bin/python -m bench.precision_cpu
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

from sergen.batch_check import compare
from sergen.extractors import EXTRACTORS, get_extractor
from tests.extractors.test_batch_invariance import tiny_extractor, waves_for

OUT = Path(__file__).with_name("precision_cpu.md")


def deviation(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """max |a − b|, that over the RMS of a, smallest per-frame cosine."""
    diff = float(np.abs(a - b).max())
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    cos = float(np.min(np.sum(a * b, axis=1) / np.where(norms > 0, norms, 1)))
    return diff, diff / float(np.sqrt(np.mean(a.astype(np.float64) ** 2))), cos


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        root = Path(tmp)
        for name in EXTRACTORS.names():
            ex = tiny_extractor(name, root, mp)
            ids, waves = waves_for(ex)
            batch = max(d.relative for d in compare(ex, ids, waves))
            row = [name, f"{batch:.1e}", "-", "-", "-"]
            if "bf16" in ex.precisions:
                options = {"layers": ex.layers} if hasattr(ex, "layers") and ex.layers else {}
                bf16 = get_extractor(name, weights=ex.weights, precision="bf16", **options).load()
                w = waves[-1] if name != "clap-2023" else np.tile(waves[-1], 8)
                a, b = ex.embed([w])[0], bf16.embed([w])[0]
                row[2:] = [f"{x:.3g}" for x in deviation(a, b)[:2]] + [f"{deviation(a, b)[2]:.5f}"]
            rows.append(row)
            if name == "whisper-large-v3":
                trimmed = get_extractor(name, weights=ex.weights, layers=ex.layers, input_mode="trimmed").load()
                w = np.random.default_rng(0).standard_normal(3 * 16000).astype(np.float32) * 0.1
                a, b = ex.embed([w])[0], trimmed.embed([w])[0]
                width = a.shape[1] // len(ex.layers)
                whisper = deviation(a[:, -width:], b[:, -width:])
    lines = ["# bf16 vs fp32, batched vs alone — tiny models, CPU", "",
             "Random weights of the real config classes (the registry-wide test's builders), float32 reference.",
             "batched: largest |batched − alone| / RMS over the test's utterances (tolerance 1e-3).",
             "bf16: one utterance (~2 s; CLAP 17 s), every stored layer; CPU autocast.", "",
             "| model | batched vs alone (rel.) | bf16 max abs | bf16 max abs / RMS | bf16 min frame cosine |",
             "|---|---:|---:|---:|---:|"] + ["| " + " | ".join(r) + " |" for r in rows]
    lines += ["", f"Whisper trimmed vs padded, 3 s, last layer: max abs {whisper[0]:.3g}, "
                  f"/ RMS {whisper[1]:.3g}, min frame cosine {whisper[2]:.5f}.", ""]
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

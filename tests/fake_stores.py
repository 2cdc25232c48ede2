"""Small but honest stores for tests that only need a store's attributes (listings, fingerprints): every
array a real store has, every chunk written, the attributes the test asks for on top. A store reduced to
its attributes would be a damaged store (its arrays deleted), and is reported as one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sergen.store.layout import WRITTEN


def tiny_store(path: Path, n_utts: int = 3, dim: int = 4, **attrs) -> Path:
    """A store of ``n_utts`` two-frame utterances at ``path``, complete, with ``attrs`` overriding its own."""
    import zarr

    from sergen.store.writer import StoreWriter, create_store

    plan = pd.DataFrame({"utt_id": [f"u{i}" for i in range(n_utts)], "label": "hap", "split": "train",
                         "duration_s": 1.0, "n_frames": 2})
    group = create_store(path, plan, attrs, dim)  # the attributes recorded at creation, as extract's are
    writer = StoreWriter(group)
    writer.write_window(0, [np.full((2, dim), 0.5 + i, np.float32) for i in range(n_utts)], [WRITTEN] * n_utts)
    writer.mark_complete()
    zarr.open_group(str(path), mode="r+").attrs["sergen"] = dict(writer.attrs, **attrs)
    return path


def layered_store(root: Path, corpus: str, layers=(4, 8, 12), signal_layer: int | None = 8, seed: int = 0,
                  n_utts: int = 160, width: int = 4, model: str = "toy", separation: float = 1.5) -> Path:
    """A complete multi-layer store (``settings.layers``, the layers side by side as extractors write them) of
    ``n_utts`` utterances of 6–11 frames, the four classes in turn, split half train, a quarter valid and test:
    ``signal_layer`` holds the class centres (``separation`` apart on the first axes) plus unit noise, every
    other layer unit noise only (None: no layer carries the classes)."""
    from sergen import LABELS
    from sergen.store.writer import StoreWriter, create_store

    rng = np.random.default_rng(seed)
    labels = np.tile(np.arange(4), n_utts // 4)
    lengths = rng.integers(6, 12, size=n_utts)
    plan = pd.DataFrame({"utt_id": [f"{corpus}{i:04d}" for i in range(n_utts)], "label": [LABELS[c] for c in labels],
                         "native_label": "x", "speaker": [f"s{i // 16}" for i in range(n_utts)], "gender": "F",
                         "split": np.repeat(["train", "valid", "test"], [n_utts // 2, n_utts // 4, n_utts - 3 * (n_utts // 4)]),
                         "path": "-", "duration_s": 1.0, "n_frames": lengths})
    path = root / model / f"{corpus}.zarr"
    group = create_store(path, plan, {
        "model": model, "corpus": corpus, "frame_rate": 8.0, "sample_rate": 16000, "synthetic": True,
        "weights": {}, "settings": {"layers": list(layers)}, "manifest_sha256": "-"}, width * len(layers))
    centres = np.eye(4, width, dtype=np.float32) * separation
    frames = []
    for c, t in zip(labels, lengths):
        parts = [rng.standard_normal((t, width)) + (centres[c] if layer == signal_layer else 0) for layer in layers]
        frames.append(np.concatenate(parts, axis=1).astype(np.float32))
    writer = StoreWriter(group)
    writer.write_window(0, frames, [WRITTEN] * n_utts)
    writer.mark_complete()
    return path

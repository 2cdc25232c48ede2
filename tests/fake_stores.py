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
    group = create_store(path, plan, {}, dim)
    writer = StoreWriter(group)
    writer.write_window(0, [np.full((2, dim), 0.5 + i, np.float32) for i in range(n_utts)], [WRITTEN] * n_utts)
    writer.mark_complete()
    zarr.open_group(str(path), mode="r+").attrs["sergen"] = dict(writer.attrs, **attrs)
    return path

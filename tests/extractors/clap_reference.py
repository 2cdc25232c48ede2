"""Shared by the CLAP test and the script that made its reference vectors: a tiny HTSAT shape, weights
filled from a seeded NumPy generator in sorted key order (so any implementation with the same keys gets the
same model), and a fixed input."""

import numpy as np

from sergen.extractors.htsat import HTSATShape

TINY = HTSATShape(embed_dim=8, depths=(2, 2, 2, 2), num_heads=(1, 2, 2, 4), num_classes=10, projection_dim=16)
DERIVED = ("relative_position_index", "attn_mask", "num_batches_tracked", "conv_real", "conv_imag", "melW")
REFERENCE_FILE = "clap_reference.npy"


def seeded_state(state: dict, seed: int = 0) -> dict:
    """``state`` with every learned tensor replaced by seeded values (derived tables kept)."""
    import torch

    rng = np.random.default_rng(seed)
    out = {}
    for name, tensor in sorted(state.items()):
        if any(part in name for part in DERIVED):
            out[name] = tensor.clone()
            continue
        if "running_var" in name:
            values = rng.random(tensor.shape) + 0.5
        elif name.endswith("weight") and tensor.dim() == 1:
            values = 1 + 0.1 * rng.standard_normal(tensor.shape)
        else:
            values = 0.05 * rng.standard_normal(tensor.shape)
        out[name] = torch.from_numpy(values.astype(np.float32))
    return out


def reference_input(sample_rate: int = 44100, seconds: int = 7) -> np.ndarray:
    """[2, 7 s]: a rising chirp with a little noise, and plain noise."""
    rng = np.random.default_rng(1)
    t = np.arange(sample_rate * seconds) / sample_rate
    chirp = 0.3 * np.sin(2 * np.pi * (200 + 300 * t) * t) + 0.05 * rng.standard_normal(len(t))
    return np.stack([chirp, 0.1 * rng.standard_normal(len(t))]).astype(np.float32)

"""Where a store's chunk files lie, asked of each array's metadata: ``frames/c.1.0`` in stores made since
issue 22, ``frames/c/1/0`` in older ones. Tests that damage a chunk file find it here, so they test the same
thing on either layout; ``old_layout`` makes the stores of a test with the older "/" keys."""

from __future__ import annotations

from pathlib import Path

import pytest
import zarr

from sergen.store import layout
from sergen.store.digests import chunk_key

OLD_CHUNK_KEYS = {"name": "default", "separator": "/"}


def chunk_file(store: Path, array: str, chunk: int = 0) -> Path:
    """The file of row chunk ``chunk`` of ``array`` (``"frames"``, ``"utt/utt_id"``, ``"chunk_bytes/frames"``)."""
    opened = zarr.open_array(str(Path(store) / array), mode="r")
    return Path(store) / array / opened.metadata.encode_chunk_key((chunk,) + (0,) * (opened.ndim - 1))


def chunk_files(store: Path, array: str) -> list[Path]:
    """Every stored chunk file of ``array``, in chunk order."""
    opened = zarr.open_array(str(Path(store) / array), mode="r")
    root = Path(str(opened.store_path.store.root))
    paths = [root / chunk_key(opened, c) for c in range(opened.cdata_shape[0])]
    return [p for p in paths if p.is_file()]


def chunk_prefix(array: str, chunk: int = 0) -> str:
    """The start of the key of chunk ``chunk`` of ``array`` in a new store (``frames/c.1.``), for tests that
    match written paths."""
    separator = layout.CHUNK_KEYS["separator"]
    return f"{array}/c{separator}{chunk}{separator}"


@pytest.fixture
def old_layout(monkeypatch):
    """Stores made in this test have the chunk keys of stores made before issue 22 (``c/<i>/0``)."""
    monkeypatch.setattr(layout, "CHUNK_KEYS", OLD_CHUNK_KEYS)
    return OLD_CHUNK_KEYS

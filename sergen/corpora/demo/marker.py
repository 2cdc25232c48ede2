"""The file sergen leaves in each synthetic corpus it makes (``SERGEN_DEMO.json``): readers record the
corpus as synthetic, and ``make_demo`` replaces only folders that carry it, never a user's own files."""

from __future__ import annotations

import json
from pathlib import Path

from sergen.corpora.base import DEMO_MARKER


def write_marker(root: Path, corpus: str, seed: int, scale: float, n_files: int | None) -> None:
    """Written before the audio (``complete: false``) and again after it, so a folder left half-written by
    an interrupted run is still recognised as sergen's and can be replaced."""
    (root / DEMO_MARKER).write_text(json.dumps(
        {"synthetic": True, "corpus": corpus, "seed": seed, "scale": scale, "files": n_files,
         "complete": n_files is not None,
         "note": "synthetic demo corpus made by `sergen demo-data`; not real emotional speech"}, indent=2))


def is_demo_corpus(root: Path) -> bool:
    """True when ``root`` carries a marker that sergen wrote (a JSON object saying it is synthetic)."""
    try:
        marker = json.loads((Path(root) / DEMO_MARKER).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("synthetic") is True

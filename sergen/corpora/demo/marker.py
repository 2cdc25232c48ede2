"""The file sergen leaves in each synthetic corpus it makes (``SERGEN_DEMO.json``): readers record the
corpus as synthetic, and ``make_demo`` replaces only folders that carry it and hold nothing but the files it
lists as written by sergen, never a user's own files."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sergen.corpora.base import DEMO_MARKER


def files_under(root: Path) -> list[str]:
    """Every non-folder entry under ``root`` (symlinks included, never followed), as sorted relative paths."""
    found = []
    for folder, dirs, files in os.walk(root):
        base = Path(folder).relative_to(root)
        found += [(base / name).as_posix() for name in files]
        found += [(base / name).as_posix() for name in dirs if os.path.islink(os.path.join(folder, name))]
    return sorted(found)


def write_marker(root: Path, corpus: str, seed: int, scale: float, n_files: int | None,
                 written: list[str] | None = None) -> None:
    """Written before the audio (``complete: false``, nothing written yet) and again after it, or after an
    interruption, with the files sergen wrote, so the next run can tell them from files a user added."""
    (root / DEMO_MARKER).write_text(json.dumps(
        {"synthetic": True, "corpus": corpus, "seed": seed, "scale": scale, "files": n_files,
         "complete": n_files is not None, "written": written,
         "note": "synthetic demo corpus made by `sergen demo-data`; not real emotional speech"}, indent=2))


def _read(root: Path):
    try:
        marker = json.loads((Path(root) / DEMO_MARKER).read_text())
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) and marker.get("synthetic") is True else None


def is_demo_corpus(root: Path) -> bool:
    """True when ``root`` carries a marker that sergen wrote (a JSON object saying it is synthetic)."""
    return _read(root) is not None


def written_files(root: Path) -> list[str] | None:
    """The relative paths the marker lists as written by sergen; None when it lists none (an older sergen,
    or a run killed before it could record them), so sergen cannot tell its files from a user's."""
    written = (_read(root) or {}).get("written")
    if not isinstance(written, list) or not all(isinstance(p, str) for p in written):
        return None
    return written


def foreign_files(root: Path) -> list[str] | None:
    """Files under ``root`` that sergen did not write (the marker aside); None when that cannot be told."""
    written = written_files(root)
    if written is None:
        return None
    known = set(written) | {DEMO_MARKER}
    return [p for p in files_under(root) if p not in known]

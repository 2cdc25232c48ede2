"""The synthetic ``demo`` corpora: five small corpora in the five native layouts, made from a seed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from sergen.corpora.demo.layouts import WRITERS, _mark


def make_demo(out: str | Path, seed: int = 0, scale: float = 1.0, corpora=None,
              progress: Callable[[str, int], None] | None = None) -> dict[str, Path]:
    """Write ``out/<corpus>/`` for each corpus; an existing demo corpus of the same seed is rewritten."""
    if scale <= 0:
        raise ValueError(f"scale must be > 0, not {scale}")
    out = Path(out)
    roots = {}
    for corpus in corpora or WRITERS:
        root = out / corpus
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        n = WRITERS[corpus](root, seed, scale)
        _mark(root, corpus, seed, scale, n)
        roots[corpus] = root
        if progress:
            progress(corpus, n)
    return roots


__all__ = ["make_demo", "WRITERS"]

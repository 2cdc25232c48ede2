"""The synthetic ``demo`` corpora: five small corpora in the five native layouts, made from a seed."""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Callable

from sergen.corpora.base import DEMO_MARKER
from sergen.corpora.demo.layouts import WRITERS
from sergen.corpora.demo.marker import files_under, foreign_files, is_demo_corpus, write_marker
from sergen.errors import SergenError

# scale 1 makes 1,384 files (~80 MB; 1,312 utterances in the manifests); 10 makes ~13,000, more than a demo needs
MAX_SCALE = 10.0
MIN_SCALE = 0.01  # below ~0.17 every count is at its floor of one: a smaller value is a typo, never a smaller set
MAX_SEED = 2**32 - 1


def check_demo_options(seed, scale) -> None:
    """``--seed`` and ``--scale`` checked before anything is written."""
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) \
            or not MIN_SCALE <= scale <= MAX_SCALE:
        raise SergenError(f"--scale must be a number from {MIN_SCALE:g} to {MAX_SCALE:g}, not {scale}",
                          fix="1 (the default) makes 1,384 files; 0.3 a quick small set; every scale up to about "
                              "0.17 makes the smallest set (one utterance per class and speaker)")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise SergenError(f"--seed must be a whole number from 0 to {MAX_SEED}, not {seed}")


def check_demo_folders(out: Path, corpora) -> None:
    """Refuse before writing anything if a corpus folder holds files sergen did not make."""
    if out.exists() and not out.is_dir():
        raise SergenError("the demo's output folder is a file", where=str(out),
                          fix="choose another folder with --out")
    for corpus in corpora:
        root = out / corpus
        if not root.exists():
            continue
        if root.is_dir() and is_demo_corpus(root):
            _check_only_sergens_files(root)
            continue
        if not root.is_dir():
            raise SergenError(f"{root} is a file, not a demo corpus folder sergen made", where=str(root),
                              fix="choose another folder with --out, or move that file away yourself")
        if any(root.iterdir()):
            raise SergenError(f"{root} is not empty and is not a demo corpus sergen made (no {DEMO_MARKER} in it); "
                              f"sergen replaces only demo corpora it wrote, so nothing was written",
                              where=str(root),
                              fix="choose another folder with --out (e.g. --out demo-corpora), "
                                  "or move that folder away yourself")


def _check_only_sergens_files(root: Path) -> None:
    """A demo corpus sergen made is replaced only if every file in it is one the marker lists as sergen's."""
    foreign = foreign_files(root)
    if foreign is None:
        raise SergenError(f"{root} is a demo corpus whose {DEMO_MARKER} does not list the files sergen wrote "
                          f"(made by an older sergen, or by a run that was killed), so sergen cannot tell its "
                          f"files from yours and replaces nothing; nothing was written",
                          where=str(root),
                          fix="move that folder away (or delete it yourself if nothing in it is yours), "
                              "or choose another folder with --out")
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise SergenError(f"{root} holds files sergen did not write ({shown}); sergen replaces only its own "
                          f"demo files, so nothing was written", where=str(root),
                          fix="move those files out of the folder, or choose another folder with --out")


def make_demo(out: str | Path, seed: int = 0, scale: float = 1.0, corpora=None,
              progress: Callable[[str, int], None] | None = None) -> dict[str, Path]:
    """Write ``out/<corpus>/`` for each corpus. A folder sergen made before (it carries ``SERGEN_DEMO.json``)
    is replaced; a non-empty folder without it is refused, before anything is written."""
    check_demo_options(seed, scale)
    corpora = list(corpora or WRITERS)
    unknown = [c for c in corpora if c not in WRITERS]
    if unknown:
        raise SergenError(f"no demo corpus {', '.join(unknown)}; known: {', '.join(WRITERS)}")
    out = Path(out)
    check_demo_folders(out, corpora)
    roots = {}
    for corpus in corpora:
        root = out / corpus
        if root.exists():
            shutil.rmtree(root)  # only empty folders, or demo corpora holding only files sergen wrote, get here
        root.mkdir(parents=True)
        write_marker(root, corpus, seed, scale, None)  # no list yet: if killed, "cannot tell"
        try:
            n = WRITERS[corpus](root, seed, scale)
        except BaseException:
            # the folder was empty when the writer began, so what is in it now is sergen's
            write_marker(root, corpus, seed, scale, None, written=_written(root))
            raise
        write_marker(root, corpus, seed, scale, n, written=_written(root))
        roots[corpus] = root
        if progress:
            progress(corpus, n)
    return roots


def _written(root: Path) -> list[str]:
    return [p for p in files_under(root) if p != DEMO_MARKER]


__all__ = ["make_demo", "check_demo_options", "check_demo_folders", "WRITERS", "MAX_SCALE"]

"""The synthetic ``demo`` corpora: five small corpora in the five native layouts, made from a seed."""

from __future__ import annotations

import math
import os
import shutil
import time
from pathlib import Path
from typing import Callable

from sergen.corpora.base import DEMO_MARKER
from sergen.corpora.demo.layouts import SMALLEST_SET_BELOW, WRITERS
from sergen.corpora.demo.marker import files_under, foreign_files, is_demo_corpus, write_marker
from sergen.errors import SergenError

# scale 1 makes 1,384 files (~80 MB; 1,312 utterances in the manifests); 10 makes ~13,000, more than a demo needs
MAX_SCALE = 10.0
MIN_SCALE = 0.01  # every count is at its floor long before (SMALLEST_SET_BELOW): a smaller value is a typo
MAX_SEED = 2**32 - 1


def check_demo_options(seed, scale) -> None:
    """``--seed`` and ``--scale`` checked before anything is written."""
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) \
            or not MIN_SCALE <= scale <= MAX_SCALE:
        raise SergenError(f"--scale must be a number from {MIN_SCALE:g} to {MAX_SCALE:g}, not {scale}",
                          fix=f"1 (the default) makes 1,384 files; every scale below {SMALLEST_SET_BELOW:g} makes the "
                              "same, smallest set (810 files: one utterance per class and speaker)")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise SergenError(f"--seed must be a whole number from 0 to {MAX_SEED}, not {seed}")


def check_demo_folders(out: Path, corpora) -> None:
    """Refuse before writing anything if a corpus folder holds files sergen did not make."""
    if out.exists() and not out.is_dir():
        raise SergenError("the demo's output folder is a file", where=str(out),
                          fix="choose another folder with --out")
    for corpus in corpora:
        root = out / corpus
        _check_partial(_partial(root))
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


def _check_partial(partial: Path) -> None:
    """What a killed run left beside a corpus (``<corpus>.sergen-partial``) is taken up only if sergen made it:
    a folder with sergen's marker, or an empty one (``_set_aside``, ``_drop_leftover``)."""
    if not os.path.lexists(partial):
        return
    if partial.is_dir() and not partial.is_symlink() and (is_demo_corpus(partial) or not any(partial.iterdir())):
        return
    raise SergenError(f"{partial} is not a partial demo corpus sergen left (no {DEMO_MARKER} in it); sergen "
                      "writes each corpus there before renaming it, and replaces only its own, so nothing was "
                      "written", where=str(partial), fix="move it away yourself, or choose another folder with --out")


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
              progress: Callable[[str, int], None] | None = None, workers: int = 1) -> dict[str, Path]:
    """Write ``out/<corpus>/`` for each corpus. A folder sergen made before (it carries ``SERGEN_DEMO.json``)
    is replaced; a non-empty folder without it is refused, before anything is written. ``workers`` > 1: the
    corpora are written in that many processes, the costliest first; each corpus renders from its own random
    stream (``Renderer``), so the files are byte for byte those one process writes."""
    check_demo_options(seed, scale)
    corpora = list(corpora or WRITERS)
    unknown = [c for c in corpora if c not in WRITERS]
    if unknown:
        raise SergenError(f"no demo corpus {', '.join(unknown)}; known: {', '.join(WRITERS)}")
    out = Path(out)
    check_demo_folders(out, corpora)
    roots = {corpus: out / corpus for corpus in corpora}
    if workers > 1 and len(corpora) > 1:
        for corpus, n in _write_in_processes(roots, seed, scale, workers):
            if progress:
                progress(corpus, n)
        return roots
    for corpus, root in roots.items():
        n = _write_corpus(corpus, root, seed, scale)
        if progress:
            progress(corpus, n)
    return roots


# CPU seconds of each corpus at scale 1 (2026-12-07), and what a spawned process spends importing the writers
SYNTHESIS_COST = {"ravdess": 2.6, "iemocap": 1.9, "msp": 1.8, "cremad": 1.0, "emodb": 0.8}
SPAWN_COST = 1.0


def share_out(corpora: list[str], workers: int) -> list[list[str]]:
    """The corpora each process writes (this one first), the costliest first to the least loaded: the spawned
    processes start with their import's cost, so this process, which has the writers already, takes more."""
    loads = [0.0] + [SPAWN_COST] * (workers - 1)
    shares: list[list[str]] = [[] for _ in range(workers)]
    for corpus in sorted(corpora, key=lambda c: -SYNTHESIS_COST.get(c, 1.0)):
        k = loads.index(min(loads))
        shares[k].append(corpus)
        loads[k] += SYNTHESIS_COST.get(corpus, 1.0)
    return shares


def _write_in_processes(roots: dict[str, Path], seed: int, scale: float, workers: int):
    """(corpus, files written) as each corpus is finished: this process writes its share while ``workers`` − 1
    spawned ones write the rest."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    own, *others = share_out(list(roots), workers)
    spawned = [c for share in others for c in share]
    if not spawned:
        yield from ((c, _write_corpus(c, roots[c], seed, scale)) for c in own)
        return
    with ProcessPoolExecutor(len([s for s in others if s]), mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(_write_share, share, roots, seed, scale): share for share in others if share}
        for corpus in own:
            yield corpus, _write_corpus(corpus, roots[corpus], seed, scale)
        for future in as_completed(futures):
            yield from future.result()


def _write_share(corpora: list[str], roots: dict[str, Path], seed: int, scale: float) -> list[tuple[str, int]]:
    return [(c, _write_corpus(c, roots[c], seed, scale)) for c in corpora]


PARTIAL_SUFFIX = ".sergen-partial"  # a corpus being written: renamed into place once whole


def _write_corpus(corpus: str, root: Path, seed: int, scale: float) -> int:
    """One corpus written into ``<root>.sergen-partial`` with its marker, then renamed to ``root`` (an older
    corpus there replaced): a run killed while writing leaves only the partial folder, which the next run
    removes, never a half-written corpus that no marker can vouch for."""
    partial = _partial(root)
    leftover = _set_aside(partial)
    partial.mkdir(parents=True)
    write_marker(partial, corpus, seed, scale, None)  # sergen's from the start: a kill leaves it removable
    try:
        n = WRITERS[corpus](partial, seed, scale)
    except BaseException:
        write_marker(partial, corpus, seed, scale, None, written=_written(partial))
        raise
    write_marker(partial, corpus, seed, scale, n, written=_written(partial))
    if root.exists():
        shutil.rmtree(root)  # only empty folders, or demo corpora holding only files sergen wrote, get here
    partial.rename(root)
    if leftover is not None:
        _drop_leftover(leftover, set(_written(root)))
    return n


def _partial(root: Path) -> Path:
    return root.with_name(root.name + PARTIAL_SUFFIX)


def _set_aside(partial: Path) -> Path | None:
    """A killed run's partial corpus (checked as sergen's in ``check_demo_folders``) renamed aside, nothing
    deleted yet: ``_drop_leftover`` removes what in it this synthesis wrote again."""
    if not partial.is_dir() or partial.is_symlink():
        return None
    aside = partial.with_name(f"{partial.name}-{os.getpid()}-{time.monotonic_ns()}")
    partial.rename(aside)
    return aside


def _drop_leftover(leftover: Path, written: set[str]) -> None:
    """A killed run's partial corpus removed where every file in it is one the finished synthesis writes (or its
    marker); a file a user put there is kept, with the folder, and named."""
    sergens = written | {DEMO_MARKER}
    found = files_under(leftover)
    foreign = [p for p in found if p not in sergens]
    if not foreign:
        shutil.rmtree(leftover)
        return
    for path in found:
        if path in sergens:
            (leftover / path).unlink()
    from sergen.console import err_console

    shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
    err_console.print(f"note: {leftover} (what a killed run left) holds files sergen did not write ({shown}); "
                      "they are kept there, sergen's own files removed", highlight=False)


def _written(root: Path) -> list[str]:
    return [p for p in files_under(root) if p != DEMO_MARKER]


__all__ = ["make_demo", "check_demo_options", "check_demo_folders", "WRITERS", "MAX_SCALE"]

"""Where stores live: a local folder (the default, ``stores/``) or any fsspec URL (``s3://bucket/stores``
with s3fs installed, ``gs://…``, ``memory://…`` in tests). Zarr opens both; this module does the few
file-system operations sergen needs beside Zarr (list, remove, size) for either kind."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import NamedTuple

import fsspec

from sergen.paths import is_remote, local_path


def join(root, *parts: str):
    """A child of ``root``: a Path for local roots, a URL string for remote ones."""
    if is_remote(root):
        return "/".join([str(root).rstrip("/"), *parts])
    return local_path(root).joinpath(*parts)


def _fs(root):
    """fsspec's filesystem for a URL; a protocol whose backend is not installed is a SergenError that says
    which package to install (fsspec's own ImportError reached users as a traceback)."""
    try:
        return fsspec.core.url_to_fs(str(root))
    except ImportError as exc:
        from sergen.errors import SergenError

        scheme = str(root).split("://", 1)[0]
        raise SergenError(f"reading stores over {scheme}:// needs a package that is not installed ({exc})",
                          where=str(root),
                          fix="install it into sergen's environment (e.g. `.venv/bin/pip install s3fs` for s3://, "
                              "gcsfs for gs://, aiohttp and requests for https://), or copy the stores to a local "
                              "folder") from None
    except ValueError as exc:
        from sergen.errors import SergenError

        raise SergenError(f"not a stores location sergen can read: {exc}", where=str(root),
                          fix="give a local folder or an fsspec URL such as s3://bucket/stores") from None


def glob_names(root, pattern: str) -> list[tuple[str, str]]:
    """(parent folder name, stem) of every path under ``root`` matching ``pattern`` (e.g. ``*/*.zarr``)."""
    if not is_remote(root):
        base = local_path(root)
        return [(p.parent.name, p.stem) for p in base.glob(pattern) if p.is_dir()]  # a file named x.zarr is no store
    fs, base = _fs(root)
    found = fs.glob(base.rstrip("/") + "/" + pattern)
    return [(p.rstrip("/").split("/")[-2], p.rstrip("/").split("/")[-1].rsplit(".", 1)[0]) for p in found]


def exists(path) -> bool:
    if not is_remote(path):
        return local_path(path).exists()
    fs, p = _fs(path)
    return fs.exists(p)


def remove(path) -> None:
    """Remove a store. Its root ``zarr.json`` goes first, in one step: a removal killed halfway then leaves
    no group that says "complete" over arrays already gone, only leftovers the next extraction clears.
    A store path that is a symbolic link loses the link only: nothing is ever deleted through it (the
    store it points to may be another workspace's, or not sergen's at all)."""
    if not is_remote(path) and local_path(path).is_symlink():
        local_path(path).unlink()
        return
    if not exists(path):
        return
    refuse_foreign_files(path)
    root_meta = join(path, "zarr.json")
    if exists(root_meta):
        if is_remote(path):
            fs, p = _fs(root_meta)
            fs.rm(p)
        else:
            local_path(root_meta).unlink()
    if not is_remote(path):
        import shutil

        shutil.rmtree(local_path(path))
        return
    fs, p = _fs(path)
    fs.rm(p, recursive=True)


OWN_KEY = re.compile(r"(^|/)(zarr\.json|c(/\d+)+|c(\.\d+)+)$")
"""What sergen's Zarr stores hold: a node's metadata and its chunks, ``<array>/c.<row chunk>.…`` (``c/<row
chunk>/…`` in stores made before issue 22; ``layout.CHUNK_KEYS``)."""
WRITE_TEMPORARY = re.compile(r"\.[0-9a-f]{32}\.partial$")
"""Zarr's atomic write (``<key>.<uuid4 hex>.partial``, renamed when whole): a kill -9 mid-write leaves one."""


CHUNK_KEY = re.compile(r"c(\.\d+)+|c(/\d+)+")
"""A chunk file inside an array's folder: ``c.<row chunk>.…`` (``c/<row chunk>/…`` in stores made before issue 22;
``layout.CHUNK_KEYS``)."""
CHUNK_FOLDER = re.compile(r"c(/\d+)*")
"""A folder of chunk files inside an array's folder (the layout before issue 22: ``c/``, ``c/<row chunk>/``)."""
TEMPORARY_CHUNK_STEM = re.compile(r"c(\.\d+)*")
"""A chunk file's name less its last suffix (``c.3.0`` → ``c.3``): the stem of Zarr's temporary of it."""


LEDGER = "chunk_bytes"
"""The group of a complete store's chunk-file sizes (``store.digests.record_chunk_bytes``): one array per Blosc
array, made when the store is complete, after its record (``store.record``) was written."""


class StoreNodes(NamedTuple):
    """The nodes sergen wrote in a store (``sergens_nodes``): their paths, and each array's chunk grid (chunks
    along each axis, from its ``zarr.json``; absent where that does not read)."""

    groups: frozenset[str]
    arrays: frozenset[str]
    grids: dict[str, tuple[int, ...]] = {}
    recorded: bool = False  # read from the store's record of its arrays (else from the older layouts' places)


def is_sergens(key: str, is_dir: bool, nodes: tuple) -> bool:
    """Whether ``key`` (a path inside a store, ``/``-separated) is a file or folder sergen put there: a node's
    ``zarr.json``, an array's chunk file inside its chunk grid (or a chunk folder of the old layout), or Zarr's
    atomic-write temporary of one of them, for the (groups, arrays[, grids]) ``nodes`` of that store
    (``sergens_nodes``). Anything else, however shaped, is the user's: a chunk name outside the array's grid
    (``mean/c.9.0`` where ``mean`` has one chunk row) is never one sergen wrote, since it writes only the chunks
    of its arrays' shapes (``outside_grid``)."""
    groups, arrays = nodes[0], nodes[1]
    if not is_dir and outside_grid(key, nodes):
        return False
    if is_dir:
        return key in groups or key in arrays or any(
            key.startswith(f"{array}/") and CHUNK_FOLDER.fullmatch(key[len(array) + 1:]) for array in arrays)
    temporary = WRITE_TEMPORARY.search(key)
    if temporary is None:
        return _own_file(key, groups, arrays)
    # Zarr names the temporary of file K ``K.with_suffix(".<hex>.partial")``: K less its last suffix
    # (``zarr.json`` → ``zarr.<hex>.partial``, ``c.3.0`` → ``c.3.<hex>.partial``; ``c/3/0`` keeps its name)
    stem = key[:temporary.start()]
    return (_own_file(stem, groups, arrays) or _own_file(f"{stem}.json", groups, arrays)
            or any(stem.startswith(f"{array}/") and TEMPORARY_CHUNK_STEM.fullmatch(stem[len(array) + 1:])
                   for array in arrays))


def outside_grid(key: str, nodes: tuple) -> tuple[str, tuple[int, ...]] | None:
    """(array, its chunk grid) where ``key`` is named like a chunk file of one of the store's arrays
    (``<array>/c.<i>.<j>``, ``c/<i>/<j>``, or Zarr's temporary of one) but its indices lie outside that array's
    chunk grid; else None."""
    grids = nodes[2] if len(nodes) > 2 else {}
    temporary = WRITE_TEMPORARY.search(key)
    stem = key[:temporary.start()] if temporary else key
    for owner, grid in grids.items():
        if not stem.startswith(f"{owner}/"):
            continue
        chunk = stem[len(owner) + 1:]
        if not (CHUNK_KEY.fullmatch(chunk) or (temporary and TEMPORARY_CHUNK_STEM.fullmatch(chunk))):
            continue
        indices = [int(i) for i in re.split(r"[./]", chunk)[1:]]
        if temporary and len(indices) < len(grid):  # ``c.3.0`` → ``c.3.<hex>.partial``: its last index is gone
            indices += [0] * (len(grid) - len(indices))
        if len(indices) != len(grid) or any(i >= n for i, n in zip(indices, grid)):
            return owner, grid
    return None


def _own_file(key: str, groups: frozenset[str], arrays: frozenset[str]) -> bool:
    """Whether ``key`` is a node's ``zarr.json`` or an array's chunk file among ``groups`` and ``arrays``."""
    parent, _, name = key.rpartition("/")
    if name == "zarr.json":
        return parent in groups or parent in arrays
    return any(key.startswith(f"{array}/") and CHUNK_KEY.fullmatch(key[len(array) + 1:]) for array in arrays)


def recorded_arrays(root: Path) -> dict | None:
    """The arrays the local store ``root`` records it laid out (``arrays_crc32c``, ``store.record``), or None for
    a store without that record (made before it, or its root record gone)."""
    try:
        recorded = json.loads((root / "zarr.json").read_text())["attributes"]["sergen"]["arrays_crc32c"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return recorded if isinstance(recorded, dict) else None


OLDER_LAYOUT_GROUPS = frozenset({"", "utt", "audio", LEDGER, "utt_crc32c", f"{LEDGER}/utt_crc32c"})
OLDER_LAYOUT_ARRAYS = frozenset({"frames", "offsets", "mean", "std", "status", "frame_crc32c", "stats_crc32c",
                                 "audio/sha256", "audio/size", "audio/mtime_ns",
                                 f"{LEDGER}/frames", f"{LEDGER}/mean", f"{LEDGER}/std", f"{LEDGER}/frame_crc32c"})
COLUMN_GROUPS = ("utt", "utt_crc32c", f"{LEDGER}/utt_crc32c")
"""What a store without the record of its arrays (``arrays_crc32c``) may hold as sergen's: the nodes every layout
sergen has written names (``writer.store_nodes``, the digests and the ledger added since), and any column array
directly in ``utt/`` (and its digests). Any other Zarr node in it is a user's, refused by a rebuild, never deleted."""


def _older_layout_node(key: str, kind: str) -> bool:
    if kind == "group":
        return key in OLDER_LAYOUT_GROUPS
    parent, _, name = key.rpartition("/")
    return key in OLDER_LAYOUT_ARRAYS or (parent in COLUMN_GROUPS and bool(name))


def sergens_nodes(root: Path) -> StoreNodes:
    """(groups, arrays, grids) sergen wrote in the local store ``root``. A store whose record lists its arrays
    (``arrays_crc32c``, ``store.record``: every array ``create_store`` laid out) holds those, their ledger entries
    (``chunk_bytes``) and their groups, and nothing else: a user's folder shaped like a node (``mine/zarr.json``
    copied from ``frames``, ``mine/c.0.0``) is not sergen's. A store made before that record, or whose record is
    gone: the Zarr nodes (a folder whose ``zarr.json`` is Zarr v3 metadata) at the places sergen's layouts put them
    (``OLDER_LAYOUT_*``), so that a user's valid Zarr array copied into the folder stays (a rebuild refuses it);
    and, at those places, every folder holding Zarr's temporary of a ``zarr.json`` (a creation killed while it
    wrote that node's metadata, the record not written yet)."""
    recorded = recorded_arrays(root)
    if recorded is not None:
        arrays = set(recorded) | {f"{LEDGER}/{name}" for name in recorded}
        parents = {name.rpartition("/")[0] for name in recorded}
        groups = {"", LEDGER} | parents | {f"{LEDGER}/{parent}" for parent in parents if parent}
        return StoreNodes(frozenset(groups), frozenset(arrays), _grids(root, arrays), recorded=True)
    groups, arrays = {""}, set()
    for meta in root.rglob("zarr.json"):
        try:
            doc = json.loads(meta.read_text())
        except (OSError, ValueError):
            continue
        kind = doc.get("node_type") if isinstance(doc, dict) and doc.get("zarr_format") == 3 else None
        key = meta.parent.relative_to(root).as_posix()
        key = "" if key == "." else key
        if kind in ("group", "array") and not meta.parent.is_symlink() and _older_layout_node(key, kind):
            (groups if kind == "group" else arrays).add(key)
    for temporary in root.rglob("zarr.*.partial"):  # a node whose metadata a kill cut off mid-write (creation)
        if WRITE_TEMPORARY.search(temporary.name) and temporary.parent != root and not temporary.parent.is_symlink():
            key = temporary.parent.relative_to(root).as_posix()
            if _older_layout_node(key, "array"):
                arrays.add(key)
            elif _older_layout_node(key, "group"):
                groups.add(key)
    return StoreNodes(frozenset(groups), frozenset(arrays), _grids(root, arrays))


def _grids(root: Path, arrays) -> dict[str, tuple[int, ...]]:
    """Each array's chunk grid (chunks along each axis) from its ``zarr.json``, where that reads as Zarr's."""
    grids = {}
    for name in arrays:
        try:
            doc = json.loads((root / name / "zarr.json").read_text())
            shape, chunks = doc["shape"], doc["chunk_grid"]["configuration"]["chunk_shape"]
            if len(shape) == len(chunks) and all(isinstance(n, int) and isinstance(c, int) and c > 0
                                                 for n, c in zip(shape, chunks)):
                grids[name] = tuple(-(-n // c) for n, c in zip(shape, chunks))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not there, or not Zarr's: its chunk names are judged by their shape alone
    return grids


def refuse_foreign_files(path) -> None:
    """Refuse, naming them, to remove a local store folder that holds files or folders sergen did not write there
    (notes, a copy, a link, a folder of the user's shaped like a node): a rebuild (``extract --overwrite``, or a
    store whose root record is gone) removes the whole folder, and only sergen's own files may go with it
    (``is_sergens``: where the store's layout puts them). Nothing is deleted then."""
    from sergen.errors import SergenError

    if is_remote(path):
        return
    root = local_path(path)
    nodes = sergens_nodes(root)
    recorded = nodes.recorded
    foreign = []
    for entry in sorted(root.rglob("*")):
        key = entry.relative_to(root).as_posix()
        if entry.is_symlink() or not is_sergens(key, entry.is_dir(), nodes):
            if not entry.is_dir() or entry.is_symlink():
                foreign.append(key)
            elif recorded and not any(p.is_symlink() or not p.is_dir() for p in entry.rglob("*")):
                # an empty folder of the user's (one with files is named by its files); in a store without its
                # record, an empty folder is also what a creation stopped before a node's zarr.json leaves
                foreign.append(f"{key}/")
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" … ({len(foreign)} in all)" if len(foreign) > 5 else "")
        raise SergenError(f"the store folder holds {len(foreign)} file(s) sergen did not write ({shown}); rebuilding "
                          "the store removes the folder, so nothing was deleted", where=str(root),
                          fix="move those files out of the store folder, then rerun the same command")


def size_bytes(path) -> int:
    if not is_remote(path):
        return sum(f.stat().st_size for f in local_path(path).rglob("*") if f.is_file())
    fs, p = _fs(path)
    return int(fs.du(p))


def check_readable_root(root) -> None:
    """A local stores folder given as a file is refused by name (globbing it would find nothing silently)."""
    from sergen.errors import SergenError

    if is_remote(root):
        _fs(root)  # a protocol whose backend is missing is named here, before any read
        return
    if local_path(root).is_file():
        raise SergenError("the stores folder is a file, not a folder", where=str(root),
                          fix="point SERGEN_STORES (or --root, or [dirs] in sergen.toml) at a folder")


def check_store_slot(path) -> None:
    """Refuse, by name, a store path that cannot hold a store: its model folder is a file, or it is a file."""
    from sergen.errors import SergenError

    if is_remote(path):
        return
    path = local_path(path)
    if path.parent.exists() and not path.parent.is_dir():
        raise SergenError("the model's folder in the stores folder is a file, not a folder", where=str(path.parent),
                          fix="move the file away (sergen keeps each model's stores in a folder of that name)")
    if path.exists() and not path.is_dir():
        raise SergenError("the store's path is a file, not a store", where=str(path),
                          fix="move the file away: a store is a folder (`sergen extract` makes it)")


def leftover_problem(path) -> str | None:
    """Why a local store folder has no root record sergen can read its store from (``zarr.json`` missing, or
    holding no ``sergen`` record), or None. ``remove`` deletes that record first, so a missing one is what a
    removal cut short leaves (or a hand-deleted ``zarr.json``); one without a ``sergen`` record is a creation
    cut short (``create_store`` writes it last) or a ``zarr.json`` overwritten. Either way not a store, whose
    model, counts and completeness are gone; the next extraction of it clears the folder and rebuilds."""
    if is_remote(path):
        return None
    path = local_path(path)
    if not path.is_dir():
        return None
    if not (path / "zarr.json").exists():
        return ("its root record (zarr.json) is missing, so its model, counts and completeness are lost (what a "
                "store removal cut short, or a deleted zarr.json, leaves)")
    try:
        doc = json.loads((path / "zarr.json").read_bytes())
    except (OSError, ValueError):
        return None  # not JSON: the readers name it as unreadable metadata
    if isinstance(doc, dict) and isinstance(doc.get("attributes"), dict) and "sergen" in doc["attributes"]:
        return None
    if isinstance(doc, dict) and not doc.get("attributes") and doc.get("node_type", "group") == "group":
        return ("its root record (zarr.json) holds no sergen record, so its model, counts and completeness are lost "
                "(a store whose creation was cut short or is still under way, or a zarr.json overwritten since)")
    return None  # another shape (null, a list, other attributes): the readers name it as unreadable metadata


def damaged_views(model: str, corpus: str, root) -> list[tuple[str, str]]:
    """(view store name, why) for each augmented-view folder beside a corpus's clean store (``<corpus>@<view>``)
    that ``leftover_problem`` finds unusable. The view listing keeps complete views only, so without this a view
    whose root record is gone would be passed over as if it were never extracted (its clean twin is named)."""
    damaged = []
    for _, name in sorted(glob_names(root, f"{model}/{corpus}@*.zarr")):
        problem = leftover_problem(join(root, model, f"{name}.zarr"))
        if problem:
            damaged.append((name, problem))
    return damaged


def not_stores(root) -> list[Path]:
    """Files in a local stores folder named like a store (``<model>/<corpus>.zarr``): ``glob_names`` leaves them
    out (a file is no store), and ``stores ls`` names them rather than stay silent about what blocks a store."""
    if is_remote(root):
        return []
    return sorted(p for p in local_path(root).glob("*/*.zarr") if not p.is_dir())

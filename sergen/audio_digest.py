"""Digests of the audio content a store was made from, so audio edited after the manifest or after extraction
(even at the same length) makes the store stale instead of silently standing for audio it never saw.

Extraction records, per utterance, the SHA-256 of its audio file's bytes with the file's size and mtime
(ns) under the store's ``audio/`` group; a store and its view stores record the same digests for the same
files. Later checks stat every file (cheap) and hash only those whose stat changed (git-index style): a
file touched but unchanged passes, a file whose bytes changed is named. Files that are not there (audio not
mounted where a probe runs) are not judged: a probe needs the stores only.

Stores made before digests carry no ``audio/`` group: their audio is checked as before, by the manifest's
columns (``audio_sha256``: utterance ids, paths, lengths and rates), and ``--overwrite`` adds the digests.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import zarr

GROUP = "audio"
UNKNOWN = ""  # sha256 of an utterance not digested yet


def file_digest(path: Path) -> tuple[str, int, int]:
    """(SHA-256 of the file's bytes, size, mtime_ns), or ("", -1, -1) for a file that cannot be read
    (extraction names it as a failure on its own)."""
    try:
        st = os.stat(path)
        with open(path, "rb", buffering=0) as fh:
            sha = hashlib.file_digest(fh, "sha256")  # read and hashed in C, one buffer at a time
        return sha.hexdigest(), st.st_size, st.st_mtime_ns
    except OSError:
        return UNKNOWN, -1, -1


def digest_files(root: Path, paths: list[str], rows: np.ndarray, threads: int = 2) -> list[tuple[str, int, int]]:
    """``file_digest`` of the files of utterances ``rows``, in order, on ``threads`` threads, each taking a
    contiguous share (one task per thread, not one per file: 5,000 small tasks cost a pool more than their
    hashing)."""
    rows = list(rows)
    threads = max(1, min(threads, len(rows)))
    if threads == 1:
        return [file_digest(root / paths[i]) for i in rows]
    size = -(-len(rows) // threads)
    with ThreadPoolExecutor(threads) as pool:
        shares = pool.map(lambda a: [file_digest(root / paths[i]) for i in rows[a:a + size]], range(0, len(rows), size))
        return [d for share in shares for d in share]


class BackgroundDigests:
    """``digest_files`` started now on a background thread (hashing releases the GIL), so a new store's layout
    is written meanwhile; ``record_audio(..., digests=...)`` takes the result for the same rows."""

    def __init__(self, root: Path, paths: list[str], rows: np.ndarray, threads: int = 2):
        self.rows = np.asarray(rows)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="sergen-audio-digest")
        self._future = self._pool.submit(digest_files, root, paths, self.rows, threads)
        self._pool.shutdown(wait=False)

    def result(self, rows: np.ndarray) -> list[tuple[str, int, int]] | None:
        """The digests if they were started for exactly ``rows``, else None (the caller digests itself)."""
        found = self._future.result()
        return found if np.array_equal(np.asarray(rows), self.rows) else None


def audio_array_specs(n_utt: int) -> dict[str, tuple[dict, np.ndarray | None]]:
    """The arrays of group ``audio`` in a new store: {name: (``create_array`` keywords, values to write or
    None)}, created beside the store's other arrays in one call to Zarr's event loop (``create_store``)."""
    chunks = (max(n_utt, 1),)
    specs = {"sha256": (dict(shape=(n_utt,), dtype=str, chunks=chunks, dimension_names=("utt",)),
                        np.full(n_utt, UNKNOWN))}
    for name in ("size", "mtime_ns"):
        specs[name] = (dict(shape=(n_utt,), dtype="int64", chunks=chunks, fill_value=-1, dimension_names=("utt",)),
                       None)
    return specs


def has_audio_digests(group: zarr.Group) -> bool:
    return GROUP in group.group_keys()


def record_audio(group: zarr.Group, root: Path, paths: list[str], rows: np.ndarray, threads: int = 2,
                 digests: BackgroundDigests | None = None) -> None:
    """Digest the audio files of utterances ``rows`` (store indices) before they are extracted; ``digests``:
    those already started for the same rows."""
    if not has_audio_digests(group) or not len(rows):
        return
    found = digests.result(rows) if digests is not None else None
    if found is None:
        found = digest_files(root, paths, rows, threads)
    audio = group[GROUP]
    for name, k in (("sha256", 0), ("size", 1), ("mtime_ns", 2)):
        array = audio[name]  # opened once: each lookup reads its metadata again
        # every row at once (a new store): nothing of the array's old values is kept, so none is read
        values = np.empty(array.shape, array.dtype) if len(rows) == array.shape[0] else array[:]
        values[rows] = [f[k] for f in found]
        array[:] = np.asarray(values, dtype=object).astype(str) if name == "sha256" else values


def changed_audio(group: zarr.Group, root: Path, rows: np.ndarray | None = None) -> list[tuple[str, str]]:
    """(utt_id, what changed) for the utterances (store indices ``rows``, default all) whose audio file's
    bytes differ from those extracted. Only files whose size or mtime moved are hashed."""
    if not has_audio_digests(group):
        return []
    audio = group[GROUP]
    try:
        sha, size, mtime = audio["sha256"][:].tolist(), audio["size"][:], audio["mtime_ns"][:]
        paths, ids = group["utt"]["path"][:].tolist(), group["utt"]["utt_id"][:].tolist()
    except Exception:  # noqa: BLE001 - an array that does not decode is damage, named by the chunk checks
        return []
    rows = np.arange(len(ids)) if rows is None else rows
    changed = []
    for i in rows:
        if not sha[i]:
            continue
        path = root / paths[i]
        try:
            st = os.stat(path)
        except OSError:
            continue  # not there: a probe needs no audio, and extraction names missing files itself
        if (st.st_size, st.st_mtime_ns) == (size[i], mtime[i]):
            continue
        now = file_digest(path)[0]
        if now and now != sha[i]:
            changed.append((ids[i], f"{paths[i]} now holds other audio (size {size[i]} → {st.st_size} bytes)"
                            if st.st_size != size[i] else f"{paths[i]} was rewritten with other audio of the same size"))
    return changed


def with_frames(group: zarr.Group) -> np.ndarray | None:
    """Store indices of the utterances that have frames (written or padded): a failed one's file may change, fixed,
    without making the store stale. None (all) where the status does not read: the chunk checks name that."""
    from sergen.store.layout import PADDED, WRITTEN

    try:
        return np.flatnonzero(np.isin(group["status"][:], (WRITTEN, PADDED)))
    except Exception:  # noqa: BLE001 - damage, named elsewhere
        return None


def missing_audio(group: zarr.Group, root: Path) -> list[str]:
    """Paths (relative to ``root``) of the audio files a store was made from that are gone, when ``root`` itself
    is there (a corpus not mounted where a probe runs is not missing files: nothing is judged then)."""
    if not root.is_dir():
        return []
    try:
        paths = group["utt"]["path"][:].tolist()
    except Exception:  # noqa: BLE001 - an array that does not decode is damage, named by the chunk checks
        return []
    return [p for p in dict.fromkeys(paths) if not (root / p).exists()]


def audio_root(corpus: str, attrs: dict) -> Path | None:
    """Where a corpus's audio is now: the root recorded with its manifest, else the one extraction read."""
    from sergen.corpora.manifest import manifest_path

    sidecar = manifest_path(corpus).with_suffix(".json")
    try:
        import json

        root = json.loads(sidecar.read_text()).get("root")
    except (OSError, ValueError, AttributeError):
        root = None
    root = root or attrs.get("audio_root")
    return Path(root) if root else None


def describe(changed: list[tuple[str, str]]) -> str:
    utt, why = changed[0]
    return f"the audio of {len(changed)} utterance(s) changed since extraction (e.g. {utt!r}: {why})"


def require_same_audio(group: zarr.Group, attrs: dict, model: str, name: str, stores_root) -> None:
    """Refuse a store whose audio files changed since extraction, or a view store whose digests disagree
    with its clean store's (one of them was made from other audio)."""
    from sergen.errors import SergenError
    from sergen.store.layout import rebuild_command, store_path

    if not has_audio_digests(group):
        return
    corpus, _, view = name.partition("@")
    rebuild = rebuild_command(model, name)
    path = store_path(model, name, stores_root)
    root = audio_root(corpus, attrs)
    changed = changed_audio(group, root, with_frames(group)) if root is not None else []
    if changed:
        raise SergenError(f"store {model}/{name} is stale: {describe(changed)}", where=str(path),
                          fix=f"rebuild it from the current audio: {rebuild}")
    if view:
        try:
            clean = zarr.open_group(str(store_path(model, corpus, stores_root)), mode="r")
        except Exception:  # noqa: BLE001 - no clean store: nothing to agree with
            return
        if not has_audio_digests(clean):
            return
        mine = dict(zip(group["utt"]["utt_id"][:].tolist(), group[GROUP]["sha256"][:].tolist()))
        theirs = dict(zip(clean["utt"]["utt_id"][:].tolist(), clean[GROUP]["sha256"][:].tolist()))
        differ = [u for u, s in mine.items() if s and theirs.get(u) and theirs[u] != s]
        if differ:
            raise SergenError(f"view store {model}/{name} was made from other audio than the {model}/{corpus} store "
                              f"({len(differ)} utterance(s) differ, e.g. {differ[0]!r})", where=str(path),
                              fix=f"rebuild the view from the current audio: {rebuild}")

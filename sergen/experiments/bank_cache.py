"""Large training banks kept on disk as memory-mapped prefix sums, built once and shared.

Why: an MSP-Podcast-size bank is ~11 GiB of float32 prefix sums that takes ~40 s to stream from its store.
Built into a file instead of the heap, it is (1) shared through the page cache by every grid worker and
every later `sergen probe` that trains on the same stores, instead of one private copy per process, and
(2) read back at once by later runs. The file is keyed by the stores' creation and completion times, so a
rebuilt store gets a new bank; the older files of the same training set are removed when a new one is
written. Banks below ``SERGEN_BANK_CACHE_MIB`` (default 256 MiB) stay in RAM: building them is quick. The
file's blocks are reserved before it is filled; where the disk has no room the bank is built in RAM, as
before, with a warning.

Where: ``SERGEN_CACHE``, else ``[dirs] cache`` in the config, else ``<stores>/.banks`` (or
``~/.cache/sergen/banks`` when the stores are at a remote URL). Deleting the folder only costs a rebuild.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
from dataclasses import fields
from pathlib import Path
from typing import Callable

import numpy as np

from sergen.store.location import is_remote
from sergen.train.framebank import FrameBank

DEFAULT_THRESHOLD_MIB = 256


def cache_dir(stores_root) -> Path:
    from sergen.config import data_dir, load_config

    configured = os.environ.get("SERGEN_CACHE") or load_config().get("dirs", {}).get("cache")
    if configured:
        return Path(configured)
    root = stores_root or data_dir("stores")
    if is_remote(root):
        return Path.home() / ".cache" / "sergen" / "banks"
    return Path(root) / ".banks"


def threshold_bytes() -> int:
    return int(float(os.environ.get("SERGEN_BANK_CACHE_MIB", DEFAULT_THRESHOLD_MIB)) * 2**20)


def bank_name(model: str, corpora: list[str], layer: str, versions: tuple) -> tuple[str, str]:
    """(readable stem shared by every version of this training set, full file stem)."""
    stem = "-".join([model.replace("/", "_"), "+".join(corpora), f"layer{layer}".replace("-", "last")])
    digest = hashlib.sha1(repr(versions).encode()).hexdigest()[:16]
    return stem, f"{stem}.{digest}"


def cached_bank(folder: Path, stem: str, name: str, build: Callable[[Callable], FrameBank]) -> FrameBank:
    """The bank in ``folder/name``: memory-mapped if a complete copy is there, else built into it by
    ``build(allocate)`` under an exclusive lock (other processes wait, then map the result)."""
    folder.mkdir(parents=True, exist_ok=True)
    prefix_path, meta_path = folder / f"{name}.prefix.npy", folder / f"{name}.meta.npz"
    with open(folder / f"{name}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released by the OS on any exit, kill -9 included
        try:
            if not meta_path.exists():  # the meta file is written last: its presence means complete
                _remove_older(folder, stem, name)
                _build_into(prefix_path, meta_path, build)
        except _NoSpace as exc:
            from sergen.console import err_console

            err_console.print(f"[yellow]no room for the {exc.gib:.1f} GiB training-bank file in {folder}: building "
                              "it in memory instead (set SERGEN_CACHE to a folder with space to share it)")
            return build(None)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return _open(prefix_path, meta_path)


class _NoSpace(Exception):
    def __init__(self, gib: float):
        self.gib = gib


def _build_into(prefix_path: Path, meta_path: Path, build) -> None:
    partial = prefix_path.with_suffix(".partial.npy")

    def allocate(shape):
        prefix = np.lib.format.open_memmap(partial, mode="w+", dtype=np.float32, shape=shape)
        # Reserve the blocks now: a full disk found later, through the mapping, would kill the process
        # with SIGBUS instead of raising.
        try:
            with open(partial, "r+b") as fh:
                os.posix_fallocate(fh.fileno(), 0, os.path.getsize(partial))
        except OSError as exc:
            del prefix
            partial.unlink(missing_ok=True)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise _NoSpace(int(np.prod(shape)) * 4 / 2**30) from exc
            raise
        return prefix

    bank = build(allocate)
    bank.prefix.flush()
    del bank.prefix
    os.replace(partial, prefix_path)
    meta = {f.name: getattr(bank, f.name) for f in fields(bank) if f.name != "prefix"}
    partial_meta = meta_path.with_suffix(".partial.npz")
    with open(partial_meta, "wb") as fh:
        np.savez(fh, **meta)
    os.replace(partial_meta, meta_path)


def _open(prefix_path: Path, meta_path: Path) -> FrameBank:
    with np.load(meta_path) as meta:
        arrays = {k: meta[k] for k in meta.files}
    return FrameBank(prefix=np.load(prefix_path, mmap_mode="r"), **arrays)


def _remove_older(folder: Path, stem: str, keep: str) -> None:
    """Files of earlier versions of the same training set (their stores were rebuilt since). A process
    still mapping one keeps reading it: the file lives on until it is unmapped."""
    for path in folder.iterdir():
        rest = path.name[len(stem) + 1:] if path.name.startswith(stem + ".") else ""
        digest = rest.split(".")[0]
        if len(digest) == 16 and all(c in "0123456789abcdef" for c in digest) and not path.name.startswith(keep + "."):
            path.unlink(missing_ok=True)

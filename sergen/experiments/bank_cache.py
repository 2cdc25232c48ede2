"""Store banks kept on disk as memory-mapped files, built once per store and shared.

Why: a bank belongs to one (model, corpus-or-view store, layer), not to a training set, so MSP-Podcast's
frames are held once whether a run trains on ``msp`` or on ``all``; every grid worker and every later
`sergen probe` reads the same file through the page cache instead of holding a private copy (the file is
mapped, but the sampler reads its rows with positioned reads, ``sergen.train.bank_rows``, so no page of it
counts in a process's memory). A bank covers
every utterance of its store, whatever its split: the protocol picks rows at run time, so a new split or
label map never rebuilds a bank. Files are keyed by the store's creation and completion times, so a
rebuilt store gets a new bank and the older files of that store are removed. The files are written with
plain writes, not through a mapping, so a build never counts as the builder's resident memory. Banks
below ``SERGEN_BANK_CACHE_MIB`` (default 256 MiB) stay in RAM: building them is quick. A bank file's digest is
recorded in its meta file and checked before use (``bank_digest``): a damaged or cut bank is rebuilt. The file's blocks
are reserved before it is filled; where the disk has no room the bank is built in RAM, with a warning.

Where: ``SERGEN_CACHE``, else ``[dirs] cache`` in the config, else ``<stores>/.banks`` (or
``~/.cache/sergen/banks`` when the stores are at a remote URL). Deleting the folder only costs a rebuild.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
from pathlib import Path
from typing import Callable

import numpy as np

from sergen.errors import SergenError
from sergen.experiments import bank_digest
from sergen.store.location import is_remote
from sergen.train.framebank import BANK_FORMAT, StoreBank

DEFAULT_THRESHOLD_MIB = 256
ARRAYS = {"prefix": np.float32}


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
    from sergen.config import bank_cache_mib

    return int(bank_cache_mib(DEFAULT_THRESHOLD_MIB) * 2**20)


def bank_name(model: str, store: str, layer: str, version: tuple, squares: bool = False) -> tuple[str, str]:
    """(readable stem shared by every version of this store's bank, full file stem). The sums-of-squares
    table (mean+std pooling) is a bank file of its own: ``-squares`` after the layer (no store's sums bank
    can end so) and its kind in the digest, so neither is ever read, or removed, as the other."""
    stem = "-".join([model.replace("/", "_"), store, f"layer{layer}".replace("-", "last")]) + ("-squares" if squares else "")
    key = (BANK_FORMAT, "squares", version) if squares else (BANK_FORMAT, version)
    digest = hashlib.sha1(repr(key).encode()).hexdigest()[:16]  # older layouts: other names
    return stem, f"{stem}.{digest}"


def bank_files(folder: Path, name: str) -> dict[str, Path]:
    return {"prefix": folder / f"{name}.prefix.npy", "meta": folder / f"{name}.meta.npz"}


class RamWriter:
    """Fills in-RAM arrays."""

    def __init__(self, shapes: dict[str, tuple]):
        self.arrays = {k: np.zeros(shape, ARRAYS[k]) for k, shape in shapes.items()}

    def write(self, array: str, row: int, values: np.ndarray) -> None:
        self.arrays[array][row:row + len(values)] = values


class FileWriter:
    """Fills ``.npy`` files with positioned writes (``pwrite``): the pages go to the page cache, never
    into this process's mapped memory."""

    def __init__(self, paths: dict[str, Path], shapes: dict[str, tuple]):
        self.paths, self.fds, self.offsets, self.row_bytes = paths, {}, {}, {}
        for k, shape in shapes.items():
            np.lib.format.open_memmap(paths[k], mode="w+", dtype=ARRAYS[k], shape=shape).flush()
            size = os.path.getsize(paths[k])
            self.offsets[k] = size - int(np.prod(shape)) * np.dtype(ARRAYS[k]).itemsize
            self.row_bytes[k] = shape[1] * np.dtype(ARRAYS[k]).itemsize
            self.fds[k] = os.open(paths[k], os.O_RDWR)
            try:  # reserve the blocks now: a full disk found later, through a mapping, would be a SIGBUS
                os.posix_fallocate(self.fds[k], 0, size)
            except OSError as exc:
                self.close()
                for path in paths.values():  # nothing half-made is left behind
                    path.unlink(missing_ok=True)
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise NoSpace(sum(int(np.prod(s)) * np.dtype(ARRAYS[a]).itemsize
                                      for a, s in shapes.items()) / 2**30) from exc
                raise

    def write(self, array: str, row: int, values: np.ndarray) -> None:
        data = np.ascontiguousarray(values, ARRAYS[array]).tobytes()
        os.pwrite(self.fds[array], data, self.offsets[array] + row * self.row_bytes[array])

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds = {}


class NoSpace(Exception):
    def __init__(self, gib: float):
        self.gib = gib


def bank_in_ram(shapes: dict[str, tuple], meta: dict, fill: Callable) -> StoreBank:
    writer = RamWriter(shapes)
    fill(writer)
    return StoreBank(writer.arrays["prefix"], **meta)


def ensure_bank_file(folder: Path, stem: str, name: str, shapes: dict[str, tuple], meta: dict,
                     fill: Callable) -> bool:
    """Build the bank into ``folder`` unless a complete copy is there, under an exclusive lock (other
    processes wait, then use the result). ``fill(writer)`` writes the arrays. Returns False where the disk
    has no room (a warning is printed)."""
    files = bank_files(folder, name)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(folder / f"{name}.lock", "a+")
    except OSError as exc:  # a read-only stores folder (a shared, mounted corpus): a sound bank there is used
        if files["meta"].exists() and not bank_digest.problem(files["prefix"], files["meta"]):
            return True
        from sergen.console import err_console

        err_console.print(f"[yellow]cannot write the store-bank cache in {folder} ({exc.strerror or exc}): building "
                          "it in memory instead (set SERGEN_CACHE to a writable folder to share it)")
        return False
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released by the OS on any exit, kill -9 included
        try:
            damaged = bank_digest.problem(files["prefix"], files["meta"]) if files["meta"].exists() else None
            if damaged:  # never used: removed and built again, said in one line
                from sergen.console import err_console

                strangers = [p for p in files.values() if (p.exists() or p.is_symlink()) and not p.is_file()]
                if strangers:  # never deleted: sergen writes files here, not folders or links to nowhere
                    raise SergenError(f"the store-bank cache holds {strangers[0]}, which is not a file sergen wrote "
                                      "(a folder or a broken link where a bank file belongs)",
                                      fix=f"move it away, then rerun; or point SERGEN_CACHE at another folder")
                err_console.print(f"[yellow]store-bank file {files['prefix'].name} is damaged ({damaged}): rebuilding it")
                for path in files.values():
                    path.unlink(missing_ok=True)
            if not files["meta"].exists():  # the meta file is written last: its presence means complete
                _remove_older(folder, stem, name)
                _build_into(files, shapes, meta, fill)
        except NoSpace as exc:
            from sergen.console import err_console

            err_console.print(f"[yellow]no room for the {exc.gib:.1f} GiB store-bank file in {folder}: building "
                              "it in memory instead (set SERGEN_CACHE to a folder with space to share it)")
            return False
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return True


def _build_into(files: dict[str, Path], shapes: dict[str, tuple], meta: dict, fill: Callable) -> None:
    """Write the bank under ``.partial`` names, renamed when whole. A build that fails (a damaged chunk met by
    ``fill``, an interrupt) removes those partial files before the error goes on: they are sergen's own, and a
    multi-GiB one would otherwise stay in the cache until the next run of the same bank."""
    partial = {k: files[k].with_suffix(".partial.npy") for k in ARRAYS}
    partial_meta = files["meta"].with_suffix(".partial.npz")
    try:
        writer = FileWriter(partial, shapes)
        try:
            fill(writer)
            for fd in writer.fds.values():
                os.fsync(fd)
        finally:
            writer.close()
        for k in ARRAYS:
            os.replace(partial[k], files[k])
        with open(partial_meta, "wb") as fh:
            np.savez(fh, **meta, **bank_digest.record(files["prefix"], meta))
        os.replace(partial_meta, files["meta"])
    except BaseException:
        for path in (*partial.values(), partial_meta):
            if path.is_file() and not path.is_symlink():  # sergen's own file there; never a folder or a link
                path.unlink(missing_ok=True)
        raise


def open_bank(folder: Path, name: str) -> StoreBank:
    """The bank's arrays memory-mapped read-only; nothing is read until a window touches it."""
    files = bank_files(folder, name)
    with np.load(files["meta"]) as meta:
        arrays = bank_digest.split_meta({k: meta[k] for k in meta.files})[0]
    return StoreBank(np.load(files["prefix"], mmap_mode="r"), **arrays)


def cached_banks(folder: Path) -> list[Path]:
    """Complete banks in a cache folder (their meta files)."""
    return sorted(folder.glob("*.meta.npz")) if folder.is_dir() else []


def _remove_older(folder: Path, stem: str, keep: str) -> None:
    """Files of earlier versions of the same store's bank (the store was rebuilt since). A process still
    mapping one keeps reading it: the file lives on until it is unmapped."""
    for path in folder.iterdir():
        rest = path.name[len(stem) + 1:] if path.name.startswith(stem + ".") else ""
        digest = rest.split(".")[0]
        if len(digest) == 16 and all(c in "0123456789abcdef" for c in digest) and not path.name.startswith(keep + "."):
            path.unlink(missing_ok=True)

"""A bank file's digest, recorded when it is built and checked before it is mapped, so a bank whose contents
were changed (zeroed, overwritten, cut short) is rebuilt and never trained on.

Why a stat first (git-index style): hashing a bank on every map would read the whole file in every grid
worker (a 9 GiB bank is ~2 s of CRC-32C at 5 GB/s, and a cold cache turns a lazy map into a full read). The
bank's meta file records the prefix file's size, mtime (ns) and inode with its CRC-32C; a file whose stat
still matches is used at the cost of one ``stat``, and any other is hashed in full and rebuilt unless its
digest matches. Whatever writes into the file (``dd``, a tool, a partial copy) changes its mtime; only a
change that restores the mtime by hand would pass unseen.
"""

from __future__ import annotations

import os
from pathlib import Path

import google_crc32c
import numpy as np

KEYS = ("digest_crc32c", "digest_size", "digest_mtime_ns", "digest_inode", "digest_meta")


def file_stat(path: Path) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns, st.st_ino


def file_crc32c(path: Path, block: int = 1 << 24) -> int:
    """CRC-32C of a whole file, read in 16 MiB blocks (never held whole)."""
    checksum = google_crc32c.Checksum()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            checksum.update(chunk)
    return int.from_bytes(checksum.digest(), "big")


def record(prefix: Path, meta: dict) -> dict[str, np.ndarray]:
    """What the meta file keeps about a finished prefix file, and the digest of its own arrays (the offsets
    and lengths that say where each utterance lies in the prefix table: edited, they would draw other rows)."""
    size, mtime, inode = file_stat(prefix)
    return dict(zip(KEYS, (np.int64(file_crc32c(prefix)), np.int64(size), np.int64(mtime), np.int64(inode),
                           np.int64(arrays_crc32c(meta)))))


def arrays_crc32c(arrays: dict) -> int:
    """CRC-32C over named arrays (names, dtypes, shapes and bytes, in name order)."""
    checksum = google_crc32c.Checksum()
    for name in sorted(arrays):
        value = np.ascontiguousarray(arrays[name])
        checksum.update(f"{name}|{value.dtype.str}|{value.shape}|".encode())
        checksum.update(value.tobytes())
    return int.from_bytes(checksum.digest(), "big")


def split_meta(meta: dict) -> tuple[dict, dict]:
    """(the bank's own arrays, its digest record) of a loaded meta file."""
    return ({k: v for k, v in meta.items() if k not in KEYS}, {k: int(v) for k, v in meta.items() if k in KEYS})


def problem(prefix: Path, meta_file: Path) -> str | None:
    """Why a complete-looking bank must not be used (None when it is sound)."""
    try:
        with np.load(meta_file) as meta:
            own, recorded = split_meta({k: meta[k] for k in meta.files})
    except Exception as exc:  # noqa: BLE001 - a meta file that does not load is a damaged bank
        return f"its meta file cannot be read ({type(exc).__name__})"
    if set(recorded) != set(KEYS):
        return "it carries no digest"
    if arrays_crc32c(own) != recorded["digest_meta"]:
        return "its meta file's contents changed since it was built (digest mismatch)"
    try:
        now = file_stat(prefix)
    except FileNotFoundError:
        return "its prefix file is missing"
    except OSError as exc:
        return f"its prefix file cannot be read ({exc.strerror or type(exc).__name__})"
    if not prefix.is_file():
        return "its prefix path is not a file"
    if now[0] != recorded["digest_size"]:  # before reading the header: a cut or emptied file says so in bytes
        return f"its prefix file has {now[0]} bytes, {recorded['digest_size']} were written"
    try:
        np.load(prefix, mmap_mode="r")  # the header's shape fits the file's size
    except Exception as exc:  # noqa: BLE001 - EOFError, pickle or format errors: all a damaged file
        return f"its prefix file's header cannot be read ({type(exc).__name__})"
    if now == (recorded["digest_size"], recorded["digest_mtime_ns"], recorded["digest_inode"]):
        return None
    if file_crc32c(prefix) != recorded["digest_crc32c"]:
        return "its prefix file's contents changed since it was built (digest mismatch)"
    return None

"""The list of files sergen wrote into a folder that may also hold a user's files (a report's ``--out``,
``results/matrices``), with each file's SHA-256, so sergen replaces only what it wrote *and* what is still as
it wrote it: a file the user edited afterwards (notes added to ``report.md``, a matrix changed by hand) is
theirs now, and is never overwritten or deleted without a word.

Lists written by an older sergen hold names only; their files count as sergen's, unchecked.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

UNCHECKED = None  # a name from a list of an older sergen: no digest to compare with


def file_sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            sha.update(chunk)
    return sha.hexdigest()


def read_listing(listing: Path) -> dict[str, str | None]:
    """name → SHA-256 (or ``UNCHECKED``) of the files the list names; an unreadable list names none, so
    nothing is taken for sergen's."""
    try:
        found = json.loads(listing.read_text(encoding="utf-8")) if listing.is_file() else {}
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    if isinstance(found, list):
        return {n: UNCHECKED for n in found if isinstance(n, str)}
    if isinstance(found, dict):
        return {n: d for n, d in found.items() if isinstance(n, str) and (d is None or isinstance(d, str))}
    return {}


def write_listing(listing: Path, files: dict[str, Path | str | None]) -> None:
    """Record ``files`` (name → the file to digest, or a digest already known), atomically."""
    digests = {name: (file_sha256(f) if isinstance(f, Path) else f) for name, f in sorted(files.items())}
    tmp = listing.with_name(f".{listing.name}.partial")
    tmp.write_text(json.dumps(digests, indent=0), encoding="utf-8")
    os.replace(tmp, listing)


def still_as_written(path: Path, digest: str | None) -> bool:
    """Whether a listed file is as sergen wrote it (a plain file whose bytes have the recorded digest)."""
    if path.is_symlink() or not path.is_file():
        return False
    if digest is UNCHECKED:
        return True
    try:
        return file_sha256(path) == digest
    except OSError:
        return False

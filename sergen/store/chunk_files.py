"""Where a store's chunk files lie on a local disk, and the CRC-32C of each as stored (issue 0: integrity).

One place for both the digests (``store.digests``: the chunk-size ledger, the column digests' file CRCs recorded
when a store is completed) and the record (``store.record``: whether a column digest was edited), which the
digests also read: kept apart from both so neither imports the other for them.
"""

from __future__ import annotations

from pathlib import Path

import google_crc32c
import numpy as np
import zarr


def local_base(group: zarr.Group) -> str | None:
    """The folder of a store on a local disk, or None for a remote one (its chunk files are not files here)."""
    from sergen.store.location import is_remote

    base = str(group.store_path.store.root) if hasattr(group.store_path.store, "root") else None
    return None if base is None or is_remote(base) else base


def chunk_key(array: zarr.Array, chunk: int) -> str:
    """The store key of row chunk ``chunk`` of ``array`` (arrays are chunked along rows only)."""
    key = array.metadata.encode_chunk_key((chunk,) + (0,) * (array.ndim - 1))
    return f"{array.store_path.path.strip('/')}/{key}".lstrip("/")


def chunk_path(base: str, array: zarr.Array, chunk: int) -> Path:
    """The file of row chunk ``chunk`` of ``array`` in the local store at ``base``."""
    return Path(base) / chunk_key(array, chunk)


def chunk_file_crcs(group: zarr.Group, array: zarr.Array) -> np.ndarray | None:
    """CRC-32C of each of ``array``'s row chunk files as stored (-1 for one not stored), or None for a store not on
    a local disk. Of the bytes before the checksum Zarr's crc32c codec appends: the CRC-32C of bytes followed by
    their own CRC-32C is the same constant for any bytes."""
    base = local_base(group)
    if base is None:
        return None
    tail = 4 if any(type(c).__name__ == "Crc32cCodec" for c in array.metadata.codecs) else 0
    crcs = np.full(array.cdata_shape[0], -1, dtype=np.int64)
    for chunk in range(len(crcs)):
        try:
            data = chunk_path(base, array, chunk).read_bytes()
        except OSError:
            continue
        crcs[chunk] = google_crc32c.value(data[:len(data) - tail] if len(data) >= tail else data)
    return crcs


def files_changed(group: zarr.Group, recorded: str, array: str) -> bool:
    """Whether the chunk files of ``array`` are not those whose CRC-32C the ledger array ``recorded`` holds (written
    when the store was completed): a digest array edited since, told from the data it digests. False where nothing
    was recorded (a store made before this record, or not on a local disk) or it cannot be read."""
    try:
        want = group[recorded][:]
        now = chunk_file_crcs(group, group[array])
    except Exception:  # noqa: BLE001 - absent or unreadable: nothing to tell the digest's edit by
        return False
    return now is not None and (now.shape != want.shape or bool((now != want).any()))

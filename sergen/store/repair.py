"""``sergen stores verify MODEL CORPUS --repair``: drop exactly the chunk files whose bytes fail their own
checksum, mark the utterances they held (and those whose frame or summary digests no longer match) pending,
so that ``sergen extract`` rewrites exactly them.

Why here and not in ``extract``: a chunk whose bytes changed at the same size keeps its size and header, so
only reading every byte of every chunk shows it. ``stores verify`` reads them anyway; ``extract`` over a
complete store reads only the listing and the recorded chunk sizes (a whole read would cost minutes on a
40 GiB store at every rerun of ``make extract``). The repair is the verify that found the damage, then the
ordinary resume of ``extract``, which the kill-safety tests already hold to "equal to an uninterrupted run".

Order, for crash safety: chunk files are removed first, then utterances marked pending. Killed in between,
the store is a complete store that lost chunk files, which ``extract`` already repairs (``chunk_damage``).
The other way round, ``extract`` would merge new rows into a chunk that does not decode."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import zarr
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync

from sergen.errors import SergenError
from sergen.store.chunk_files import chunk_key
from sergen.store.digests import BLOSC_ARRAYS, crc32c, plain_file_inside
from sergen.store.layout import FAILED

CHECKSUM_BYTES = 4  # Zarr's crc32c codec appends the CRC-32C of the chunk's bytes as a little-endian uint32


def _has_checksum(array: zarr.Array) -> bool:
    return any(type(c).__name__ == "Crc32cCodec" for c in array.metadata.codecs)


def checksum_failures(group: zarr.Group, present: set[str],
                      skip: set[str] = frozenset()) -> dict[str, list[tuple[int, str]]]:
    """{array: [(chunk row index, key), …]} of the stored ``frames``/``mean``/``std`` chunk files whose bytes
    fail the CRC-32C stored at their end: bytes changed since sergen wrote them, at any size. Read raw (no
    decompression: a damaged Blosc stream is never handed to c-blosc). ``skip``: keys already named (cut)."""
    store, found = group.store_path.store, {}
    for name in BLOSC_ARRAYS:
        try:
            array = group[name]
        except KeyError:
            continue
        if not _has_checksum(array) or array.size == 0:
            continue
        for chunk in range(array.cdata_shape[0]):
            key = chunk_key(array, chunk)
            if key not in present or key in skip:
                continue
            buffer = sync(store.get(key, prototype=default_buffer_prototype()))
            if buffer is None:
                continue
            data = buffer.as_numpy_array().view(np.uint8)
            if len(data) < CHECKSUM_BYTES or crc32c(data[:-CHECKSUM_BYTES]) != int.from_bytes(
                    data[-CHECKSUM_BYTES:].tobytes(), "little"):
                found.setdefault(name, []).append((chunk, key))
    return found


def chunk_owners(group: zarr.Group, name: str, chunk: int, offsets: np.ndarray, status: np.ndarray) -> np.ndarray:
    """Utterances (not failed) whose frames (``frames``) or rows (``mean``/``std``) a chunk of ``name`` holds."""
    array = group[name]
    start, stop = chunk * array.chunks[0], min((chunk + 1) * array.chunks[0], array.shape[0])
    if name == "frames":
        first = np.searchsorted(offsets, start, side="right") - 1
        last = np.searchsorted(offsets, stop, side="left")
        owners = np.arange(max(first, 0), min(last, len(offsets) - 1))
    else:
        owners = np.arange(start, stop)
    return owners[status[owners] != FAILED]


@dataclass
class RepairPlan:
    """What a repair drops and rewrites: chunk files sergen wrote whose bytes are damaged, and utterances."""

    drop: list[tuple[str, int, str]] = field(default_factory=list)  # (array, chunk index, key)
    utts: set[int] = field(default_factory=set)

    def add_chunk(self, name: str, chunk: int, key: str, owners: np.ndarray) -> None:
        if (name, chunk, key) not in self.drop:
            self.drop.append((name, chunk, key))
        self.utts.update(int(i) for i in owners)

    def add_utts(self, owners) -> None:
        self.utts.update(int(i) for i in owners)

    def __bool__(self) -> bool:
        return bool(self.drop or self.utts)


def own_chunk_file(group: zarr.Group, name: str, chunk: int, key: str) -> Path | None:
    """The file of chunk ``chunk`` of sergen's array ``name`` in this local store, or None where ``key`` is
    not exactly that chunk's key, or the file is a link, not a plain file, or lies outside the store folder:
    a repair deletes only files sergen wrote, never one a link or an odd key would point it to."""
    base = getattr(group.store_path.store, "root", None)
    if base is None or name not in BLOSC_ARRAYS or key != chunk_key(group[name], chunk):
        return None
    path = Path(str(base)) / key
    return path if plain_file_inside(path, Path(str(base)) / group.store_path.path.strip("/")) else None


def apply_repair(group: zarr.Group, plan: RepairPlan, where: str) -> None:
    """Remove the plan's chunk files, then mark its utterances pending (see the module docstring for why in
    this order). Every file is checked to be sergen's before any is removed."""
    from sergen.store.writer import StoreWriter

    files = []
    for name, chunk, key in plan.drop:
        path = own_chunk_file(group, name, chunk, key)
        if path is None:
            raise SergenError(f"{key} is not a chunk file sergen wrote (a link, a folder, or outside the store), "
                              "so the repair leaves it alone and changes nothing", where=where,
                              fix="move it out of the store by hand, then rerun the repair")
        files.append(path)
    for path in files:
        path.unlink()
    if plan.utts:
        StoreWriter(group).mark_pending(np.array(sorted(plan.utts), np.int64))

"""Creating a store and writing it utterance window by utterance window, crash-safely.

Why this is safe to kill at any moment: zarr's local store replaces each chunk file atomically
(write to a temporary file, then rename), a single writer holds the store's lock, and an utterance's
``status`` is set only after its frames and statistics are written. A rerun recomputes exactly the
utterances not marked written; extraction is deterministic per utterance, so the result equals an
uninterrupted run. The store is marked complete last.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import zarr
import zarr.api.asynchronous
from zarr.core.sync import sync

from sergen.audio_digest import GROUP as AUDIO_GROUP, audio_array_specs
from sergen.store import layout, record
from sergen.store.digests import (DIGEST_ARRAY, LEDGER, STATS_ARRAY, checked_codecs, column_digest_specs,
                                  digest_array_specs, record_chunk_bytes, row_crcs, utterance_crcs)
from sergen.store.frame_chunks import FrameChunks
from sergen.store.half_cast import cast_into
from sergen.store.location import remove
from sergen.store.layout import FAILED, PENDING, META_COLUMNS, NUMERIC_META, frame_chunk_rows, frame_codec

FORMAT_VERSION = 1


def create_store(path: Path, plan: pd.DataFrame, attrs: dict, dim: int, dtype: str = "float16") -> zarr.Group:
    """Lay out an empty store for the utterances of ``plan`` (manifest rows plus ``n_frames``).

    A store whose creation was interrupted (no ``initialised`` flag) is removed and made again."""
    remove(path)
    n_utt = len(plan)
    offsets = np.concatenate([[0], np.cumsum(plan["n_frames"].to_numpy(np.int64))])
    chunk = frame_chunk_rows(dim)
    made = dict(attrs, format=FORMAT_VERSION, dim=dim, dtype=dtype, n_utts=n_utt, n_frames=int(offsets[-1]),
                  chunk_frames=chunk, created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  complete=False, failures={}, initialised=True,
                  digests=["frames", "stats", "audio", record.COLUMNS, record.RECORD])
    return zarr.Group(sync(_lay_out(str(path), store_nodes(plan, offsets, dim, dtype, chunk), made)))


def store_nodes(plan: pd.DataFrame, offsets: np.ndarray, dim: int, dtype: str,
                chunk: int) -> dict[str, dict[str, tuple[dict, np.ndarray | None]]]:
    """Every group of a new store and its arrays: {group path: {name: (``create_array`` keywords, values or
    None)}}: what ``create_store`` lays out. The store then records every array of it (``store.record``), which
    is how ``store.location`` knows a store's own files."""
    columns = column_arrays(plan)
    return {"": store_arrays(offsets, dim, dtype, chunk), "utt": columns, AUDIO_GROUP: audio_array_specs(len(plan)),
            record.COLUMN_DIGESTS: column_digest_specs({name: values for name, (_, values) in columns.items()})}


def store_arrays(offsets: np.ndarray, dim: int, dtype: str, chunk: int) -> dict[str, tuple[dict, np.ndarray | None]]:
    """The top-level arrays of a new store: {name: (``create_array`` keywords, values to write or None)}."""
    n_utt = len(offsets) - 1
    zstd, blosc = checked_codecs(zarr.codecs.ZstdCodec()), checked_codecs(frame_codec())
    stats = dict(shape=(n_utt, dim), chunks=(min(n_utt, 1024), dim), dtype="float32", compressors=blosc,
                 fill_value=0, dimension_names=("utt", "feature"))
    arrays = {"frames": (dict(shape=(int(offsets[-1]), dim), chunks=(chunk, dim), dtype=dtype, compressors=blosc,
                              fill_value=0, dimension_names=("frame", "feature")), None),
              "offsets": (dict(data=offsets, chunks=(len(offsets),), dimension_names=("utt_edge",),
                               compressors=zstd), None),
              "mean": (stats, None), "std": (stats, None),
              "status": (dict(shape=(n_utt,), chunks=(n_utt,), dtype="uint8", fill_value=0, dimension_names=("utt",),
                              compressors=zstd), None)}
    arrays.update({name: (spec, None) for name, spec in digest_array_specs(n_utt).items()})
    return arrays


def column_arrays(plan: pd.DataFrame) -> dict[str, tuple[dict, np.ndarray]]:
    """The per-utterance columns of group ``utt``, copied from the plan (its manifest rows)."""
    n_utt, columns = len(plan), {}
    for col in META_COLUMNS:
        # fillna: a missing value ("" label of a class outside the four, read back as NaN) is "", never "nan"
        columns[col] = (plan[col].fillna("").astype(str).to_numpy() if col in plan
                        else np.full(n_utt, "clean" if col == "view" else ""))
    for col, dt in NUMERIC_META.items():
        columns[col] = plan[col].to_numpy(dt)
    # variable-length UTF-8 strings: the string type that has a Zarr v3 specification
    return {name: (dict(shape=(n_utt,), dtype=str if values.dtype.kind in "OUS" else values.dtype, chunks=(n_utt,),
                        dimension_names=("utt",)), values) for name, values in columns.items()}


async def _lay_out(path: str, nodes: dict[str, dict[str, tuple[dict, np.ndarray | None]]], attrs: dict):
    """Every group and array of a new store created, and the values it starts with written, side by side in one
    call to Zarr's event loop: one call per array cost a store's creation about as much as a small corpus's
    frames (issue 22). The ``sergen`` attributes (``initialised``) are written last, once everything else is:
    a store killed before that is made again. Beside them, the digests of every attribute and array metadata
    (``store.record``): what ``stores verify`` checks the store's record against."""
    root = await zarr.api.asynchronous.open_group(store=path, mode="w", zarr_format=3)
    metadata: dict[str, int] = {}

    async def array(parent, name: str, spec: dict, values: np.ndarray | None) -> None:
        made = await parent.create_array(name, chunk_key_encoding=layout.CHUNK_KEYS, **spec)
        metadata[f"{parent.path}/{name}".strip("/")] = record.metadata_crc(made)
        if values is not None:
            await made.setitem(slice(None), values)

    async def node(name: str, arrays: dict) -> None:
        parent = await root.create_group(name) if name else root
        await _all(array(parent, key, spec, values) for key, (spec, values) in arrays.items())

    await _all(node(name, arrays) for name, arrays in nodes.items())
    written = dict(attrs, **{record.RECORD_ATTR: record.record_digests(attrs),
                             record.ARRAYS_ATTR: dict(sorted(metadata.items()))})
    await root.update_attributes({"sergen": written})
    return root


async def _all(coroutines) -> None:
    """``asyncio.gather``, except that where one fails (a full disk) every other is waited for to its end before
    the first error is raised: nothing writes into the store after ``create_store`` has failed. Not cancelled:
    a cancelled task returns at once while its file write goes on in Zarr's thread (a rerun's removal of the
    folder then raced it). The error itself, not an ``ExceptionGroup``: ``extract`` tells a full disk by its
    ``OSError``."""
    results = await asyncio.gather(*coroutines, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


@dataclass
class Prepared:
    """One window as it will be stored: frames in the store's dtype, per-utterance mean and std, and their
    digests. The parts of a window prepared on several threads join into one (``Prepared.join``)."""

    stored: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    frame_crcs: np.ndarray
    stats_crcs: np.ndarray

    @staticmethod
    def join(parts: list["Prepared"], stored: np.ndarray | None = None) -> "Prepared":
        """``stored``: the block the parts' frames were cast into (``StoreWriter.prepare``'s ``out``), taken
        as it is rather than copied."""
        if len(parts) == 1 and stored is None:
            return parts[0]
        return Prepared(*(stored if f.name == "stored" and stored is not None
                          else np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Prepared)))


def mean_std(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``frames.mean(0), frames.std(0)``, the same values, with the mean computed once (numpy ≥ 2 takes it as
    ``std``'s ``mean``): one pass over an utterance's frames fewer (issue 22)."""
    mean = frames.mean(0, keepdims=True)
    try:
        return mean[0], frames.std(0, mean=mean)
    except TypeError:  # numpy < 2
        return mean[0], frames.std(0)


def put_at(array: zarr.Array, rows: np.ndarray, values: np.ndarray) -> None:
    """``array[rows] = values`` for a one-chunk array: read once, changed, written back once."""
    stored = array[:]
    stored[rows] = values
    array[:] = stored


def _runs(held: list[tuple]) -> list[tuple]:
    """Held windows joined where they are consecutive (one slice write each for mean and std)."""
    runs: list[tuple] = []
    for h in held:
        if runs and runs[-1][0] + len(runs[-1][1]) == h[0]:
            last = runs[-1]
            runs[-1] = (last[0], *(np.concatenate([a, b]) for a, b in zip(last[1:5], h[1:5])), last[5] + h[5])
        else:
            runs.append(h)
    return runs


class StoreWriter:
    """Writes windows of consecutive utterances into an initialised store. ``chunk_threads`` (default: one per
    available core) compress the frames' whole chunks side by side (``FrameChunks``); the bytes stored do not
    depend on it."""

    def __init__(self, group: zarr.Group, chunk_threads: int | None = None):
        from sergen.threads import available_cores

        self.group = group
        self.chunk_threads = available_cores() if chunk_threads is None else chunk_threads
        self._frames: FrameChunks | None = None
        self.offsets = group["offsets"][:]
        self.attrs = dict(group.attrs["sergen"])
        self._handles: dict[tuple[str, bool], zarr.Array | None] = {}
        self._members: dict[str, zarr.Array] | None = None  # the group's arrays, opened at the first lookup
        self._held: list[tuple] = []  # windows whose frames are written, their summaries and status not yet
        self._failures: dict[str, str] | None = None

    @property
    def status(self) -> np.ndarray:
        return self._array("status", every_chunk=False)[:]

    def _array(self, name: str, every_chunk: bool = True) -> zarr.Array | None:
        """``name`` opened once (a lookup reads metadata from disk, and costs more than a small window's
        write); ``None`` for a digest array an older store lacks. ``every_chunk``: store every chunk, all-zero
        ones included (Zarr skips those by default), so that a chunk file that is absent always means a loss,
        which readers detect (``store.verify.chunk_damage``)."""
        key = (name, every_chunk)
        if key not in self._handles:
            if self._members is None:  # opened all at once: a listing reads every member's metadata anyway (issue 22)
                self._members = dict(self.group.arrays())
            array = self._members.get(name)
            self._handles[key] = array.with_config({"write_empty_chunks": True}) if array and every_chunk else array
        return self._handles[key]

    def write_window(self, first: int, frames: list[np.ndarray], codes: list[int]) -> None:
        """Frames (float32 ``[T_i, D]``) of utterances ``first … first+len(frames)-1``, then their status."""
        self.write_prepared(first, self.prepare(first, frames), codes)

    def prepare(self, first: int, frames: list[np.ndarray], out: np.ndarray | None = None) -> "Prepared":
        """What ``write_prepared`` writes, computed from the frames alone: it writes nothing, so any thread
        may compute it while the one writer writes another window. ``out``: the rows of a larger block to cast
        the frames into (a window prepared in parts on several threads, ``WriteBehind``)."""
        last = first + len(frames)
        expected = self.offsets[last] - self.offsets[first]
        got = sum(len(f) for f in frames)
        if got != expected:
            raise RuntimeError(f"window {first}:{last} has {got} frames, the store expects {expected}")
        # each utterance cast straight into the stored block: no float32 copy of the whole window (a large new
        # block costs its page faults as much as the cast itself); through float32 as before, so values match;
        # by torch's kernel where torch is loaded, numpy's bits either way (sergen.store.half_cast)
        stored = (np.empty((expected, frames[0].shape[1] if frames else self.attrs["dim"]), self.attrs["dtype"])
                  if out is None else out)
        starts = np.concatenate([[0], np.cumsum([len(f) for f in frames], dtype=np.int64)])
        for f, at in zip(frames, starts):
            cast_into(stored[at:at + len(f)], f.astype(np.float32, copy=False))
        stats = [mean_std(f) for f in frames]
        mean = np.stack([m for m, _ in stats]).astype(np.float32)
        std = np.stack([s for _, s in stats]).astype(np.float32)
        for i in np.flatnonzero(np.isnan(mean).any(axis=1)):
            # a NaN among its frames (a NaN anywhere makes its column's mean NaN): numpy's cast, numpy's NaN bits
            cast_into(stored[starts[i]:starts[i + 1]], frames[i].astype(np.float32, copy=False), exact=True)
        return Prepared(stored, mean, std, utterance_crcs(stored, self.offsets[first:last + 1] - self.offsets[first]),
                        np.stack([row_crcs(mean), row_crcs(std)], axis=1))

    def write_prepared(self, first: int, prepared: "Prepared", codes: list[int]) -> None:
        """A prepared window's frames, digests and summaries, then its utterances' status: all written now."""
        self.write_frames(first, prepared, codes)
        self.flush()

    def write_frames(self, first: int, prepared: "Prepared", codes: list[int]) -> None:
        """A prepared window's frames, written now; its digests, summaries and status are held until ``flush``.
        Why: each of those small arrays is one chunk rewritten whole, and Zarr spends about as much CPU on a
        small write as on a window's frames; written once per many windows, they cost little (issue 22). A
        status written later than its frames is safe: a kill in between leaves the utterances pending, and
        a rerun computes them again."""
        if self._frames is None:
            self._frames = FrameChunks(self._array("frames"), self.chunk_threads, carry_tail=True)
        self._frames.write(int(self.offsets[first]), prepared.stored)
        self._held.append((first, prepared.mean, prepared.std, prepared.frame_crcs, prepared.stats_crcs, list(codes)))

    def flush(self) -> None:
        """The held windows' digests and summaries, then their status (each array written once), then the
        failures: after this, every utterance whose frames were written is marked. A last chunk held in memory
        (``FrameChunks``' tail) is written first."""
        if self._frames is not None:
            self._frames.settle()
        if not self._held:
            return
        held, self._held = self._held, []
        rows = np.concatenate([np.arange(h[0], h[0] + len(h[1])) for h in held])
        digests = self._array(DIGEST_ARRAY, every_chunk=False)
        if digests is not None:  # a store from before digests: resumed as it was made
            put_at(digests, rows, np.concatenate([h[3] for h in held]))
        for first, mean, std, _, _, _ in _runs(held):
            self._array("mean")[first:first + len(mean)] = mean
            self._array("std")[first:first + len(std)] = std
        stats_digests = self._array(STATS_ARRAY, every_chunk=False)
        if stats_digests is not None:
            put_at(stats_digests, rows, np.concatenate([h[4] for h in held]))
        put_at(self._array("status", every_chunk=False), rows, np.concatenate([h[5] for h in held]).astype(np.uint8))
        if self._failures is not None:
            self.set_failures(self._failures)

    def hold_failures(self, failures: dict[str, str]) -> None:
        """``failures`` recorded at the next ``flush`` (with the status of the utterances they name)."""
        self._failures = dict(failures)

    def mark_pending(self, utts: np.ndarray) -> None:
        """Utterances to write again (their chunk files were lost). The store is marked incomplete first,
        so a crash in between leaves an incomplete store that the next run repairs the same way."""
        self.attrs["complete"] = False
        self.group.attrs["sergen"] = self.attrs
        status = self.group["status"][:]
        status[utts] = PENDING
        self.group["status"][:] = status

    def set_failures(self, failures: dict[str, str]) -> None:
        self.attrs["failures"] = failures
        self.group.attrs["sergen"] = self.attrs

    def mark_complete(self) -> None:
        """Mark the store complete, after its last write: the sizes of its chunk files are recorded first
        (``record_chunk_bytes``), so a file swapped or replaced later is seen."""
        self.flush()  # nothing written and not yet marked (a no-op after WriteBehind's close)
        status = self.status
        if record_chunk_bytes(self.group) and LEDGER not in self.attrs.get("digests", []):
            self.attrs["digests"] = [*self.attrs.get("digests", []), LEDGER]
        self.attrs.update(complete=True, n_failed=int((status == FAILED).sum()),
                          finished=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        self.group.attrs["sergen"] = self.attrs

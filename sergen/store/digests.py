"""What a store holds, checked against what was written: per-utterance frame digests, chunk-file headers,
and the store's identity (model, corpus, dim) against where it sits.

Why each check exists (every one guards a silent-wrong or a crash found by hostile use):

- *Frame digests* (``frame_crc32c``, one CRC-32C per utterance of its float16 frames as written): Zarr's own
  ``crc32c`` codec catches a chunk whose bytes changed, not a whole chunk file swapped for another valid one
  (``frames/c.0.0`` ↔ ``frames/c.1.0``) — that decodes fine and trains on the wrong utterances' frames. The
  digests are checked wherever frames are read in bulk (bank builds, ``stores verify``): CRC-32C runs at
  several GB/s, well above the Blosc decode it follows.
- *Chunk headers*: a Blosc chunk cut short makes c-blosc read past its buffer (a segfault in some runs). Every
  Blosc chunk starts with a 16-byte header that records its compressed size; a file of another size is
  damaged, found before any decompression (one 16-byte read per chunk file).
- *Identity*: a store copied into another model's folder (``cp -a stores/egemaps/emodb.zarr
  stores/melspec/emodb.zarr``) would be trained on and recorded as that model.
"""

from __future__ import annotations

import os
from pathlib import Path

import google_crc32c
import numpy as np
import zarr

from sergen.store import layout
from sergen.store.chunk_files import chunk_file_crcs, chunk_key, files_changed
from sergen.store.chunk_files import chunk_path as _chunk_path
from sergen.store.chunk_files import local_base as _local_base
from sergen.store.location import LEDGER

DIGEST_ARRAY = "frame_crc32c"
NO_DIGEST = -1  # fill value: an utterance not written yet (or a store from before digests)
BLOSC_HEADER = 16
BLOSC_ARRAYS = ("frames", "mean", "std")  # the arrays written with Blosc (the others use zstd, which fails cleanly)


def crc32c(values: np.ndarray) -> int:
    """CRC-32C of an array's bytes (C order), without copying them."""
    values = np.ascontiguousarray(values)
    view = values.view()
    view.flags.writeable = False  # google_crc32c takes read-only buffers only
    return int(google_crc32c.value(view.reshape(-1).view(np.uint8)))


def utterance_crcs(rows: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """CRC-32C of each utterance's rows: utterance i owns ``rows[bounds[i]:bounds[i+1]]``."""
    return np.array([crc32c(rows[a:b]) for a, b in zip(bounds[:-1], bounds[1:])], np.int64)


def digest_array_specs(n_utt: int) -> dict[str, dict]:
    """The frame and summary digest arrays of a new store: {name: ``create_array`` keywords}, so that the
    writer creates them beside the others in one call to Zarr's event loop (``store.writer.create_store``)."""
    rows = max(n_utt, 1)
    zstd = checked_codecs(zarr.codecs.ZstdCodec())
    return {DIGEST_ARRAY: dict(shape=(n_utt,), chunks=(rows,), dtype="int64", fill_value=NO_DIGEST, compressors=zstd,
                               dimension_names=("utt",)),
            STATS_ARRAY: dict(shape=(n_utt, 2), chunks=(rows, 2), dtype="int64", fill_value=NO_DIGEST,
                              compressors=zstd, dimension_names=("utt", "summary"))}


def column_digest_specs(columns: dict[str, np.ndarray]) -> dict[str, tuple[dict, np.ndarray]]:
    """The arrays of group ``utt_crc32c`` of a new store (``store.record``), one per ``utt/`` column with the CRCs
    of its values: {name: (``create_array`` keywords, values)} (``store.writer.create_store``)."""
    from sergen.store.record import column_crcs

    specs = {}
    for name, values in columns.items():
        n = len(values)
        specs[name] = (dict(shape=(n,), chunks=(max(n, 1),), dtype="int64", fill_value=NO_DIGEST,
                            compressors=checked_codecs(zarr.codecs.ZstdCodec()), dimension_names=("utt",)),
                       column_crcs(values))
    return specs


def record_problem(group: zarr.Group, attrs: dict) -> str | None:
    """Why a store's attributes or an array's metadata are not what sergen wrote (missing, edited, or of a type
    it never writes: ``store.record``), or None. Cheap: attributes and metadata only, no chunk read. An array
    whose shape disagrees with the attributes is named as such (``shape_problem``: the more telling words)."""
    from sergen.store.record import attribute_problem, metadata_problem, present_array

    edited = attribute_problem(group, attrs)
    if edited:
        return edited
    frames, offsets = present_array(group, "frames"), present_array(group, "offsets")
    if frames is not None and offsets is not None:
        edited = shape_problem(attrs, frames.shape, offsets.shape[0])
    return edited or metadata_problem(group, attrs, BLOSC_ARRAYS)


def checked_codecs(codec) -> tuple:
    """``codec`` followed by Zarr v3's ``crc32c``: a chunk whose bytes changed or were cut is refused by its
    checksum before it reaches the decompressor."""
    return (codec, zarr.codecs.Crc32cCodec())


STATS_ARRAY = "stats_crc32c"  # per utterance: CRC-32C of its mean row, and of its std row (float32, as stored)


def row_crcs(rows: np.ndarray) -> np.ndarray:
    """CRC-32C of each float32 row (an utterance's mean or std over every stored column)."""
    rows = np.ascontiguousarray(rows, np.float32)
    return np.array([crc32c(row) for row in rows], np.int64)


def put_rows(array: zarr.Array, first: int, rows: np.ndarray) -> None:
    """Digest rows ``first …`` of a digest array (one chunk: read, changed, written back)."""
    stored = array[:]
    stored[first:first + len(rows)] = rows
    array[:] = stored


def write_stats_digests(group: zarr.Group, first: int, mean: np.ndarray, std: np.ndarray,
                        array: zarr.Array | None = None) -> None:
    """``array``: the store's stats digest array, opened once by a writer (a lookup per window costs more
    than the write on a small window)."""
    if array is None:
        if STATS_ARRAY not in group.array_keys():  # a store from before summary digests: resumed as it was made
            return
        array = group[STATS_ARRAY]
    stored = array[:]
    stored[first:first + len(mean)] = np.stack([row_crcs(mean), row_crcs(std)], axis=1)
    array[:] = stored


def summary_mismatches(group: zarr.Group, which: str, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Those of store rows ``rows`` whose ``which`` (``mean`` or ``std``) ``values`` (full rows, as read) differ
    from what was written: a value edited through zarr rewrites the chunk's own checksum, not this digest.
    Checked where the rows are read anyway (the corpus load, the std of mean+std pooling): no second read."""
    if STATS_ARRAY not in group.array_keys():
        return np.zeros(0, np.int64)
    want = group[STATS_ARRAY][:][rows, 0 if which == "mean" else 1]
    return rows[(want != NO_DIGEST) & (want != row_crcs(values))]


def stats_mismatches(group: zarr.Group) -> np.ndarray:
    """Store indices of the utterances whose ``mean`` or ``std`` rows differ from those written."""
    rows = np.arange(group["mean"].shape[0])
    return np.union1d(summary_mismatches(group, "mean", rows, group["mean"][:]),
                      summary_mismatches(group, "std", rows, group["std"][:]))


def has_digests(group: zarr.Group) -> bool:
    return DIGEST_ARRAY in group.array_keys()


def write_digests(group: zarr.Group, first: int, frames: np.ndarray, bounds: np.ndarray,
                  array: zarr.Array | None = None) -> None:
    """Record the digests of utterances ``first …`` from the frames just written (as stored, float16);
    ``array``: the digest array, opened once by a writer."""
    if array is None:
        if not has_digests(group):  # a store from before digests: resumed as it was made
            return
        array = group[DIGEST_ARRAY]
    crcs = utterance_crcs(frames, bounds)
    stored = array[:]
    stored[first:first + len(crcs)] = crcs
    array[:] = stored


def frame_digests_edited(group: zarr.Group) -> bool:
    """Whether a complete store's frame digests (``frame_crc32c``) are not the file recorded when it was completed
    (``record_chunk_bytes``): frames that disagree with them were then not swapped, the digests were edited."""
    if not dict(group.attrs.get("sergen", {})).get("complete"):
        return False
    return files_changed(group, f"{LEDGER}/{DIGEST_ARRAY}", DIGEST_ARRAY)


DIGESTS_EDITED = (f"the frame digest array ({DIGEST_ARRAY}) was edited since the store was completed (its file is "
                  "not the one recorded then), not the frames")
SWAPPED = "a chunk file was swapped, replaced or edited"


def mismatch_cause(group: zarr.Group) -> str:
    """What a frame digest mismatch means in this store: an edited digest array, or changed frames."""
    return DIGESTS_EDITED if frame_digests_edited(group) else SWAPPED


def digest_mismatches(group: zarr.Group, offsets: np.ndarray, lo: int, rows: np.ndarray,
                      digests: np.ndarray | None = None) -> np.ndarray:
    """Store indices of the utterances lying wholly in ``rows`` (frames ``lo …`` of the store, every column)
    whose digest differs from the one recorded. Utterances without a recorded digest are not judged."""
    if digests is None:
        if not has_digests(group):
            return np.zeros(0, np.int64)
        digests = group[DIGEST_ARRAY][:]
    hi = lo + len(rows)
    first = int(np.searchsorted(offsets, lo, side="left"))
    last = int(np.searchsorted(offsets, hi, side="right")) - 1  # utterances [first, last) end at or before hi
    if last <= first:
        return np.zeros(0, np.int64)
    bounds = offsets[first:last + 1] - lo
    found = utterance_crcs(rows, bounds)
    want = digests[first:last]
    return np.flatnonzero((want != NO_DIGEST) & (want != found)) + first


# The ledger (``LEDGER``): one int64 array per Blosc array, the size of each of its chunk files when the store
# was completed. A chunk file swapped with another, or replaced by one of another store, keeps a valid header
# and checksum; its size almost never stays the same, and comparing it costs nothing (the cut check stats
# every file).


def plain_file_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is a plain file (not a link, not a folder) inside ``folder``: one sergen may delete."""
    if path.is_symlink() or not path.is_file():
        return False
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def record_chunk_bytes(group: zarr.Group) -> bool:
    """Write the ledger of chunk-file sizes (local stores; -1 for a chunk not stored). Called when a store is
    marked complete, after its last write; False (nothing written) for a remote store."""
    base = _local_base(group)
    if base is None:
        return False
    ledger = group.require_group(LEDGER)
    for name in BLOSC_ARRAYS:
        array = group[name]
        sizes = np.full(array.cdata_shape[0], -1, dtype=np.int64)
        for chunk in range(len(sizes)):
            try:
                sizes[chunk] = os.path.getsize(_chunk_path(base, array, chunk))
            except OSError:
                pass
        _ledger_array(ledger, name, sizes)
    if has_digests(group):  # its file's CRC-32C: an edited frame digest is then told from the frames
        _ledger_array(ledger, DIGEST_ARRAY, chunk_file_crcs(group, group[DIGEST_ARRAY]))
    from sergen.store.record import COLUMN_DIGESTS

    try:  # their files' CRC-32C: an edited digest is then told from its column (``record.digest_edited``)
        columns = group[COLUMN_DIGESTS]
    except KeyError:  # a store made before column digests
        return True
    if isinstance(columns, zarr.Group):
        kept = ledger.require_group(COLUMN_DIGESTS)
        for name in sorted(columns.array_keys()):
            _ledger_array(kept, name, chunk_file_crcs(group, columns[name]))
    return True


def _ledger_array(parent: zarr.Group, name: str, values: np.ndarray) -> None:
    parent.create_array(name, shape=values.shape, chunks=(max(len(values), 1),), dtype="int64", fill_value=-1,
                        compressors=checked_codecs(zarr.codecs.ZstdCodec()), overwrite=True,
                        chunk_key_encoding=layout.CHUNK_KEYS)[:] = values


def _ledger(group: zarr.Group, name: str, n_chunks: int) -> np.ndarray | None:
    """The recorded chunk sizes of ``name`` where the store is complete and has a ledger that fits, else None
    (a store being written: its chunks change; a missing ledger is ``digest_layout_problem``'s business)."""
    if not dict(group.attrs.get("sergen", {})).get("complete"):
        return None
    try:
        sizes = group[LEDGER][name][:]
    except Exception:  # noqa: BLE001 - absent or unreadable: reported by the layout check
        return None
    return sizes if sizes.shape == (n_chunks,) else None


def ledger_problem(group: zarr.Group) -> str | None:
    """Why a complete store's ledger of chunk-file sizes cannot be used, or None. A ledger that does not decode
    (its chunk corrupted or replaced) or no longer fits its array would otherwise read as "no record", and a
    swapped frames chunk behind it would pass unseen."""
    for name in BLOSC_ARRAYS:
        try:
            n_chunks = group[name].cdata_shape[0]
            sizes = group[LEDGER][name][:]
        except KeyError:
            continue  # an absent array: the layout check names it
        except Exception:  # noqa: BLE001 - whatever the codec raises on a damaged chunk (bytes, not words)
            return (f"its record of chunk-file sizes ({LEDGER}/{name}) cannot be read: its file was corrupted, cut "
                    "short or replaced since the store was completed")
        if sizes.shape != (n_chunks,):
            return (f"its record of chunk-file sizes ({LEDGER}/{name}) holds {sizes.shape[0] if sizes.shape else 0} "
                    f"entries for {n_chunks} chunks")
    return None


def cut_chunks(group: zarr.Group, present: set[str]) -> dict[str, list[tuple[int, str]]]:
    """Blosc chunk files (of ``frames``, ``mean``, ``std``) whose size is not the one their header records:
    {array: [(chunk row index, file key), …]}. Local stores only (a remote one is left to its codec)."""
    return chunk_file_problems(group, present)[0]


def chunk_file_problems(group: zarr.Group, present: set[str]) -> tuple[dict, dict]:
    """(cut, replaced): Blosc chunk files whose size is not the one their header records (cut short), and those
    whose size is not the one recorded when the store was completed (swapped, replaced or rewritten since);
    each {array: [(chunk row index, file key), …]}. Local stores only (a remote one is left to its codec)."""
    root = group.store_path.path.strip("/")
    base = _local_base(group)
    if base is None:
        return {}, {}
    cut: dict[str, list[tuple[int, str]]] = {}
    replaced: dict[str, list[tuple[int, str]]] = {}
    for name in BLOSC_ARRAYS:
        try:
            array = group[name]
        except KeyError:
            continue
        tail = 4 if any(type(c).__name__ == "Crc32cCodec" for c in array.metadata.codecs) else 0
        ledger = _ledger(group, name, array.cdata_shape[0])
        for chunk in range(array.cdata_shape[0]):  # exactly the chunks' own keys: a foreign file is not a chunk
            key = chunk_key(array, chunk)
            if key not in present:
                continue
            path = Path(base) / key
            try:
                size = os.path.getsize(path)
                with open(path, "rb") as fh:
                    header = fh.read(BLOSC_HEADER)
            except OSError:
                continue
            recorded = int.from_bytes(header[12:16], "little") if len(header) == BLOSC_HEADER else -1
            if recorded + tail != size:
                cut.setdefault(name, []).append((chunk, key))
            elif ledger is not None and chunk < len(ledger) and ledger[chunk] != size:
                replaced.setdefault(name, []).append((chunk, key))
    return ({name: sorted(found) for name, found in cut.items()},
            {name: sorted(found) for name, found in replaced.items()})


def identity_problem(attrs: dict, model: str, name: str, frames_shape: tuple, n_offsets: int) -> str | None:
    """Why a store's own record does not fit where it sits or what it holds, or None."""
    return placement_problem(attrs, model, name) or shape_problem(attrs, frames_shape, n_offsets)


def placement_problem(attrs: dict, model: str, name: str) -> str | None:
    """Why a store's record names another model, corpus or view than its place (copied or moved), or None."""
    corpus, _, view = name.partition("@")
    if attrs.get("model") not in (None, model):
        return (f"it records model {attrs.get('model')!r} (dim {attrs.get('dim')}), not {model!r}: a store copied "
                "or moved into another model's folder")
    if attrs.get("corpus") not in (None, corpus):
        return f"it records corpus {attrs.get('corpus')!r}, not {corpus!r}: a store copied or renamed"
    if view and attrs.get("view") not in (None, view):
        return f"it records view {attrs.get('view')!r}, not {view!r}: a store copied or renamed"
    return None


def shape_problem(attrs: dict, frames_shape: tuple, n_offsets: int) -> str | None:
    """Why a store's arrays disagree with the shape it records (an edited ``zarr.json``), or None. A count that
    is no count (negative, a string: ``record.count_problem``) is named first, whoever asks (verify, readers)."""
    from sergen.store.record import count_problem

    edited = count_problem(attrs)
    if edited:
        return edited
    dim, n_frames, n_utts = attrs.get("dim"), attrs.get("n_frames"), attrs.get("n_utts")
    if dim is not None and (len(frames_shape) != 2 or frames_shape[1] != dim):
        return f"its frames array has shape {tuple(frames_shape)}, but the store records dim {dim}"
    if n_frames is not None and frames_shape[0] != n_frames:
        return f"its frames array has {frames_shape[0]} rows, but the store records {n_frames} frames"
    if n_utts is not None and n_offsets != n_utts + 1:
        return (f"its offsets array has {n_offsets} entries, but the store records {n_utts} utterances (which "
                f"take {n_utts + 1}: each utterance's first frame, and the end)")
    return None


def edited_utterance_count(group: zarr.Group, attrs: dict) -> str | None:
    """Why ``sergen.n_utts`` is an edit: every per-utterance array the store holds (offsets, status, the digests)
    agrees on another count. Else None (arrays that disagree among themselves are named by the checks that read
    them). Reads array metadata only. Before it, ``n_utts = 1e9`` was named as "its stats_crc32c holds 70
    entries for 1000000000 utterances", as if the array were at fault (hostile pass 37)."""
    n_utts = attrs.get("n_utts")
    if isinstance(n_utts, bool) or not isinstance(n_utts, int):
        return None  # not a count at all: ``record.count_problem`` names it
    held = {}
    try:
        names = set(group.array_keys())
        for name, less in (("offsets", 1), ("status", 0), (STATS_ARRAY, 0), (DIGEST_ARRAY, 0)):
            if name in names and group[name].shape:
                held[name] = group[name].shape[0] - less
    except Exception:  # noqa: BLE001 - unreadable metadata: the checks that read the arrays name it
        return None
    counts = set(held.values())
    if len(held) < 2 or len(counts) != 1 or n_utts in counts:
        return None
    return (f"its attribute sergen.n_utts holds {n_utts:,}, but its arrays ({', '.join(held)}) all hold "
            f"{counts.pop():,} utterances (zarr.json was edited)")


def digest_layout_problem(group: zarr.Group, attrs: dict, record_checked: bool = False) -> str | None:
    """Why the digests a store was made with (``attrs["digests"]``) are missing or do not fit its utterances, or
    its record (attributes, array metadata: ``store.record``) was edited, or None. Without this, deleting
    ``frame_crc32c`` or ``audio/`` would silently turn the store into one from before digests, whose swapped
    chunks and edited audio go unseen. ``record_checked``: the caller found the record intact already
    (``record_problem``), so its attributes and every array's metadata are not read again."""
    from sergen.audio_digest import GROUP as AUDIO, has_audio_digests
    from sergen.store.record import attribute_problem, metadata_problem

    edited = None if record_checked else attribute_problem(group, attrs)  # first: a deleted ``digests`` entry
    if edited:  # would switch the checks below off
        return edited
    edited = edited_utterance_count(group, attrs)
    if edited:
        return edited
    made_with, n_utts = attrs.get("digests") or [], attrs.get("n_utts")
    arrays = []
    if "stats" in made_with:
        if STATS_ARRAY not in group.array_keys():
            return f"its summary digests ({STATS_ARRAY}) are missing"
        if n_utts is not None and tuple(group[STATS_ARRAY].shape) != (n_utts, 2):
            return f"its {STATS_ARRAY} holds {group[STATS_ARRAY].shape[0]} entries for {n_utts} utterances"
    if "frames" in made_with:
        if not has_digests(group):
            return f"its frame digests ({DIGEST_ARRAY}) are missing"
        arrays.append((DIGEST_ARRAY, group[DIGEST_ARRAY]))
    if LEDGER in made_with and attrs.get("complete"):
        try:
            missing = [name for name in BLOSC_ARRAYS if name not in group[LEDGER].array_keys()]
        except KeyError:
            missing = list(BLOSC_ARRAYS)
        if missing:
            return f"its record of chunk-file sizes ({LEDGER}/{missing[0]}) is missing"
        unreadable = ledger_problem(group)
        if unreadable:
            return unreadable
    if "audio" in made_with:
        if not has_audio_digests(group):
            return f"its audio digests ({AUDIO}/) are missing"
        for name in ("sha256", "size", "mtime_ns"):
            if name not in group[AUDIO].array_keys():
                return f"its audio digests lack {AUDIO}/{name}"
            arrays.append((f"{AUDIO}/{name}", group[AUDIO][name]))
    for name, array in arrays:
        if n_utts is not None and tuple(array.shape) != (n_utts,):
            return f"its {name} holds {array.shape[0] if array.shape else 0} entries for {n_utts} utterances"
    if "stats" in made_with:
        arrays.append((STATS_ARRAY, group[STATS_ARRAY]))
    for name, array in arrays:  # small (one entry per utterance): read whole, so a flipped byte is seen here
        try:
            array[:]
        except Exception as exc:  # noqa: BLE001 - whatever the codec raises (a checksum that does not match, …)
            return f"its {name} cannot be read ({read_failure(exc)})"
    from sergen.store.record import failures_problem

    failed = failures_problem(group, attrs)  # failures and n_failed against the status array
    if failed:
        return failed
    # last: the checks above name what changed more precisely
    return None if record_checked else metadata_problem(group, attrs, BLOSC_ARRAYS)


def read_failure(exc: Exception) -> str:
    """Why an array's file did not decode, in words: Zarr's checksum message quotes raw bytes, which say
    nothing to a reader; its meaning does."""
    text = (f"{type(exc).__name__}: {exc}".splitlines() or [""])[0]
    if "checksum" in text.lower():
        return "its chunk file fails its checksum: its bytes changed since sergen wrote it"
    return text[:100]


MAX_BOUNDARY_SEARCH_ROWS = 1 << 16  # frames read again to look for moved boundaries; beyond: judged as frames


def moved_boundaries(frames, offsets: np.ndarray, digests: np.ndarray, wrong: np.ndarray) -> list:
    """``[(utterance, written start, written end)]`` when the utterances whose digests fail hold exactly the
    frames written, cut at other places (an edited offsets array); [] when the frames themselves changed.

    Each run of consecutive failing utterances lies between utterances whose digests hold, so its outer edges
    are right; inside it, each utterance's written end is the first row where the CRC-32C of its rows so far
    equals its digest (CRC-32C extended row by row: one pass over the run)."""
    from google_crc32c import extend

    wrong = np.unique(wrong)
    runs = np.split(wrong, np.flatnonzero(np.diff(wrong) != 1) + 1)
    moved = []
    for run in runs:
        lo, hi = int(offsets[run[0]]), int(offsets[run[-1] + 1])
        if hi - lo > MAX_BOUNDARY_SEARCH_ROWS or (digests[run] == NO_DIGEST).any():
            return []
        rows = np.ascontiguousarray(frames[lo:hi])
        start = 0
        for u in run:
            crc, end = 0, None
            for k in range(start, len(rows)):
                crc = extend(crc, rows[k].tobytes())
                if crc == digests[u]:
                    end = k + 1
                    break
            if end is None:
                return []
            if (lo + start, lo + end) != (int(offsets[u]), int(offsets[u + 1])):
                moved.append((int(u), lo + start, lo + end))
            start = end
        if start != len(rows):
            return []
    return moved


def offsets_out_of_shape(offsets: np.ndarray, total: int) -> str | None:
    """Why ``offsets`` cannot cut ``total`` frames into utterances at all (not rising from 0 to the frames' end)."""
    if len(offsets) == 0 or offsets[0] != 0 or np.any(np.diff(offsets) <= 0) or offsets[-1] != total:
        return f"it does not rise from 0 to the {total} frames written"
    return None


def refuse_edited_offsets(path: str, why: str) -> None:
    from sergen.errors import SergenError

    model, name = layout.store_names(path)
    raise SergenError(f"the offsets array of {model}/{name} was edited since sergen wrote it: {why}",
                      where=str(path), fix=f"rebuild the store with {layout.rebuild_command(model, name)}")


def require_offsets_in_shape(path: str) -> None:
    """Refuse a store whose offsets cannot cut its frames (read: the offsets, and the frames' shape only), before
    anything is sized from them: a last edge raised by 10**9 sized a bank file of hundreds of GB."""
    group = zarr.open_group(str(path), mode="r")
    why = offsets_out_of_shape(group["offsets"][:], group["frames"].shape[0])
    if why:
        refuse_edited_offsets(path, why)


class FrameCheck:
    """Checks blocks of a store's frames as a bulk reader (a bank build) reads them: their digests and that
    they are finite, naming the utterances and the way out when not (never a model trained on them)."""

    def __init__(self, path: str):
        self.path = path
        self.group = zarr.open_group(path, mode="r")
        self.offsets = self.group["offsets"][:]
        self.digests = self.group[DIGEST_ARRAY][:] if has_digests(self.group) else None
        broken = offsets_out_of_shape(self.offsets, self.group["frames"].shape[0])
        if broken:  # reading by them would cut frames past the array's end or across utterances
            refuse_edited_offsets(path, broken)

    def non_finite(self, lo: int, rows: np.ndarray) -> None:
        """Refuse rows ``lo …`` holding NaN or Inf (a bank build calls it only when its float64 running sums,
        which any such value makes non-finite, are: a test of one row instead of every value)."""
        from sergen.errors import SergenError

        bad = non_finite_rows(rows)
        if len(bad):
            utts = np.unique(np.searchsorted(self.offsets, bad + lo, side="right") - 1)
            raise SergenError(f"{self._named(utts)} of {self._store()} hold NaN or Inf frames", where=self.path,
                              fix=self._fix(repairable=False))

    def __call__(self, lo: int, rows: np.ndarray) -> None:
        """Refuse rows ``lo …`` (whole utterances, every column) whose digests differ from those written."""
        from sergen.errors import SergenError

        if self.digests is not None:
            wrong = digest_mismatches(self.group, self.offsets, lo, rows, self.digests)
            if len(wrong):
                self.non_finite(lo, rows)  # NaN written into frames: named as such, the more useful answer
                moved = self._moved_edges(wrong)
                if moved:  # the frames are as written, cut at other places: a repair would be refused
                    refuse_edited_offsets(self.path, moved)
                raise SergenError(f"the frames of {self._named(wrong)} of {self._store()} differ from what was "
                                  f"written (digest mismatch: {mismatch_cause(self.group)})",
                                  where=self.path, fix=self._fix())

    def _moved_edges(self, wrong: np.ndarray) -> str | None:
        """Why the utterances ``wrong`` fail their digests when it is the offsets, not the frames, that changed
        (as ``stores verify`` tells them apart), else None: only then is rewriting those utterances the mend.
        Offsets out of shape were refused when the check was made."""
        offsets = self.offsets
        moved = moved_boundaries(self.group["frames"], offsets, self.digests, wrong)
        if not moved:
            return None
        ids = self.group["utt"]["utt_id"][:].tolist()
        u, a, b = moved[0]
        return (f"{len(moved)} utterance(s) no longer start or end where they were written (e.g. {ids[u]}: "
                f"written at frames {a}–{b}, now {int(offsets[u])}–{int(offsets[u + 1])})")

    def _store(self) -> str:
        return "/".join(self.path.rstrip("/").split("/")[-2:]).removesuffix(".zarr")

    def _named(self, utts: np.ndarray) -> str:
        ids = self.group["utt"]["utt_id"][:].tolist()
        names = [ids[i] for i in utts]
        return f"{len(names)} utterance(s) (" + ", ".join(names[:5]) + (" …" if len(names) > 5 else "") + ")"

    def _fix(self, repairable: bool = True) -> str:
        """Digest mismatches: bytes changed since written, which a rewrite restores. NaN the digests agree with:
        the model wrote them, and a rewrite would write them again."""
        from sergen.store.layout import rebuild_command, repair_command

        model, name = self._store().split("/", 1)
        if not repairable:
            return (f"`sergen stores verify {model} {name}` lists every problem; rebuild the store with "
                    f"{rebuild_command(model, name)}")
        return (f"repair it: {repair_command(model, name)} rewrites exactly those utterances (or rebuild the store "
                f"with {rebuild_command(model, name)})")


def drop_cut_chunks(group: zarr.Group, keys: list[str]) -> None:
    """Remove chunk files found cut short (sergen wrote them) before their utterances are rewritten: Zarr
    would otherwise decode them to merge the new rows in. Every file is checked first to be a plain file
    inside the store: a link put in a chunk's place is refused, and nothing is removed."""
    from sergen.errors import SergenError

    base = getattr(group.store_path.store, "root", None)
    if base is None:
        return
    store_dir = Path(str(base)) / group.store_path.path.strip("/")
    paths = [Path(str(base)) / key for key in keys]
    for path in paths:
        if (path.exists() or path.is_symlink()) and not plain_file_inside(path, store_dir):
            raise SergenError(f"{path} stands where a chunk file belongs but is not one sergen wrote (a link, a "
                              "folder, or outside the store): nothing was changed", where=str(store_dir),
                              fix="move it out of the store, then rerun the same command")
    for path in paths:
        path.unlink(missing_ok=True)


def foreign_chunk_slots(group: zarr.Group) -> list[str]:
    """Chunk paths of ``frames``/``mean``/``std`` taken by something sergen cannot write over: a folder, or a
    link to nothing (a link to a file is refused where a chunk would be dropped: ``drop_cut_chunks``)."""
    base = _local_base(group)
    if base is None:
        return []
    taken = []
    for name in BLOSC_ARRAYS:
        try:
            array = group[name]
        except KeyError:
            continue
        for chunk in range(array.cdata_shape[0]):
            key = chunk_key(array, chunk)
            path = Path(base) / key
            if path.is_dir() or (path.is_symlink() and not path.exists()):
                taken.append(key)
    return taken


def refuse_foreign_chunk_slots(group: zarr.Group, where: str) -> None:
    """Stop before anything is written where a chunk file belongs to something else (see above)."""
    from sergen.errors import SergenError

    taken = foreign_chunk_slots(group)
    if taken:
        raise SergenError(f"{taken[0]} stands where a chunk file belongs but is not one sergen wrote (a folder or "
                          f"a broken link{f'; {len(taken)} such paths' if len(taken) > 1 else ''}): nothing was "
                          "changed", where=where, fix="move it out of the store, then rerun the same command")


def non_finite_rows(rows: np.ndarray) -> np.ndarray:
    """Indices of rows holding NaN or Inf. For float16, an integer test of the exponent bits (all ones) on
    the raw bits: numpy's ``isfinite`` on float16 converts every value and was most of a bank build's checks."""
    if rows.dtype == np.float16:
        bits = np.ascontiguousarray(rows).view(np.uint16)
        if not (np.bitwise_and(bits, 0x7C00) == 0x7C00).any():
            return np.zeros(0, np.int64)
    return np.flatnonzero(~np.isfinite(rows).all(axis=1))

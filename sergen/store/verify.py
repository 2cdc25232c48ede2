"""``sergen stores verify``: check a store against its own contract and name the utterances a problem
touches (missing or unreadable chunks, NaN/Inf, bad offsets, unfinished work, a changed manifest).

``chunk_damage`` is the fast part of it (one listing of the store's keys, no chunk read): Zarr returns
the fill value for a chunk file that is gone, so every reader that trains or analyses calls it first
(``require_chunks``) rather than learn from zeros; ``extract`` uses it to repair what was lost."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import zarr
from zarr.core.sync import sync

from sergen.errors import SergenError
from sergen.store.chunk_files import chunk_key
from sergen.store.digests import (DIGEST_ARRAY, NO_DIGEST, STATS_ARRAY, chunk_file_problems,
                                  digest_layout_problem, digest_mismatches, foreign_chunk_slots, has_digests,
                                  mismatch_cause, placement_problem, moved_boundaries, offsets_out_of_shape,
                                  read_failure, record_problem, shape_problem, stats_mismatches)
from sergen.store.drift import describe_audio_drift
from sergen.store.layout import (FAILED, META_COLUMNS, NUMERIC_META, PADDED, PENDING, WRITTEN, extract_command,
                                 rebuild_command, store_names)
from sergen.store.location import (LEDGER, OWN_KEY, WRITE_TEMPORARY, is_remote, is_sergens, leftover_problem,
                                   outside_grid, sergens_nodes)
from sergen.store.record import RECORD, column_edits
from sergen.store.repair import RepairPlan, checksum_failures, chunk_owners

PER_UTTERANCE = ("mean", "std")
"""Arrays with one row per utterance: a lost chunk loses the statistics of the utterances it holds."""
STRUCTURAL = ("offsets", "utt/utt_id", "utt/label", "utt/split")
"""Arrays a store cannot be repaired without: losing one needs a rebuild (``--overwrite``)."""
REQUIRED = ("frames", "offsets", "status", *PER_UTTERANCE, *(f"utt/{col}" for col in (*META_COLUMNS, *NUMERIC_META)))
"""Every array the writer lays out and the readers open: a store without one of them (its folder deleted by
hand) cannot be read or repaired, only rebuilt."""


@dataclass
class VerifyReport:
    path: Path
    problems: list[str] = field(default_factory=list)
    affected: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)  # not problems: what could not be checked, and why
    plan: RepairPlan = field(default_factory=RepairPlan)  # what `stores verify --repair` drops and rewrites
    blocking: list[str] = field(default_factory=list)  # problems a repair cannot fix (a rebuild, or restore)
    beyond_extract: bool = False  # damage that `extract` alone does not see (changed bytes, digest mismatches)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def repairable(self) -> bool:
        """Damage that ``--repair`` then ``extract`` rewrites exactly, and nothing that needs more."""
        return bool(self.plan) and not self.blocking

    @property
    def needs_repair(self) -> bool:
        """Repairable damage that only ``--repair`` prepares (lost or cut chunk files ``extract`` finds itself)."""
        return self.repairable and self.beyond_extract

    def block(self, problem: str) -> None:
        self.problems.append(problem)
        self.blocking.append(problem)


def _owners(offsets: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Utterance indices whose frames overlap rows [start, stop)."""
    first = np.searchsorted(offsets, start, side="right") - 1
    last = np.searchsorted(offsets, stop, side="left")
    return np.arange(max(first, 0), min(last, len(offsets) - 1))


@dataclass
class ChunkDamage:
    """Chunk files a store lacks: what is gone, which utterances it touches, and whether only a rebuild helps."""

    lost: list[tuple[str, np.ndarray]] = field(default_factory=list)  # (what is missing, utterance indices)
    structural: list[str] = field(default_factory=list)  # arrays that need --overwrite (gone, or lost a chunk)
    missing: list[str] = field(default_factory=list)  # those of them gone entirely (their folder deleted)
    unreadable: dict[str, str] = field(default_factory=dict)  # those that are there but cannot be read, and why
    cut: list[str] = field(default_factory=list)  # keys of Blosc chunk files cut short (removed before a rewrite)
    cut_chunks: list[tuple[str, int, str]] = field(default_factory=list)  # the same as (array, chunk index, key)
    resized: dict[int, tuple[str, int, str]] = field(default_factory=dict)  # lost entry → (array, chunk, key) of a
    # file whose size is not the one the ledger recorded (swapped, or the ledger edited: ``ledger_edits``)

    @property
    def problems(self) -> list[str]:
        def what(name: str) -> str:
            if name in self.missing:
                return f"the store's {name} array is missing (its folder was deleted)"
            if name in self.unreadable:
                return f"the store's {name} array cannot be read ({self.unreadable[name]})"
            return f"the store's {name} array lost a chunk"

        return [what(name) for name in self.structural] + [what for what, _ in self.lost]

    def cannot_read(self, name: str, exc: Exception) -> None:
        self.structural.append(name)
        self.unreadable[name] = read_failure(exc)

    @property
    def needs_rebuild(self) -> bool:
        """Only ``extract --overwrite`` helps: an array, or a chunk of a structural one, is gone."""
        return bool(self.structural)

    @property
    def utts(self) -> np.ndarray:
        """Indices of the utterances to rewrite, sorted."""
        if not self.lost:
            return np.zeros(0, np.int64)
        return np.unique(np.concatenate([owners for _, owners in self.lost])).astype(np.int64)

    def __bool__(self) -> bool:
        return bool(self.lost or self.structural)


async def _keys(store, prefix: str) -> set[str]:
    return {key async for key in store.list_prefix(prefix)}


def stored_keys(group: zarr.Group) -> set[str]:
    """Every key under the group, in one listing (a directory walk locally, one LIST on object stores)."""
    root = group.store_path.path.strip("/")
    return sync(_keys(group.store_path.store, f"{root}/" if root else ""))


def foreign_keys(present: set[str], nodes=None) -> tuple[list[str], list[str]]:
    """(Zarr's write temporaries that an interrupted write left, other files that are not the store's own).
    Neither is read as a chunk; the first are removed by ``extract`` (sergen's own writes), the second never.
    ``nodes``: the store's own (groups, arrays) (``location.sergens_nodes``, a local store): a temporary counts
    only where it is Zarr's temporary of one of their files, so a user's ``notes.<32 hex>.partial`` is the
    user's. Without them (a remote store, where nothing is removed), by the file names alone."""
    if nodes is None:
        other = sorted(key for key in present if not OWN_KEY.search(key))
        temporaries = [key for key in other if WRITE_TEMPORARY.search(key)]
        return temporaries, [key for key in other if not WRITE_TEMPORARY.search(key)]
    keys = sorted(present)
    own = {key: is_sergens(key, False, nodes) for key in keys}  # a temporary of an own file counts as own
    return [key for key in keys if own[key] and WRITE_TEMPORARY.search(key)], [key for key in keys if not own[key]]


def own_nodes(path) -> tuple | None:
    """The store's own (groups, arrays) where it is on a local disk (``location.sergens_nodes``), else None."""
    return None if path is None or is_remote(path) else sergens_nodes(Path(str(path)))


def drop_write_temporaries(group: zarr.Group, present: set[str] | None = None) -> int:
    """Remove the plain files Zarr's interrupted atomic writes left in a local store; how many. Only Zarr's
    temporaries of the store's own files (``foreign_keys``): a user's file of that shape stays."""
    base = getattr(group.store_path.store, "root", None)
    if base is None:
        return 0
    temporaries, _ = foreign_keys(stored_keys(group) if present is None else present, own_nodes(base))
    removed = 0
    for key in temporaries:
        path = Path(str(base)) / key
        if path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _missing_rows(array: zarr.Array, present: set[str]) -> list[tuple[int, int, int]]:
    """(chunk, first row, last row + 1) of every chunk of ``array`` (chunked along rows only) not stored."""
    if array.size == 0:
        return []
    rows = array.chunks[0]
    lost = []
    for c in range(array.cdata_shape[0]):
        if chunk_key(array, c) not in present:
            lost.append((c, c * rows, min((c + 1) * rows, array.shape[0])))
    return lost


def missing_arrays(group: zarr.Group, present: set[str]) -> list[str]:
    """The arrays of ``REQUIRED`` whose metadata file is not among the store's keys."""
    root = group.store_path.path.strip("/")
    return [name for name in REQUIRED if f"{root}/{name}/zarr.json".lstrip("/") not in present]


def chunk_damage(group: zarr.Group, present: set[str] | None = None) -> ChunkDamage:
    """Arrays, and chunks of ``frames``, ``mean``/``std``, ``status`` and the structural arrays, that are not
    in the store. A missing array (``frames/`` deleted by hand) is damage too: the store cannot be read.

    Zarr may skip a chunk that holds only the fill value (0): sergen's writer stores every chunk, but stores
    written before it did may lack a frame chunk of failed utterances (stored as zeros) or a ``std`` chunk of
    one-frame utterances (std 0, e.g. CLAP on short audio). Those absences are not losses; any other is."""
    damage = ChunkDamage()
    present = stored_keys(group) if present is None else present
    damage.missing = missing_arrays(group, present)
    damage.structural = list(damage.missing)
    for name in STRUCTURAL:
        if name in damage.missing:
            continue
        try:
            if _missing_rows(group[name], present):
                damage.structural.append(name)
        except Exception as exc:  # noqa: BLE001 - corrupt metadata: whatever Zarr raises, the array is unusable
            damage.cannot_read(name, exc)
    if damage.needs_rebuild:
        return damage  # without these, the owners of a lost chunk cannot even be named
    arrays = {}
    for name in (*STRUCTURAL, "status"):  # small arrays, read whole: a chunk that does not decode is damage too
        try:
            arrays[name] = group[name][:]
        except Exception as exc:  # noqa: BLE001 - a corrupt chunk (bad bytes) is reported, not raised
            damage.cannot_read(name, exc)
    if damage.needs_rebuild:
        return damage
    offsets, status = arrays["offsets"], arrays["status"]
    if _missing_rows(group["status"], present) and dict(group.attrs.get("sergen", {})).get("complete"):
        # a complete store's status is never all "pending": its chunk is gone, and with it what was written
        damage.lost.append(("the status chunk is missing", np.arange(len(status))))
        return damage
    counts = np.diff(offsets)
    # read before any chunk is decoded: a cut Blosc chunk can crash c-blosc
    cut, replaced = chunk_file_problems(group, present)
    # which chunk a key is comes from the finding, never from the key's spelling ("c/3/0" or "c.3.0")
    damage.cut_chunks = [(name, chunk, key) for found in (cut, replaced) for name, keys in found.items()
                         for chunk, key in keys]
    damage.cut = [key for _, _, key in damage.cut_chunks]

    def rows_of(found: dict, name: str) -> list[tuple[int, int, int]]:
        rows, length = group[name].chunks[0], group[name].shape[0]
        return [(c, c * rows, min((c + 1) * rows, length)) for c, _ in found.get(name, [])]

    for how, found in (("is missing", _missing_rows(group["frames"], present)), (CUT, rows_of(cut, "frames")),
                       (REPLACED, rows_of(replaced, "frames"))):
        for c, start, stop in found:
            owners = _owners(offsets, start, stop)
            owners = owners[written(status[owners])]
            if len(owners):
                if how == REPLACED:
                    damage.resized[len(damage.lost)] = ("frames", c, chunk_key(group["frames"], c))
                damage.lost.append((f"frame chunk {c} (frames {start}–{stop}) {how}", owners))
    for name in PER_UTTERANCE:
        for how, found in (("is missing", _missing_rows(group[name], present)), (CUT, rows_of(cut, name)),
                           (REPLACED, rows_of(replaced, name))):
            for c, start, stop in found:
                owners = np.arange(start, stop)
                owners = owners[written(status[owners]) & ((counts[owners] > 1) if name == "std" else True)]
                if len(owners):
                    if how == REPLACED:
                        damage.resized[len(damage.lost)] = (name, c, chunk_key(group[name], c))
                    damage.lost.append((f"{name} chunk {c} (utterances {start}–{stop}) {how}", owners))
    return damage


def written(status: np.ndarray) -> np.ndarray:
    """Which utterances a chunk file is expected to hold: not failed (stored as nothing), and not pending (not
    yet written: an extract stopped by a full disk or a kill left their chunks unwritten, not lost)."""
    return (status != FAILED) & (status != PENDING)


CUT = "is cut short (its size differs from the one its header records)"
REPLACED = ("was swapped, replaced or rewritten since the store was completed (its size differs from the one "
            "recorded then)")


def require_chunks(group: zarr.Group, model: str, corpus: str, where) -> None:
    """Refuse to read a store that lost chunk files, naming the utterances affected and the repair."""
    damage = chunk_damage(group)
    if not damage:
        return
    if damage.needs_rebuild:
        raise SergenError(f"store {model}/{corpus} is damaged: {'; '.join(damage.problems)}",
                          where=str(where),
                          fix=f"rebuild it: {rebuild_command(model, corpus)}")
    ids = group["utt"]["utt_id"][:].tolist()
    names = [ids[i] for i in damage.utts]
    shown = ", ".join(names[:5]) + (f" … ({len(names)} in all)" if len(names) > 5 else "")
    lost = "lost chunk files" if not damage.cut else "has damaged chunk files"
    raise SergenError(
        f"store {model}/{corpus} {lost} ({'; '.join(damage.problems[:3])}"
        + (f" and {len(damage.problems) - 3} more" if len(damage.problems) > 3 else "")
        + f"): {len(names)} utterance(s) "
        + ("would be read as zeros" if not damage.cut else "cannot be read as written") + f": {shown}",
        where=str(where),
        fix=f"rerun {extract_command(model, corpus)} to rewrite them "
            f"(`sergen stores verify {model} {corpus}` lists every problem)")


def unreadable_arrays(group: zarr.Group) -> list[str]:
    """Every array a reader opens whose metadata or (per-utterance columns, read whole) values no longer
    decode: what ``probe`` would refuse, named by ``verify`` too."""
    found = []
    for name in REQUIRED:
        try:
            array = group[name]
            if name.startswith("utt/"):
                array[:]
        except Exception as exc:  # noqa: BLE001 - whatever Zarr or the codec raises: the file is damaged
            found.append(f"its {name} array cannot be read ({read_failure(exc)})")
    return found


STATUS_CODES = (PENDING, WRITTEN, PADDED, FAILED)

STORE_READ_ERRORS = (ValueError, KeyError, RuntimeError, TypeError, AttributeError)
"""What Zarr and its codecs raise on a metadata file (``zarr.json``) or a small array's chunk that was cut
short or corrupted (``JSONDecodeError`` is a ``ValueError``; a checksum that does not match, too; a
``zarr.json`` holding valid JSON of another shape, e.g. ``null``, a ``TypeError`` or ``AttributeError``)."""


def unreadable_store(path, exc: Exception) -> SergenError:
    """The error for a store whose metadata or small arrays no longer decode: only a rebuild restores it."""
    model, name = store_names(path)
    return SergenError(f"store {model}/{name} is damaged: one of its files cannot be read ({read_failure(exc)}): a "
                       "metadata or small-array file was corrupted or cut short since sergen wrote it", where=str(path),
                       fix=f"rebuild it: {rebuild_command(model, name)}")


def verify_store(path: str | Path, manifest_sha256: str | None = None, audio_sha256: str | None = None,
                 manifest=None) -> VerifyReport:
    """``manifest`` (the corpus's current manifest), when given, lets a changed one be described precisely.
    A file that no longer decodes (metadata, digests) is a problem reported, never a traceback."""
    try:
        return _verify_store(path, manifest_sha256, audio_sha256, manifest)
    except SergenError:
        raise
    except STORE_READ_ERRORS as exc:
        report = VerifyReport(path if is_remote(path) else Path(path))
        error = unreadable_store(path, exc)
        report.block(f"{error.what}; {error.fix}")
        return report


def _verify_store(path: str | Path, manifest_sha256: str | None, audio_sha256: str | None,
                  manifest) -> VerifyReport:
    path = path if is_remote(path) else Path(path)
    report = VerifyReport(path)
    leftovers = leftover_problem(path)
    if leftovers:
        model, name = store_names(path)
        report.block(f"not a usable store: {leftovers}; rerun {extract_command(model, name)}, which clears "
                     "the folder and rebuilds it")
        return report
    try:
        group = zarr.open_group(str(path), mode="r")
        attrs = dict(group.attrs["sergen"])
    except Exception as exc:  # noqa: BLE001 - a zarr.json that is not Zarr's, or not sergen's
        model, name = store_names(path)
        report.block(f"not a sergen store ({type(exc).__name__}: {str(exc)[:80]}): move it out of the "
                     f"stores folder, or rebuild it with {rebuild_command(model, name)}")
        return report
    edited = record_problem(group, attrs)  # before anything is read by the metadata and attributes it names
    if edited:
        report.block(f"the store is damaged: {edited}; rebuild it with {rebuild_command(*store_names(path))}")
        return report
    present = stored_keys(group)
    damage = chunk_damage(group, present)
    if damage.needs_rebuild:
        rebuild = rebuild_command(attrs.get("model"), str(attrs.get("corpus"))
                                  + (f"@{attrs['view']}" if attrs.get("view") not in (None, "clean") else ""))
        for problem in damage.problems:
            report.block(f"{problem}: rebuild the store with {rebuild}")
        return report
    for key in foreign_chunk_slots(group):  # a rewrite could not write there: refused before a repair
        report.block(f"{key} stands where a chunk file belongs but is not one sergen wrote (a folder or a broken "
                     "link): move it out of the store, then rerun")
    unreadable = unreadable_arrays(group)
    if unreadable:
        for problem in unreadable:
            report.block(f"{problem}: rebuild the store with {rebuild_command(*store_names(path))}")
        return report
    offsets = group["offsets"][:]
    ids = np.asarray(group["utt"]["utt_id"][:].tolist(), dtype=object)
    frames = group["frames"]
    status = group["status"][:]

    def flag(what: str, utts, repairable: bool = False) -> None:
        names = [ids[i] for i in utts]
        report.affected.update(names)
        shown = ", ".join(names[:5]) + (f" … ({len(names)} in all)" if len(names) > 5 else "")
        problem = f"{what}: {shown}" if names else what
        if repairable:
            report.problems.append(problem)
            report.plan.add_utts(utts)
        else:
            report.block(problem)

    rebuild = rebuild_command(*store_names(path))
    total = attrs.get("n_frames", frames.shape[0])  # a frames shape edited in its metadata: shape_problem below
    if offsets_out_of_shape(offsets, total):
        steps = np.flatnonzero(np.diff(offsets) <= 0)
        at = f", first at {ids[steps[0]]}" if len(steps) and steps[0] < len(ids) else ""
        report.block(f"the offsets array is damaged: it does not rise from 0 to the {total} frames written{at} "
                     f"(edited since sergen wrote it); a repair rewrites utterances, not offsets: rebuild the store "
                     f"with {rebuild}")
        return report
    if len(offsets) - 1 != attrs.get("n_utts") or len(ids) != attrs.get("n_utts"):
        report.block(f"{attrs.get('n_utts')} utterances recorded, {len(ids)} present")
    if not attrs.get("complete"):  # extract finishes it: no obstacle to a repair
        report.problems.append(f"store is not marked complete: {extract_command(*store_names(path))} completes it "
                               "(it writes what is not written yet, then marks the store complete)")
    unknown = np.flatnonzero(~np.isin(status, STATUS_CODES))
    if len(unknown):  # an edited status array: what was written there is unknown, so those are written again
        flag(f"the status array holds codes sergen never writes ({', '.join(map(str, np.unique(status[unknown])))}; "
             f"it writes {', '.join(map(str, STATUS_CODES))})", unknown, repairable=True)
        report.beyond_extract = True
    if (status == PENDING).any():
        flag("not yet written", np.flatnonzero(status == PENDING), repairable=True)
        if attrs.get("complete"):  # a complete store never holds them (an edited status): extract calls it done
            report.beyond_extract = True
    if (status == FAILED).any():
        flag("failed during extraction", np.flatnonzero(status == FAILED), repairable=True)
        if attrs.get("complete"):  # extract calls a complete store done: --repair marks them to rewrite first
            report.beyond_extract = True
    if audio_sha256 and "audio_sha256" in attrs:  # labels and splits may change freely (probe-time protocol)
        if attrs["audio_sha256"] != audio_sha256:
            what = (describe_audio_drift(group, manifest) if manifest is not None
                    else "its utterances, audio paths or lengths differ")
            report.block(f"the manifest no longer lists the audio this store was made from: {what}; "
                                   "rebuild the store with `sergen extract ... --overwrite` (or restore the manifest)")
    elif manifest_sha256 and attrs.get("manifest_sha256") != manifest_sha256:
        report.block("manifest changed since extraction (hash differs); rerun extract with --overwrite")

    ledger_edited = ledger_edits(group, damage, offsets, status)
    for i, (what, owners) in enumerate(damage.lost):
        flag(ledger_edited.get(i, what), owners, repairable=True)  # the mend is the same: extract rewrites them
    for name, chunk, key in damage.cut_chunks:  # cut short or replaced since completion: dropped and rewritten
        report.plan.add_chunk(name, chunk, key, chunk_owners(group, name, chunk, offsets, status))
    corrupt = checksum_failures(group, present, skip=set(damage.cut))
    report.beyond_extract = report.beyond_extract or bool(corrupt)  # an edited status code set it above
    for name, found in corrupt.items():
        for chunk, key in found:
            owners = chunk_owners(group, name, chunk, offsets, status)
            report.plan.add_chunk(name, chunk, key, owners)
            rows = group[name].chunks[0]
            span = (f"frames {chunk * rows}–{min((chunk + 1) * rows, frames.shape[0])}" if name == "frames"
                    else f"utterances {chunk * rows}–{min((chunk + 1) * rows, len(ids))}")
            flag(f"{'frame' if name == 'frames' else name} chunk {chunk} ({span}) fails its checksum (its bytes "
                 "changed since sergen wrote it)", owners, repairable=True)
    model, name = store_names(path)
    rebuild = rebuild_command(model, name)
    moved = placement_problem(attrs, model, name)
    if moved:
        report.block(f"the store does not belong here: {moved}; move it back, or rebuild this one with "
                               f"{rebuild}")
        return report
    damaged = (shape_problem(attrs, frames.shape, len(offsets))
               or digest_layout_problem(group, attrs, record_checked=True))  # record_problem ran above
    if damaged:
        report.block(f"the store is damaged: {damaged}; rebuild it with {rebuild}")
        return report
    for edit in column_edits(group):
        report.block(f"{edit}: rebuild it with {rebuild}" if edit.startswith("its column digest ") else
                     f"{edit}: the utt/ columns are the store's record of what it holds, and the values written "
                     f"are kept nowhere else: rebuild it with {rebuild}")
    # a summary chunk that fails its checksum, or is cut short, is named above and rewritten whole: not decoded here
    summaries_damaged = (corrupt.get("mean") or corrupt.get("std")
                         or any(name in PER_UTTERANCE for name, _, _ in damage.cut_chunks))
    edited = stats_mismatches(group) if not summaries_damaged else []
    if len(edited):
        report.beyond_extract = True
        flag("mean/std summaries differ from what was written (digest mismatch: the arrays were edited)", edited,
             repairable=True)
    stale = audio_problem(group, attrs, model, name, path.parent.parent if isinstance(path, Path)
                          else str(path).rstrip("/").rsplit("/", 2)[0])
    if stale:
        report.block(stale)
    gone = gone_audio(group, attrs, name)
    if gone:
        report.notes.append(gone)
    nodes = own_nodes(path)
    temporaries, foreign = foreign_keys(present, nodes)
    if temporaries:
        report.notes.append(f"{len(temporaries)} temporary file(s) of a write that was interrupted (e.g. "
                            f"{temporaries[0]}): not part of the store; `sergen extract` removes those that are "
                            "plain files (never a link)")
    strays = {key: outside_grid(key, nodes) for key in foreign} if nodes is not None else {}
    for key, stray in strays.items():
        if stray:
            array, grid = stray
            report.notes.append(f"{key} is named like a chunk file of the store's {array} array but lies outside "
                                f"its chunk grid ({' × '.join(map(str, grid))} chunk(s)): sergen never wrote it, so "
                                "it is not read, and a rebuild refuses to delete it; move it out of the store")
    foreign = [key for key in foreign if not strays.get(key)]
    if foreign:
        report.notes.append(f"{len(foreign)} file(s) in the store that sergen did not write (e.g. {foreign[0]}): "
                            "not read, never deleted; move them out of the store")
    if not has_digests(group):
        report.notes.append("made before frame digests: swapped or replaced chunk files cannot be detected "
                            "(`sergen extract ... --overwrite` adds them)")
    elif RECORD not in (attrs.get("digests") or []):
        report.notes.append("made before record digests: an edit to its utt/ columns, attributes or array metadata "
                            "is found only where it breaks a check (`sergen extract ... --overwrite` adds them)")
    digests = group[DIGEST_ARRAY][:] if has_digests(group) else None
    skip = {chunk for name, chunk, _ in damage.cut_chunks if name == "frames"}
    skip |= {chunk for chunk, _ in corrupt.get("frames", [])}  # named above; never handed to the decompressor
    mismatched = []  # (first frame, last frame, utterances) whose digests fail
    for first, last in utterance_blocks(offsets, frames.chunks[0]):
        start, stop = int(offsets[first]), int(offsets[last])
        chunks = range(start // frames.chunks[0], (stop - 1) // frames.chunks[0] + 1) if stop > start else range(0)
        if skip.intersection(chunks):
            continue  # already named as cut short; decoding it could crash c-blosc
        try:
            block = frames[start:stop]
        except Exception as exc:  # noqa: BLE001 - whatever the codec raises (a checksum that does not match, …)
            flag(f"frames {start}–{stop} are unreadable ({exc.__class__.__name__}: {str(exc)[:60]})",
                 np.arange(first, last))  # not a chunk sergen can name: a rebuild
            continue
        bad_rows = np.flatnonzero(~np.isfinite(block).all(axis=1))
        utts = np.unique(np.searchsorted(offsets, bad_rows + start, side="right") - 1)
        if len(bad_rows):
            flag(f"NaN or Inf frames in frames {start}–{stop}", utts)
        if digests is not None:
            wrong = digest_mismatches(group, offsets, start, block, digests)
            wrong = wrong[(status[wrong] != PENDING) & ~np.isin(wrong, utts)]  # NaN ones are named above
            if len(wrong):
                mismatched.append((start, stop, wrong))
    moved = moved_boundaries(frames, offsets, digests, np.concatenate([w for *_, w in mismatched])) \
        if mismatched else []
    if moved:  # the frames are as written, the offsets that cut them are not: rewriting frames cannot fix that
        shown = ", ".join(f"{ids[u]} (written at frames {a}–{b}, now {offsets[u]}–{offsets[u + 1]})"
                          for u, a, b in moved[:3]) + (f" … ({len(moved)} in all)" if len(moved) > 3 else "")
        report.block(f"the offsets array was edited: the frames are as written, but {len(moved)} utterance(s) "
                     f"no longer start or end where they were written: {shown}; a repair rewrites utterances, not "
                     f"offsets: rebuild the store with {rebuild}")
        return report
    cause = mismatch_cause(group) if mismatched else ""
    for start, stop, wrong in mismatched:
        report.beyond_extract = True
        flag(f"frames {start}–{stop} differ from what was written (digest mismatch: "
             f"{cause.replace('a chunk file was', 'a chunk file')})", wrong, repairable=True)
    return report


def ledger_edits(group: zarr.Group, damage: ChunkDamage, offsets: np.ndarray, status: np.ndarray) -> dict[int, str]:
    """{lost entry: words} for the chunk files whose size is not the one the ledger (``chunk_bytes``) recorded at
    completion but whose bytes are what sergen wrote: they decode through their own checksum, and the digests of the
    utterances they hold (frames, or mean/std rows) agree. It is then the ledger entry that was edited, not the file
    swapped. Reads only those chunks (and, for frames, the neighbours their utterances reach into)."""
    from sergen.store.digests import summary_mismatches

    found, digests = {}, None
    for i, (name, chunk, key) in damage.resized.items():
        array = group[name]
        lo, hi = chunk * array.chunks[0], min((chunk + 1) * array.chunks[0], array.shape[0])
        try:
            if name == "frames":
                if digests is None and has_digests(group):  # a digest array that does not decode: named later
                    digests = group[DIGEST_ARRAY][:]
                owners = _owners(offsets, lo, hi)
                if digests is None or not len(owners) or (digests[owners] == NO_DIGEST).any():
                    continue
                first = int(offsets[owners[0]])
                rows = array[first:int(offsets[owners[-1] + 1])]
                intact = not len(digest_mismatches(group, offsets, first, rows, digests))
            else:
                intact = not len(summary_mismatches(group, name, np.arange(lo, hi), array[lo:hi]))
                intact = intact and STATS_ARRAY in group.array_keys()
            recorded = int(group[LEDGER][name][chunk])
        except Exception:  # noqa: BLE001 - a chunk (or a neighbour) that does not decode: the file is damaged
            continue
        if intact:
            found[i] = (f"its record of chunk-file sizes ({LEDGER}/{name}) was edited since the store was completed: "
                        f"it gives {name} chunk {chunk} ({key}) {recorded} bytes, but that file holds what sergen "
                        "wrote (it decodes through its checksum, and the digests of the utterances it holds agree)")
    return found


def audio_problem(group: zarr.Group, attrs: dict, model: str, name: str, stores_root) -> str | None:
    """What ``open_store`` would refuse about the audio behind a store (changed since extraction, or a view
    made from other audio than its clean store), as one line, or None."""
    from sergen.audio_digest import require_same_audio
    from sergen.errors import SergenError

    try:
        require_same_audio(group, attrs, model, name, stores_root)
    except SergenError as exc:
        return f"{exc.what}; {exc.fix}" if getattr(exc, "fix", None) else exc.what
    return None


def gone_audio(group: zarr.Group, attrs: dict, name: str) -> str | None:
    """A note when audio files the store was made from have left the corpus's folder: the store still serves
    probes (they read stores only), but those utterances could not be extracted again."""
    from sergen.audio_digest import audio_root, missing_audio

    root = audio_root(name.partition("@")[0], attrs)
    gone = missing_audio(group, root) if root is not None else []
    if not gone:
        return None
    shown = ", ".join(gone[:3]) + (f" … ({len(gone)} in all)" if len(gone) > 3 else "")
    return (f"{len(gone)} audio file(s) this store was made from are gone from {root}: {shown}; the store still "
            "serves probes (they read stores only), but a rebuild (--overwrite) would fail those utterances: "
            "restore the files, or rebuild the manifest without them")


def utterance_blocks(offsets: np.ndarray, rows: int) -> list[tuple[int, int]]:
    """(first, last) runs of whole consecutive utterances of about ``rows`` frames each (at least one)."""
    blocks, i, n = [], 0, len(offsets) - 1
    while i < n:
        j = int(np.searchsorted(offsets, offsets[i] + rows, side="right")) - 1
        j = min(max(j, i + 1), n)
        blocks.append((i, j))
        i = j
    return blocks

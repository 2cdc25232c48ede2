"""A store's own record, checked against what sergen wrote at creation: its ``sergen`` attributes, each array's
metadata (``<array>/zarr.json``) and the per-utterance columns of ``utt/``.

Why: none of these is covered by a chunk checksum or a frame digest. A deleted ``n_frames`` switched off the
shape check; a deleted ``digests`` made a store read as one from before digests (no frame check at all); an
edited ``utt/label`` or swapped ``utt/utt_id`` values passed ``stores verify``; a codec removed from
``mean/zarr.json`` made ``extract`` "rewrite" chunks that verify then read differently. Each is named here
(what, where) so that every caller (``stores verify``, ``stores ls``, ``extract``, ``open_store``) refuses it with
the rebuild, the only mend: the values that were edited are not kept anywhere else.

What is kept, all written by ``create_store`` (nothing of it changes after creation):

- ``record_crc32c`` (an attribute): {attribute: CRC-32C of its value as JSON}, for the attributes set at
  creation (not ``NOT_DIGESTED``: those a writer changes, checked for their type instead; the shape, checked
  against the arrays);
- ``arrays_crc32c`` (an attribute): {array: CRC-32C of its metadata as its ``zarr.json`` holds it};
- ``utt_crc32c/<column>`` arrays: the CRC-32C of each utterance's value of ``utt/<column>``, so an edit is
  named with its first row.

Stores made before these record none of them (``digests`` lacks ``record``/``utt``): they are checked as
before, plus the attributes every sergen store has carried since the first (``ALWAYS``)."""

from __future__ import annotations

import json
from pathlib import Path

import google_crc32c
import numpy as np
import zarr

RECORD = "record"  # the ``digests`` entry of stores that keep ``record_crc32c`` and ``arrays_crc32c``
RECORD_ATTR, ARRAYS_ATTR = "record_crc32c", "arrays_crc32c"
COLUMNS = "utt"  # the ``digests`` entry of stores that keep ``utt_crc32c``
COLUMN_DIGESTS = "utt_crc32c"
MUTABLE = ("complete", "failures", "digests", "n_failed", "finished", RECORD_ATTR, ARRAYS_ATTR)
"""Attributes a writer changes after creation (completeness, failures, the digests made): not digested."""
NOT_DIGESTED = (*MUTABLE, "dim", "n_utts", "n_frames", "created")
"""Not digested either: the shape a store records, checked against its arrays' shapes instead
(``digests.shape_problem``), and its creation time, which only keys caches (a new one rebuilds a bank)."""
ALWAYS = ("format", "dim", "dtype", "n_utts", "n_frames", "chunk_frames", "created", "initialised")
"""Attributes every store sergen made carries (``create_store`` has written them since its first layout): a store
without one was edited. Those the extractor gives (model, corpus, rates, settings, weights) are in the record's
digests of stores made since them."""
LEAST = {"dim": 1, "n_utts": 0, "n_frames": 0, "chunk_frames": 1}
"""The least value ``create_store`` writes for each count it records."""
DIGEST_KINDS = {"frame_crc32c": "frames", "stats_crc32c": "stats", "audio": "audio", COLUMN_DIGESTS: COLUMNS}
"""The ``digests`` entry each digest node implies: a node present whose entry is gone means an edited record."""


def _plain(value):
    """numpy scalars and arrays as the JSON values Zarr writes for them."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


def value_crc(value) -> int:
    """CRC-32C of a value as canonical JSON (sorted keys): what it reads back as from ``zarr.json``."""
    text = json.dumps(json.loads(json.dumps(value, default=_plain)), sort_keys=True)
    return int(google_crc32c.value(text.encode()))


def record_digests(record: dict) -> dict[str, int]:
    """``record_crc32c`` of a new store's attributes, and under its own name the CRC-32C of those entries: where an
    attribute and its entry disagree, that tells an edited entry from an edited attribute (``_edited_attributes``)."""
    entries = {key: value_crc(value) for key, value in record.items() if key not in NOT_DIGESTED}
    return {**entries, RECORD_ATTR: value_crc(entries)}


def record_self_check_fails(recorded: dict) -> bool:
    """Whether the record's entries are not those written (its own digest, where it keeps one, disagrees)."""
    own = recorded.get(RECORD_ATTR)
    return own is not None and value_crc({k: v for k, v in recorded.items() if k != RECORD_ATTR}) != own


def uninitialised_edit(attrs: dict) -> str | None:
    """Why a store without ``initialised`` is not a creation cut short, or None. ``create_store`` writes the flag
    and the record in one write of the attributes: a record without the flag means it was deleted by hand, and the
    store is named as edited (never silently made again, as a creation cut short is)."""
    if attrs.get("initialised") is True or not isinstance(attrs.get(RECORD_ATTR), dict):
        return None
    if "initialised" not in attrs:
        return "its attribute sergen.initialised is missing (zarr.json was edited)"
    now = json.dumps(attrs["initialised"])[:60]
    return f"its attribute sergen.initialised was edited since sergen wrote it (now {now})"


def metadata_crc(array) -> int:
    """CRC-32C of an array's metadata (shape, dtype, chunks, codecs, fill value, …) as its ``zarr.json`` holds it,
    parsed (keys sorted): what sergen wrote, whichever Zarr version reads it later (Zarr's in-memory form of the
    metadata may gain fields from one version to the next, which would call every store edited). A store that is
    not on a local disk: the metadata as Zarr reads it. ``array``: a Zarr array, or the asynchronous one
    ``create_store`` makes."""
    store_path = array.store_path
    root = getattr(store_path.store, "root", None)
    if root is None:
        return value_crc(array.metadata.to_dict())
    try:
        return value_crc(json.loads((Path(root) / store_path.path / "zarr.json").read_bytes()))
    except (OSError, ValueError):  # gone or cut since it was opened: never equal to a recorded digest
        return -1


def column_crcs(values: np.ndarray) -> np.ndarray:
    """CRC-32C of each value of a ``utt/`` column: strings as UTF-8, numbers as their stored bytes."""
    values = np.asarray(values)
    if values.dtype.kind in "OUST":
        return np.fromiter((google_crc32c.value(str(v).encode()) for v in values), np.int64, len(values))
    rows = np.ascontiguousarray(values).view(np.uint8).reshape(len(values), -1)
    return np.fromiter((google_crc32c.value(row.tobytes()) for row in rows), np.int64, len(values))


def count_problem(attrs: dict) -> str | None:
    """Why a count the store records (``dim``, ``n_utts``, ``n_frames``, ``chunk_frames``, those present) is not
    a whole number sergen could have written, or None. Every check that compares arrays with these counts asks
    this first (``digests.shape_problem``), so an edited count is named as edited, not blamed on the arrays."""
    for key in ("dim", "n_utts", "n_frames", "chunk_frames"):
        if key not in attrs:
            continue
        if isinstance(attrs[key], bool) or not isinstance(attrs[key], int):
            return (f"its attribute sergen.{key} holds {attrs[key]!r}, not the whole number sergen writes "
                    "(zarr.json was edited)")
        if attrs[key] < LEAST[key]:
            return (f"its attribute sergen.{key} holds {attrs[key]}, not a count sergen writes (at least "
                    f"{LEAST[key]}): zarr.json was edited")
    return None


def attribute_problem(group: zarr.Group, attrs: dict) -> str | None:
    """Why a store's ``sergen`` attributes are not what sergen wrote, or None (array metadata: not looked at)."""
    made_with = attrs.get("digests")
    if made_with is not None and not isinstance(made_with, list):
        return f"its attribute sergen.digests holds {made_with!r}, not the list sergen writes (zarr.json was edited)"
    made_with = made_with or []
    for key in ALWAYS:
        if key not in attrs:
            return f"its attribute sergen.{key} is missing (zarr.json was edited)"
    edited = count_problem(attrs)
    if edited:
        return edited
    for key, want in (("complete", bool), ("failures", dict)):
        if key in attrs and not isinstance(attrs[key], want):
            return (f"its attribute sergen.{key} holds {attrs[key]!r}, not the {want.__name__} sergen writes "
                    "(zarr.json was edited)")
    if attrs.get("complete") is True and "finished" not in attrs:
        return "its attribute sergen.finished is missing though it is marked complete (zarr.json was edited)"
    for node, kind in DIGEST_KINDS.items():
        if kind not in made_with and _node(group, node) is not None:
            return (f"its attribute sergen.digests does not list {kind!r}, though its {node} digests are there "
                    "(zarr.json was edited: without the entry they would go unchecked)")
    if RECORD not in made_with and (RECORD_ATTR in attrs or ARRAYS_ATTR in attrs or COLUMNS in made_with):
        return (f"its attribute sergen.digests does not list {RECORD!r}, though its record digests or column "
                "digests (made with it) are there "
                "(zarr.json was edited: without the entry its attributes and arrays would go unchecked)")
    if RECORD in made_with:
        return _edited_attributes(attrs)
    return None


def metadata_problem(group: zarr.Group, attrs: dict, checksummed: tuple[str, ...] = ()) -> str | None:
    """Why an array's metadata (its ``zarr.json``) is not what sergen wrote, or None. ``checksummed``: arrays every
    store made with frame digests wrote with a crc32c codec (what a store without metadata digests is held to)."""
    made_with = attrs.get("digests") if isinstance(attrs.get("digests"), list) else []
    if RECORD in made_with:
        return _edited_metadata(group, attrs)
    if "frames" in made_with:  # made with digests, so with checksums: a codec list without one was edited
        for name in checksummed:
            array = _node(group, name)
            if isinstance(array, zarr.Array) and not any(type(c).__name__ == "Crc32cCodec"
                                                         for c in array.metadata.codecs):
                return (f"the metadata of its {name} array ({name}/zarr.json) was edited: its codecs lack the "
                        "crc32c checksum sergen writes")
    return None


def present_array(group: zarr.Group, name: str) -> zarr.Array | None:
    """The array ``name`` where it is there and its metadata reads, else None."""
    node = _node(group, name)
    return node if isinstance(node, zarr.Array) else None


def _node(group: zarr.Group, name: str):
    """The array or group ``name`` of the store, or None where it is absent or its metadata does not read (the
    chunk checks name that, as a lost or unreadable array)."""
    try:
        return group[name]
    except Exception:  # noqa: BLE001 - KeyError where absent; whatever Zarr raises on a damaged zarr.json
        return None


def _edited_attributes(attrs: dict) -> str | None:
    """Against the digests of attributes written at creation."""
    recorded = attrs.get(RECORD_ATTR)
    for key in (RECORD_ATTR, ARRAYS_ATTR):
        if not isinstance(attrs.get(key), dict):
            return f"its attribute sergen.{key} is missing (zarr.json was edited)"
    record_edited = record_self_check_fails(recorded)
    blamed = (f"its record of attribute digests (sergen.{RECORD_ATTR}) was edited since sergen wrote it (its own "
              "digest no longer matches its entries)")
    for key, crc in recorded.items():
        if key == RECORD_ATTR:
            continue
        if key not in attrs:
            return (f"{blamed}: it holds an entry for sergen.{key}, an attribute the store does not have"
                    if record_edited else f"its attribute sergen.{key} is missing (zarr.json was edited)")
        if value_crc(attrs[key]) != crc:
            return (f"{blamed}: its entry for sergen.{key} no longer matches that attribute" if record_edited else
                    f"its attribute sergen.{key} was edited since sergen wrote it (now {json.dumps(attrs[key])[:60]})")
    unrecorded = sorted(key for key in attrs if key not in recorded and key not in NOT_DIGESTED)
    if unrecorded:  # an entry taken out of the record would leave its attribute unchecked
        return (f"its attribute sergen.{unrecorded[0]} is not in the record sergen made at creation "
                f"({RECORD_ATTR}): " + (f"{blamed}, its entry taken out" if record_edited else "zarr.json was edited"))
    return None  # every entry matches its attribute (its own digest aside): the attributes are as recorded


def _edited_metadata(group: zarr.Group, attrs: dict) -> str | None:
    """Against the digests of array metadata written at creation."""
    arrays = attrs.get(ARRAYS_ATTR)
    if not isinstance(arrays, dict):
        return f"its attribute sergen.{ARRAYS_ATTR} is missing (zarr.json was edited)"
    for name, crc in arrays.items():
        array = _node(group, name)
        if not isinstance(array, zarr.Array):
            continue  # gone or unreadable: the chunk checks name it (its folder deleted, its zarr.json cut)
        if metadata_crc(array) != crc:
            return (f"the metadata of its {name} array ({name}/zarr.json: shape, dtype, chunks or codecs) was edited "
                    "since sergen wrote it")
    from sergen.store.location import LEDGER

    present = sorted(path for path, node in group.members(max_depth=None)
                     if isinstance(node, zarr.Array) and path.split("/")[0] != LEDGER)  # the ledger comes later
    unrecorded = [path for path in present if path not in arrays]
    if unrecorded:  # an entry taken out of the record would leave that array's metadata unchecked
        return (f"its {unrecorded[0]} array is not in the record sergen made at creation ({ARRAYS_ATTR}): "
                "zarr.json was edited, or the array was added since")
    return None


def column_edits(group: zarr.Group, values: dict[str, np.ndarray] | None = None) -> list[str]:
    """One line per ``utt/`` column whose values differ from those written at creation, naming the first row
    that differs; [] for a store made before column digests. ``values``: columns already read (a reader's)."""
    if COLUMNS not in (dict(group.attrs.get("sergen", {})).get("digests") or []):
        return []
    try:
        digests = group[COLUMN_DIGESTS]
    except KeyError:
        return [f"its column digests ({COLUMN_DIGESTS}/) are missing"]
    kept = set(digests.array_keys())
    edits = [f"its column digest {COLUMN_DIGESTS}/{name} is missing" for name in sorted(group["utt"].array_keys())
             if name not in kept]
    ids = None
    present = set(group["utt"].array_keys())
    for name in sorted(kept):
        if name not in present:
            continue  # a column array gone: the chunk checks name it (what it holds cannot be compared)
        try:
            column = values[name] if values is not None and name in values else group["utt"][name][:]
        except Exception:  # noqa: BLE001 - a chunk that fails its checksum or is cut: the chunk checks name it
            continue
        want = digests[name][:]
        if len(column) != len(want):
            edits.append(f"its column digest {COLUMN_DIGESTS}/{name} holds {len(want)} values for the "
                         f"{len(column)} of its utt/{name} column, and its file is not the one recorded when the "
                         "store was completed: the digest was edited, not the column" if digest_edited(group, name) else
                         f"its utt/{name} column holds {len(column)} values, {len(want)} were written")
            continue
        wrong = np.flatnonzero(column_crcs(column) != want)
        if len(wrong):
            if ids is None:
                ids = values["utt_id"] if values is not None and "utt_id" in values else group["utt"]["utt_id"][:]
            row = int(wrong[0])
            where = "" if name == "utt_id" else f"utterance {str(ids[row])!r}, "
            if digest_edited(group, name):
                edits.append(f"its column digest {COLUMN_DIGESTS}/{name} was edited since the store was completed "
                             f"(its file is not the one recorded then), not its utt/{name} column: {len(wrong)} "
                             f"row(s) of the digest disagree with the column, the first at row {row} "
                             f"({where}{name} {_shown(column[row])})")
                continue
            edits.append(f"its utt/{name} column was edited since sergen wrote it: {len(wrong)} row(s) differ, the "
                         f"first at row {row} ({where}{name} now {_shown(column[row])})")
    return edits


def digest_edited(group: zarr.Group, name: str) -> bool:
    """Whether the column digest ``utt_crc32c/<name>`` is not the one the store held when it was completed: the
    CRC-32C of each of its chunk files, recorded then beside the chunk sizes (``digests.record_chunk_bytes``),
    differs. Cheap (one small file read); False where nothing was recorded (a store being written, or completed
    before this record, or not on a local disk)."""
    from sergen.store.chunk_files import files_changed
    from sergen.store.location import LEDGER

    return files_changed(group, f"{LEDGER}/{COLUMN_DIGESTS}/{name}", f"{COLUMN_DIGESTS}/{name}")


def _shown(value) -> str:
    return repr(str(value)) if isinstance(value, str) else f"{value}"


def failures_problem(group: zarr.Group, attrs: dict) -> str | None:
    """Why a complete store's ``failures`` or ``n_failed`` were edited, or None. Neither is in the record (``extract``
    changes them), but in a complete store made since the record, ``failures`` names exactly the utterances its
    ``status`` marks failed (``StoreWriter.flush`` writes both) and ``n_failed`` counts them (``mark_complete``): an
    utterance id added to ``failures`` (one the store does not hold, or holds as written), or ``n_failed`` changed,
    is an edit of the attributes. A failed status that neither names is left to the status checks (an edited
    ``status``: its utterances are rewritten). Reads ``status``, and ``utt/utt_id`` only where ``failures`` names
    some utterance."""
    from sergen.store.layout import FAILED

    if attrs.get("complete") is not True or RECORD not in (attrs.get("digests") or []):
        return None
    n_failed, failures = attrs.get("n_failed"), [str(utt) for utt in (attrs.get("failures") or {})]
    if n_failed is not None and (isinstance(n_failed, bool) or not isinstance(n_failed, int)):
        return (f"its attribute sergen.n_failed holds {n_failed!r}, not the whole number sergen writes (zarr.json was "
                "edited)")
    try:
        failed = group["status"][:] == FAILED
        ids = [str(i) for i in group["utt"]["utt_id"][:]] if failures else []
    except Exception:  # noqa: BLE001 - gone or unreadable: the chunk checks name it
        return None
    position = {utt: i for i, utt in enumerate(ids)}
    for utt in sorted(failures):
        if utt not in position:
            return (f"its attribute sergen.failures names {utt!r}, an utterance the store does not hold: zarr.json "
                    "was edited")
        if not failed[position[utt]]:
            return (f"its attribute sergen.failures names {utt!r} as failed, but the store holds its frames as "
                    "written (its status array): zarr.json was edited")
    if n_failed is not None and n_failed != len(failures):
        return (f"its attribute sergen.n_failed holds {n_failed}, but sergen.failures names {len(failures)} "
                f"utterance(s) and its status array marks {int(failed.sum())} failed: zarr.json was edited")
    return None

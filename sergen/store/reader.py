"""Reading stores lazily: ``open_store`` gives an ``xarray.Dataset`` backed by dask; no frame is read
until asked for. Utterance metadata (small) is loaded eagerly so selections are cheap.

dask and xarray (0.6 s to import) are imported by ``open_store``: extraction reads only a store's
attributes here."""

from __future__ import annotations

import contextlib

import json

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import zarr

from sergen.errors import SergenError
from sergen.store.location import check_readable_root, check_store_slot, glob_names, leftover_problem
from sergen.store.layout import (FAILED, META_COLUMNS, NUMERIC_META, PENDING, extract_command, rebuild_command,
                                 repair_command, store_names, store_path)
from sergen.audio_digest import require_same_audio
from sergen.store.digests import (DIGEST_ARRAY, NO_DIGEST, crc32c, digest_layout_problem, has_digests,
                                   placement_problem, shape_problem)
from sergen.store.record import column_edits
from sergen.store.verify import STORE_READ_ERRORS, require_chunks, unreadable_store

if TYPE_CHECKING:  # ``StoreRef`` in annotations is ``sergen.store.ref``'s, which imports this module, not back
    import dask.array as da
    import xarray as xr


def store_attrs(path: Path) -> dict:
    try:
        group = zarr.open_group(str(path), mode="r")
        return dict(group.attrs.get("sergen", {}))
    except (FileNotFoundError, zarr.errors.GroupNotFoundError):
        return {}
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # a zarr.json not JSON, or not Zarr's (null)
        model, name = store_names(path)
        raise SergenError(f"the store's metadata cannot be read ({type(exc).__name__}: {str(exc)[:80]})",
                          where=str(Path(str(path)) / "zarr.json") if "://" not in str(path) else str(path),
                          fix=f"rebuild the store with {rebuild_command(model, name)}, or move it out of the stores "
                              "folder") from None


def existing_stores(root: str | Path, include_views: bool = False) -> list[tuple[str, str]]:
    """(model, corpus) of every store in the stores folder ``root``; augmented-view stores (``corpus@view``)
    only when asked."""
    check_readable_root(root)
    found = glob_names(root, "*/*.zarr")
    return sorted((model, corpus) for model, corpus in found if include_views or "@" not in corpus)


_listed: dict | None = None  # inside ``views_listed_once``: (model, corpus, root) → its view stores


@contextlib.contextmanager
def views_listed_once():
    """Within it, each corpus's view stores are listed once: a grid's planning asks for them per run and per
    bank, and each listing opens every view store (it was 40 s of a demo grid's serial planning)."""
    global _listed
    outer = _listed
    _listed = {} if outer is None else outer
    try:
        yield
    finally:
        _listed = outer


def view_stores(model: str, corpus: str, root: str | Path) -> list[str]:
    """Names of the augmented-view stores (``<corpus>@<view>``) beside a corpus's clean store in ``root``."""
    key = (model, corpus, str(root))
    if _listed is not None and key in _listed:
        return list(_listed[key])
    found = glob_names(root, f"{model}/{corpus}@*.zarr")
    names = sorted(name for _, name in found if store_attrs(store_path(model, name, root)).get("complete"))
    if _listed is not None:
        _listed[key] = names
    return list(names)


def open_group_checked(store: StoreRef, allow_incomplete: bool = False,
                       check_chunks: bool = True) -> tuple[zarr.Group, dict]:
    """A store's group and attributes, refused when it is missing, incomplete or has lost chunk files
    (which Zarr would silently read as zeros)."""
    model, corpus, root = store.model, store.name, store.root
    check_readable_root(root)
    path = store.path
    check_store_slot(path)
    attrs = store.attrs
    leftovers = leftover_problem(path) if not attrs else None
    if leftovers:
        raise SergenError(f"store {model}/{corpus} is not usable: {leftovers}", where=str(path),
                          fix=f"rerun {extract_command(model, corpus)}, which clears the folder and rebuilds it")
    if not attrs:
        have = ", ".join(f"{m}/{c}" for m, c in existing_stores(root)) or "none"
        where = f"{path} ({store.origin})" if store.origin else str(path)
        raise SergenError(f"no store for model {model!r} and corpus {corpus!r}", where=where,
                          fix=f"run {extract_command(model, corpus)} (stores present: {have})")
    if not attrs.get("complete") and not allow_incomplete:
        raise SergenError(f"store {model}/{corpus} is incomplete (extraction was interrupted or had failures)",
                          where=str(path),
                          fix=f"rerun {extract_command(model, corpus)} to finish it")
    group = zarr.open_group(str(path), mode="r")
    require_identity(group, attrs, model, corpus, path)
    if check_chunks:
        require_chunks(group, model, corpus, path)
        require_same_audio(group, attrs, model, corpus, root)
    return group, attrs


def checked_summaries(path: str, which: str, rows: np.ndarray | None = None) -> np.ndarray:
    """Rows ``rows`` (default: all) of the store's ``mean`` or ``std``, whole rows as float32, checked against
    their digests; a chunk whose bytes fail its checksum is named with the repair, never raised from the codec."""
    array = zarr.open_array(str(path).rstrip("/") + f"/{which}", mode="r")
    try:
        values = array[:] if rows is None else array.get_orthogonal_selection((rows, slice(None)))
    except (RuntimeError, ValueError, OSError) as exc:  # a chunk file whose bytes do not decode
        model, name = str(path).rstrip("/").removesuffix(".zarr").split("/")[-2:]
        raise SergenError(f"the {which} summaries of store {model}/{name} cannot be read ({type(exc).__name__}: "
                          f"{str(exc)[:60]}): a {which} chunk file is damaged", where=str(path),
                          fix=f"repair it: {repair_command(model, name)} rewrites exactly the utterances it holds "
                              f"(or rebuild it with {rebuild_command(model, name)})") from None
    values = np.asarray(values, np.float32)
    require_same_summaries(path, which, np.arange(len(values)) if rows is None else np.asarray(rows), values)
    return values


def require_same_summaries(path: str, which: str, rows: np.ndarray, values: np.ndarray) -> None:
    """Refuse rows of the store at ``path`` whose per-utterance ``mean``/``std`` (``values``, full rows as just
    read) differ from those written: the pooled vectors and the heads' standardisation come from them."""
    from sergen.store.digests import summary_mismatches

    group = zarr.open_group(str(path), mode="r")
    wrong = summary_mismatches(group, which, np.asarray(rows), values)
    if len(wrong):
        model, name = str(path).rstrip("/").removesuffix(".zarr").split("/")[-2:]
        ids = group["utt"]["utt_id"][:].tolist()
        shown = ", ".join(ids[i] for i in wrong[:5]) + (f" … ({len(wrong)} in all)" if len(wrong) > 5 else "")
        raise SergenError(f"the {which} summaries of {len(wrong)} utterance(s) of store {model}/{name} "
                          f"differ from what was written (digest mismatch: the array was edited): {shown}",
                          where=str(path), fix=f"repair it: {repair_command(model, name)} rewrites exactly those "
                                               f"utterances (or rebuild it with {rebuild_command(model, name)})")


def require_identity(group: zarr.Group, attrs: dict, model: str, corpus: str, path) -> None:
    """Refuse a store whose own record names another model or corpus than where it sits (copied or moved),
    or whose arrays or digests disagree with what it records (damaged or edited)."""
    rebuild = rebuild_command(model, corpus)
    moved = placement_problem(attrs, model, corpus)
    if moved:
        raise SergenError(f"store {model}/{corpus} does not belong here: {moved}", where=str(path),
                          fix=f"move it back where it came from, or rebuild this one with {rebuild}")
    try:
        shape, n_offsets = group["frames"].shape, group["offsets"].shape[0]
    except Exception:  # noqa: BLE001 - a missing or unreadable array is require_chunks's to name
        return
    damaged = shape_problem(attrs, shape, n_offsets) or digest_layout_problem(group, attrs)
    if damaged:
        raise SergenError(f"store {model}/{corpus} is damaged: {damaged}", where=str(path),
                          fix=f"rebuild it with {rebuild} (its files were edited or partly deleted)")




def _frame_owner(offsets: np.ndarray, chunks: tuple[int, ...]) -> da.Array:
    """Lazy utterance index of every frame, computed per chunk from the offsets."""
    import dask.array as da

    starts = np.concatenate([[0], np.cumsum(chunks)[:-1]])

    def block(block_id=None):
        i = block_id[0]
        rows = np.arange(starts[i], starts[i] + chunks[i])
        return (np.searchsorted(offsets, rows, side="right") - 1).astype(np.int32)

    return da.map_blocks(block, chunks=(chunks,), dtype=np.int32)


def open_store(store: StoreRef, allow_incomplete: bool = False, include_failed: bool = False,
               check_chunks: bool = True, store_labels: bool = False) -> xr.Dataset:
    """A store as an ``xarray.Dataset``: ``frames (frame, feature)`` with ``frame_utt`` (the utterance
    index of each frame), ``mean``/``std (utt, feature)``, and metadata coordinates on ``utt``.

    Example::

        ds = sergen.open_store("melspec", "ravdess")       # or StoreRef(...).open()
        test = select(ds, split="test", label="ang")
        x = utterance_frames(ds, test.utt_id.values[0])   # numpy [T, D]

    A store that lost chunk files is refused (``check_chunks=False`` opens it anyway, e.g. to inspect it).
    Labels, splits and speakers are the current manifest's (as ``probe`` uses them), with a warning when they
    differ from the copy the store took at extraction (``store_labels=True``: that copy).
    """
    try:
        return _open_store(store, allow_incomplete, include_failed, check_chunks, store_labels)
    except SergenError:
        raise
    except STORE_READ_ERRORS as exc:  # a zarr.json or small array cut short or corrupted: never a traceback
        raise unreadable_store(store.path, exc) from None


def _open_store(store: StoreRef, allow_incomplete: bool, include_failed: bool, check_chunks: bool,
                store_labels: bool) -> xr.Dataset:
    import dask.array as da
    import xarray as xr

    model, corpus = store.model, store.name
    group, attrs = open_group_checked(store, allow_incomplete, check_chunks)

    def read(name: str) -> np.ndarray:
        """A small array read whole; a corrupt chunk (bad bytes) is named, not raised from the codec."""
        try:
            return group[name][:]
        except Exception as exc:  # noqa: BLE001 - whatever the codec raises, the store is damaged
            raise SergenError(f"store {model}/{corpus} is damaged: the store's {name} array cannot be read "
                              f"({type(exc).__name__}: {str(exc)[:80]})", where=str(store.path),
                              fix=f"rebuild it: {rebuild_command(model, corpus)}") from None

    offsets = read("offsets")
    frames = da.from_zarr(group["frames"])
    meta = {col: ("utt", np.asarray(read(f"utt/{col}").tolist(), dtype=object)) for col in META_COLUMNS}
    meta.update({col: ("utt", read(f"utt/{col}")) for col in NUMERIC_META})
    edits = column_edits(group, {col: values for col, (_, values) in meta.items()})  # the values just read
    if edits:
        raise SergenError(f"store {model}/{corpus} is damaged: {edits[0]}", where=str(store.path),
                          fix=f"rebuild it with {rebuild_command(model, corpus)} (the values written are kept "
                              "nowhere else)")
    status = read("status")
    digests = read(DIGEST_ARRAY) if has_digests(group) else np.full(len(status), NO_DIGEST, np.int64)
    ds = xr.Dataset(
        data_vars={
            "frames": (("frame", "feature"), frames),
            "mean": (("utt", "feature"), da.from_zarr(group["mean"])),
            "std": (("utt", "feature"), da.from_zarr(group["std"])),
        },
        coords={
            **meta,
            "status": ("utt", status),
            "start": ("utt", offsets[:-1]),
            "stop": ("utt", offsets[1:]),
            "n_frames": ("utt", np.diff(offsets).astype(np.int64)),
            "frame_utt": ("frame", _frame_owner(offsets, frames.chunks[0])),
            DIGEST_ARRAY: ("utt", digests),  # each utterance's frames as written: ``utterance_frames`` checks them
        },
        # nested records (settings, weights, …) as JSON text: xarray attrs stay flat and netCDF-safe
        attrs={k: json.dumps(v, sort_keys=True) if isinstance(v, dict) else v for k, v in attrs.items()}
        | {"corpus": corpus, "model": model, "store_path": str(store.path)},
    )
    if not store_labels:
        ds = with_manifest_labels(ds, store)
    keep = np.ones(len(status), bool)
    if not include_failed:
        keep &= status != FAILED
    if not allow_incomplete:
        keep &= status != PENDING
    return ds if keep.all() else ds.isel(utt=np.flatnonzero(keep))


def select(ds: xr.Dataset, **criteria) -> xr.Dataset:
    """Utterances whose metadata match, e.g. ``select(ds, split="test", label=["ang", "hap"])``."""
    keep = np.ones(ds.sizes["utt"], bool)
    for col, want in criteria.items():
        if want is None:
            continue
        if col not in ds.coords:
            raise SergenError(f"unknown metadata column {col!r}; known: {', '.join(META_COLUMNS)}")
        values = ds[col].values
        keep &= np.isin(values, [want] if isinstance(want, str) else list(want))
    return ds.isel(utt=np.flatnonzero(keep))


def utterance_frames(ds: xr.Dataset, utt) -> np.ndarray:
    """One utterance's frames (by position in ``ds`` or by utt_id) as float32 ``[T, D]``."""
    if isinstance(utt, str):
        hits = np.flatnonzero(ds["utt_id"].values == utt)
        if not len(hits):
            raise SergenError(f"no utterance {utt!r} in this store")
        utt = int(hits[0])
    start, stop = int(ds["start"].values[utt]), int(ds["stop"].values[utt])
    rows = ds["frames"].data[start:stop].compute()  # as stored (float16): what the digest was made of
    require_frames_as_written(ds, utt, rows)
    return rows.astype(np.float32)


def require_frames_as_written(ds: xr.Dataset, utt: int, rows: np.ndarray) -> None:
    """Refuse an utterance's frames (``rows``, as stored) whose CRC-32C is not the digest written with them: a chunk
    file swapped for another of the same size (its ledger entry set to match) decodes cleanly and would otherwise be
    served as this utterance's frames. Utterances without a digest (not written, or a store from before digests) are
    not judged."""
    if DIGEST_ARRAY not in ds.coords:
        return
    want = int(ds[DIGEST_ARRAY].values[utt])
    if want == NO_DIGEST or crc32c(rows) == want:
        return
    from sergen.store.digests import SWAPPED, mismatch_cause

    model, name, path = ds.attrs.get("model", "?"), ds.attrs.get("corpus", "?"), ds.attrs.get("store_path")
    cause = mismatch_cause(zarr.open_group(path, mode="r")) if path else SWAPPED
    raise SergenError(f"the frames of utterance {ds['utt_id'].values[utt]!r} of store {model}/{name} differ from "
                      f"what was written (digest mismatch: {cause})", where=path,
                      fix=f"repair it: {repair_command(model, name)} rewrites exactly the utterances of that chunk "
                          f"(or rebuild it with {rebuild_command(model, name)})")


PROTOCOL_COLUMNS = ("label", "native_label", "speaker", "split")


def with_manifest_labels(ds: xr.Dataset, store: StoreRef) -> xr.Dataset:
    """``ds`` with the workspace manifest's labels, splits and speakers (joined by utterance id) where a
    manifest applies to the store (``store.manifests``), warning how many changed since extraction (a relabel,
    say)."""
    import warnings

    from sergen.corpora.manifest_table import manifest_table

    name = store.corpus
    if store.manifests is None:
        return ds
    file = Path(store.manifests) / f"{name}.csv"
    if not file.exists():
        return ds
    try:
        table = manifest_table(name, str(file), file.stat().st_mtime_ns).table
    except SergenError:
        return ds  # an unreadable manifest is probe's to report; the store's copy stands
    ids = np.asarray(ds["utt_id"].values, dtype=object)
    known = table.index.get_indexer(ids) >= 0
    changed, coords = np.zeros(len(ids), bool), {}
    for col in PROTOCOL_COLUMNS:
        old = np.asarray(ds[col].values, dtype=object)
        new = np.where(known, table[col].reindex(ids).fillna("").to_numpy(dtype=object), old)
        changed |= new != old
        coords[col] = ("utt", new)
    if not changed.any():
        return ds
    warnings.warn(f"{int(changed.sum())} utterance(s) of {name} were relabelled, moved to another split or given "
                  f"another speaker in the manifest since this store was made: their labels, splits and speakers "
                  f"are the manifest's, as probe uses them (open_store(..., store_labels=True) gives the store's copy)",
                  UserWarning, stacklevel=3)
    return ds.assign_coords(coords)

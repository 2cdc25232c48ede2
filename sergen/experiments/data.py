"""What a probe reads from the stores: the training pool as a FrameBank — rows selected at run time from
one StoreBank per store (clean and every view), nothing copied — and utterance-level vectors of the valid
and test splits. Loaded once per process and reused across a grid's runs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from functools import lru_cache

import numpy as np
import zarr

from sergen import LABELS
from sergen.errors import SergenError
from sergen.experiments import mapped_pages
from sergen.experiments.bank_cache import (bank_in_ram, bank_name, cache_dir, ensure_bank_file, open_bank,
                                           threshold_bytes)
from sergen.store.digests import FrameCheck, require_offsets_in_shape
from sergen.store.layout import rebuild_command, repair_command, store_names
from sergen.experiments.store_index import (index_of, layer_columns, opened, single_layer_error,  # noqa: F401
                                            store_index, store_ref)
from sergen.paths import stores_root_key  # noqa: F401  (where experiments and tests have imported it from)
from sergen.store.reader import checked_summaries
from sergen.store.ref import StoreRef
from sergen.train.framebank import BANK_STEP, FrameBank, StatsSum, StoreBank, units_of
from sergen.train.norms import norm_strategy
from sergen.train.pooling import pooling, uses_squares

LABEL_INDEX = {label: i for i, label in enumerate(LABELS)}


@dataclass(frozen=True)
class CorpusData:
    """A store's utterance-level data; frames stay on disk (``path``) until a bank streams them."""

    corpus: str
    path: str
    columns: slice  # the stored features this probe uses (one layer of a multi-layer store)
    start: np.ndarray
    stop: np.ndarray
    label: np.ndarray  # class index per utterance copy (-1: left out by the protocol)
    split: np.ndarray  # train / valid / test, "" where the protocol uses the utterance nowhere
    utt_id: np.ndarray
    is_clean: np.ndarray
    pooled: np.ndarray  # per-utterance mean of all frames, float32
    speaker: np.ndarray  # "" where the manifest names none
    n_store_frames: int  # frame rows of the whole store
    frame_rate: float
    synthetic: bool


def load_corpus(model: str, corpus: str, stores_root: str | None, layer: str = "-", protocol=None) -> CorpusData:
    """Cached per process, keyed by the store's creation and completion times, so a store rebuilt in
    the same process is read again. With ``protocol`` (a ``CorpusProtocol``) labels and splits are the
    run's protocol's, joined by utterance id; without, the four classes and split the store copied."""
    return corpus_data(store_ref(model, corpus, stores_root, layer), protocol)


def corpus_data(store: StoreRef, protocol=None) -> CorpusData:
    """``load_corpus`` of a store handle (its layer is the handle's)."""
    data = _load_corpus(store, store.version)
    if protocol is None:
        return data
    from sergen.experiments.protocol_join import apply_assignment

    return apply_assignment(data, protocol)


@lru_cache(maxsize=32)
def _load_corpus(store: StoreRef, version: tuple) -> CorpusData:
    ds = opened(store)  # refuses a store that lost chunks; the dataset the store's index read
    path, model, corpus = str(store.path), store.model, store.name
    group = zarr.open_group(path, mode="r")
    means = checked_summaries(path, "mean")  # every row and column: the digests cover whole rows
    start = ds["start"].values.astype(np.int64)
    means = means[np.searchsorted(group["offsets"][:-1], start, side="right") - 1]  # the utterances ds keeps
    columns = layer_columns(store.attrs, store.layer, f"the {model}/{corpus} store")
    return CorpusData(
        corpus=corpus,
        path=path,
        columns=columns,
        start=ds["start"].values.astype(np.int64), stop=ds["stop"].values.astype(np.int64),
        label=np.array([LABEL_INDEX.get(v, -1) for v in ds["label"].values], np.int64),
        split=np.asarray(ds["split"].values, dtype=str), utt_id=np.asarray(ds["utt_id"].values, dtype=str),
        speaker=np.asarray(ds["speaker"].values, dtype=str),
        is_clean=np.asarray(ds["view"].values, dtype=str) == "clean",  # False throughout a view store
        pooled=np.ascontiguousarray(means[:, columns]),
        n_store_frames=int(ds.attrs.get("n_frames", ds["frames"].shape[0])),
        frame_rate=float(ds.attrs["frame_rate"]), synthetic=bool(ds.attrs.get("synthetic", False)),
    )


def _stream_blocks(data, block_frames: int = 1 << 13):
    """Yield (first utterance, last utterance, first frame row, frames, check) blocks of whole consecutive
    utterances (about ``block_frames`` rows each), so a store larger than RAM can feed a bank; each block's
    frame digests are checked, and ``check.non_finite`` names NaN/Inf frames when the caller finds some."""
    frames = zarr.open_array(data.path + "/frames", mode="r")
    check = FrameCheck(data.path)  # digests and finiteness of every utterance read: never a bank of wrong frames
    n, i = len(data.start), 0
    while i < n:
        j = i + 1
        while j < n and data.stop[j] - data.start[i] <= block_frames:
            j += 1
        lo, hi = data.start[i], data.stop[j - 1]
        try:
            rows = frames[lo:hi]
        except (RuntimeError, ValueError, OSError) as exc:  # a chunk file whose bytes do not decode
            model, name = store_names(data.path)
            raise SergenError(f"frames {lo}–{hi} of {data.path} cannot be read ({type(exc).__name__}: {exc}); "
                              "a frame chunk file is corrupt", where=data.path,
                              fix=f"repair it: {repair_command(model, name)} rewrites exactly the utterances it "
                                  f"holds (or rebuild the store with {rebuild_command(model, name)})") from exc
        check(int(lo), rows)
        yield i, j, lo, rows[:, data.columns], check
        i = j


def training_set_bytes(model: str, train: tuple[str, ...], stores_root: str | None, layer: str = "-",
                       pool: str = "mean") -> dict:
    """{bank file name: bytes of it that sampling this training set can touch} for the stores whose banks
    are files (smaller banks are private to each process and left out); mean+std pooling touches each
    store's sums-of-squares file too, as many bytes again."""
    out = {}
    for corpus in train:
        ids, clean = None, store_ref(model, corpus, stores_root, layer)
        for store in (clean, *clean.views()):
            index = index_of(store)
            shapes, _ = bank_layout(index)
            if bank_bytes(shapes) < threshold_bytes():
                continue
            if ids is None:
                ids = np.unique(index_of(clean).utt_id)
            rows = np.isin(index.utt_id, ids) & (index.split == "train")
            width = shapes["prefix"][1]
            touched = int(units_of((index.stop - index.start)[rows]).sum() * 4 * width)
            out[bank_file_of(store)[1]] = touched
            if uses_squares(pool):
                out[bank_file_of(store, squares=True)[1]] = touched
    return out


def bank_layout(data) -> tuple[dict, dict]:
    """Array shapes and index arrays of the bank of a store (every utterance open_store lists)."""
    require_offsets_in_shape(data.path)  # the bank's size comes from them: never from edited ones
    if len(data.start) > 1 and np.any(data.start[1:] < data.stop[:-1]):
        raise SergenError(f"the utterances of {data.path} overlap in its frames array",
                          fix="rebuild the store (`sergen extract ... --overwrite`)")
    length = data.stop - data.start
    units = units_of(length)
    base = np.concatenate([[0], np.cumsum(units)[:-1]]).astype(np.int64)
    width = data.columns.stop - data.columns.start
    return {"prefix": (int(units.sum()) + 1, width)}, {"length": length, "base": base}


def _fill_bank(data, meta: dict, writer, squares: bool = False) -> None:
    """Each utterance's float32 prefix sums (``squares``: of the squared frames) at every BANK_STEP-th frame,
    from the store's frames read block by block (summed in float64 from the float16 frames, so exact to
    float32 rounding)."""
    length, base = meta["length"], meta["base"]
    for first, last, lo, block, check in _stream_blocks(data):
        block = np.asarray(block, np.float64)
        cum = running_sums(block * block if squares else block)
        if not np.isfinite(cum[-1]).all():  # a NaN or Inf frame anywhere makes the last running sum non-finite
            check.non_finite(int(lo), block)
        utts = np.arange(first, last)
        units = units_of(length[utts])
        k = np.arange(int(units.sum())) - np.repeat(np.cumsum(units) - units, units) + 1
        owner = np.repeat(utts, units)
        rel = data.start[owner] - lo
        prefix = (cum[rel + np.minimum(k * BANK_STEP, length[owner])] - cum[rel]).astype(np.float32)
        writer.write("prefix", int(base[first]) + 1, prefix)  # consecutive utterances: consecutive rows


def running_sums(x: np.ndarray) -> np.ndarray:
    """``[0, x0, x0+x1, …]`` along the rows, one row at a time: numpy's and torch's cumsum along axis 0 of a
    C-ordered array walk it column by column (~20 ns a value here, 3.7× slower than this loop over rows).
    Float64 sums of float16 values are exact, so the order is immaterial."""
    out = np.empty((len(x) + 1, x.shape[1]))
    out[0] = 0
    for i in range(len(x)):
        np.add(out[i], x[i], out=out[i + 1])
    return out


def utterance_std(data: CorpusData, rows: np.ndarray) -> np.ndarray:
    """The store's per-utterance std of the given rows (read for them only; a corpus's vectors keep means)."""
    offsets = zarr.open_array(data.path + "/offsets", mode="r")[:]
    in_store = np.searchsorted(offsets[:-1], data.start[rows], side="right") - 1  # the utterance's store row
    full = checked_summaries(data.path, "std", in_store)  # whole rows: their digests
    return np.ascontiguousarray(full[:, data.columns])


def store_bank(model: str, name: str, stores_root: str | None, layer: str = "-", pool: str = "mean") -> StoreBank:
    """The bank of one store (a corpus or a view store): in RAM when small, else built once into the
    bank cache and memory-mapped; cached per process while the store does not change. With mean+std
    pooling the same bank with its sums-of-squares table beside it (built, or mapped, only then)."""
    return bank_of(store_ref(model, name, stores_root, layer), pool)


def bank_of(store: StoreRef, pool: str = "mean") -> StoreBank:
    """``store_bank`` of a store handle, cached per handle and store version."""
    return _store_bank(store, store.version, pool)


def bank_file_name(model: str, name: str, stores_root: str | None, layer: str = "-",
                   squares: bool = False) -> tuple[str, str]:
    return bank_file_of(store_ref(model, name, stores_root, layer), squares)


def bank_file_of(store: StoreRef, squares: bool = False) -> tuple[str, str]:
    """(stem, file stem) of the store's bank file: the name holds the store's version."""
    return bank_name(store.model, store.name, store.layer, store.version, squares)


def prepare_store_bank(model: str, name: str, stores_root: str | None, layer: str = "-", pool: str = "mean") -> int:
    """Make sure the bank file of a large store exists (built now if not) without mapping it, and its
    sums-of-squares file for mean+std pooling; returns their size in bytes (0 for a bank small enough to
    be built in RAM by each process)."""
    return prepare_bank(store_ref(model, name, stores_root, layer), pool)


def prepare_bank(store: StoreRef, pool: str = "mean") -> int:
    """``prepare_store_bank`` of a store handle."""
    data = index_of(store)
    shapes, meta = bank_layout(data)
    size = bank_bytes(shapes)
    if size < threshold_bytes():
        return 0
    total = 0
    for squares in (False, True) if uses_squares(pool) else (False,):
        stem, file = bank_file_of(store, squares)
        if ensure_bank_file(cache_dir(store.root), stem, file, shapes, meta,
                            lambda w, sq=squares: _fill_bank(data, meta, w, sq)):
            total += size
    return total


def bank_bytes(shapes: dict) -> int:
    return shapes["prefix"][0] * shapes["prefix"][1] * 4


@lru_cache(maxsize=32)
def _store_bank(store: StoreRef, version: tuple, pool: str = "mean") -> StoreBank:
    if not uses_squares(pool):
        return _bank_table(store, version)
    sums = _store_bank(store, version, "mean")  # the very bank mean runs share
    return replace(sums, squares=_bank_table(store, version, squares=True).prefix)


def _bank_table(store: StoreRef, version: tuple, squares: bool = False) -> StoreBank:
    """The sums bank, or (``squares``) a bank whose ``prefix`` holds the sums of squares."""
    data = index_of(store)
    shapes, meta = bank_layout(data)
    fill = lambda w: _fill_bank(data, meta, w, squares)  # noqa: E731
    if bank_bytes(shapes) >= threshold_bytes():
        stem, file = bank_name(store.model, store.name, store.layer, version, squares)
        folder = cache_dir(store.root)
        if ensure_bank_file(folder, stem, file, shapes, meta, fill):
            bank = open_bank(folder, file)
            mapped_pages.register(file, bank.prefix)  # unmapped when a grid worker's run ends
            return bank
    return bank_in_ram(shapes, meta, fill)


def training_bank(model: str, train: tuple[str, ...], stores_root: str | None, layer: str = "-",
                  protocols: tuple | None = None, norm: str = "global", pool: str = "mean") -> FrameBank:
    """The training utterances of ``train`` (clean and every augmented view store beside them), as rows
    of those stores' banks; the head's standardisation comes from the clean rows' per-utterance mean and
    std in the stores (pooled, no pass over the frames). ``protocols``: one ``CorpusProtocol`` per
    training corpus (labels and splits of the run); None: the store's own four classes and split.
    ``pool="mean+std"``: with each store's sums of squares, and the std half's statistics (``sergen.train.pooling``)."""
    return training_bank_of(tuple(store_ref(model, corpus, stores_root, layer) for corpus in train), protocols,
                            norm, pool)


def training_bank_of(train: tuple[StoreRef, ...], protocols: tuple | None = None, norm: str = "global",
                     pool: str = "mean") -> FrameBank:
    """``training_bank`` of the training corpora's (clean) store handles; their view stores are listed once."""
    stores = tuple((clean, tuple(clean.views())) for clean in train)
    versions = tuple(s.version for clean, views in stores for s in (clean, *views))
    return _training_bank(stores, versions, protocols, norm, pool)


def training_rows(stores: tuple, protocols: tuple | None = None):
    """(store handle, CorpusData, selected rows, corpus index, utterance ids, is clean) for every store of a
    training set (``stores``: (clean handle, its view handles) per corpus): the train split of each corpus and
    the same utterances in its view stores."""
    out = []
    for k, (clean, views) in enumerate(stores):
        protocol = protocols[k] if protocols else None
        data = corpus_data(clean, protocol)
        ids = np.unique(data.utt_id)
        if not ((data.split == "train") & (data.label >= 0)).any():
            raise SergenError(f"{clean.name} has no training utterances in the {clean.model} store under this run's "
                              "protocol")
        for store in (clean, *views):
            part = data if store == clean else corpus_data(store, protocol)
            rows = np.flatnonzero(np.isin(part.utt_id, ids) & (part.split == "train") & (part.label >= 0))
            out.append((store, part, rows, k, ids, store == clean))
    return out


@lru_cache(maxsize=8)
def _training_bank(stores: tuple, versions: tuple, protocols: tuple | None = None, norm: str = "global",
                   pool: str = "mean") -> FrameBank:
    """``stores``: (clean handle, its view handles) per training corpus, listed once by ``training_bank_of``."""
    banks, index, utts, labels, corpora, keys, clean = [], [], [], [], [], [], []
    stats, groups = [], []
    strategy = norm_strategy(norm)
    summed, keep_pieces = StatsSum(), strategy.grouped or uses_squares(pool)
    for store, part, rows, k, ids, is_clean in training_rows(stores, protocols):
        index.append(np.full(len(rows), len(banks)))
        banks.append(bank_of(store, pool))
        utts.append(rows)
        labels.append(part.label[rows])
        corpora.append(np.full(len(rows), k))
        keys.append(np.searchsorted(ids, part.utt_id[rows]) + 10_000_000 * k)
        clean.append(np.full(len(rows), is_clean))
        if strategy.grouped:
            groups.append(strategy.keys(stores[k][0].name, part.speaker[rows]))
        if is_clean:  # summed store by store; kept whole only where a grouped norm or the std half reads them
            piece = (part.pooled[rows], utterance_std(part, rows), part.stop[rows] - part.start[rows])
            summed.add(*piece)
            if keep_pieces:
                stats.append(piece)
            del piece
    mean, std = summed.result()
    means = stds = lengths = None
    if keep_pieces:
        means, stds, lengths = (np.concatenate(s) for s in zip(*stats))
        stats.clear()  # the per-store pieces: held beside their concatenation, they doubled its memory
    cat = lambda parts, dtype: np.concatenate(parts).astype(dtype)  # noqa: E731
    grouping, utt_stds = {}, lambda: stds
    if strategy.grouped:  # each window by its group's map (``sergen.train.norms``), fitted on the clean rows
        entry_groups = np.concatenate(groups).astype(str)
        clean_entries = cat(clean, bool)
        mapping = strategy.fit(entry_groups[clean_entries], means, stds, lengths)
        group = np.searchsorted(mapping.names, entry_groups)
        mean, std = mapping.head_statistics(mean, std)
        utt_stds = lambda: mapping.apply_std(stds, group[clean_entries])  # noqa: E731  (std halves only)
        grouping = dict(group=group, group_map=mapping)
    mean, std = pooling(pool).head_statistics(mean, std, utt_stds)  # e.g. the std half's spread across utterances
    return FrameBank(banks, cat(index, np.int64), cat(utts, np.int64), cat(labels, np.int64),
                     cat(corpora, np.int64), cat(keys, np.int64), cat(clean, bool), mean, std, **grouping, pool=pool)


def relabelled(bank: FrameBank, perms: dict[int, np.ndarray]) -> FrameBank:
    """The same bank with each corpus's labels permuted (scrambled runs)."""
    label = bank.label.copy()
    for k, perm in perms.items():
        sel = bank.corpus == k
        label[sel] = perm[bank.label[sel]]
    return replace(bank, label=label)


def split_vectors(model: str, corpus: str, split: str, stores_root: str | None,
                  layer: str = "-", protocol=None) -> tuple[np.ndarray, np.ndarray]:
    """Utterance-level vectors (mean over all frames) and labels of one split, clean view only."""
    data, rows = split_rows(model, corpus, split, stores_root, layer, protocol)
    return data.pooled[rows], data.label[rows]


def split_rows(model: str, corpus: str, split: str, stores_root: str | None, layer: str = "-", protocol=None):
    """The store's ``CorpusData`` and the rows of one split (clean, with a class under the protocol)."""
    data = load_corpus(model, corpus, stores_root, layer, protocol)
    return data, np.flatnonzero((data.split == split) & data.is_clean & (data.label >= 0))

"""What a probe reads from the stores: the training pool as a FrameBank (all views) and utterance-level
vectors of the valid and test splits. Loaded once per process and reused across a grid's runs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import zarr

from sergen import LABELS
from sergen.errors import SergenError
from sergen.experiments.bank_cache import bank_name, cache_dir, cached_bank, threshold_bytes
from sergen.store.layout import store_path
from sergen.store.location import is_remote
from sergen.store.reader import open_store, require_store_chunks, store_attrs, view_stores
from sergen.train.framebank import FrameBank, build_framebank

LABEL_INDEX = {label: i for i, label in enumerate(LABELS)}


@dataclass(frozen=True)
class CorpusData:
    """A store's utterance-level data; frames stay on disk (``path``) until a bank streams them."""

    corpus: str
    path: str
    columns: slice  # the stored features this probe uses (one layer of a multi-layer store)
    start: np.ndarray
    stop: np.ndarray
    label: np.ndarray  # class index per utterance copy
    split: np.ndarray
    utt_id: np.ndarray
    is_clean: np.ndarray
    pooled: np.ndarray  # per-utterance mean of all frames, float32
    frame_rate: float
    synthetic: bool


def layer_columns(attrs: dict, layer: str, where: str) -> slice:
    """Columns of ``layer`` in a store: multi-layer stores (``settings.layers``) hold the layers side by
    side; ``-`` means the last stored layer, or the whole vector of a single-layer store."""
    layers = attrs.get("settings", {}).get("layers")
    dim = int(attrs["dim"])
    if not layers:
        if layer not in ("-", None):
            raise SergenError(f"layer {layer!r} requested, but {where} holds a single layer")
        return slice(0, dim)
    width = dim // len(layers)
    if layer in ("-", None):
        return slice(dim - width, dim)
    if int(layer) not in layers:
        raise SergenError(f"layer {layer} is not stored in {where}; stored layers: {', '.join(map(str, layers))}",
                          fix="pick one of them, or extract again with --layers")
    i = layers.index(int(layer))
    return slice(i * width, (i + 1) * width)


def load_corpus(model: str, corpus: str, stores_root: str | None, layer: str = "-") -> CorpusData:
    """Cached per process, keyed by the store's creation and completion times, so a store rebuilt in
    the same process is read again."""
    return _load_corpus(model, corpus, stores_root, layer, store_version(model, corpus, stores_root))


@lru_cache(maxsize=32)
def _load_corpus(model: str, corpus: str, stores_root: str | None, layer: str, version: tuple) -> CorpusData:
    require_store_chunks(model, corpus, stores_root)  # a lost chunk reads as zeros: refuse, naming the fix
    ds = open_store(model, corpus, root=stores_root)
    columns = layer_columns(store_attrs(store_path(model, corpus, stores_root)), layer, f"the {model}/{corpus} store")
    return CorpusData(
        corpus=corpus,
        path=str(store_path(model, corpus, stores_root)),
        columns=columns,
        start=ds["start"].values.astype(np.int64), stop=ds["stop"].values.astype(np.int64),
        label=np.array([LABEL_INDEX[v] for v in ds["label"].values], np.int64),
        split=np.asarray(ds["split"].values, dtype=str), utt_id=np.asarray(ds["utt_id"].values, dtype=str),
        is_clean=np.asarray(ds["view"].values, dtype=str) == "clean",  # False throughout a view store
        pooled=np.asarray(ds["mean"].data[:, columns].compute(), np.float32),
        frame_rate=float(ds.attrs["frame_rate"]), synthetic=bool(ds.attrs.get("synthetic", False)),
    )


def _stream_frames(data: CorpusData, rows: np.ndarray, block_frames: int = 1 << 16):
    """Yield each selected utterance's frames, reading the store in blocks of whole utterances
    (about ``block_frames`` rows at a time), so a store larger than RAM can feed a bank."""
    frames = zarr.open_array(data.path + "/frames", mode="r")
    i = 0
    while i < len(rows):
        j = i + 1
        while j < len(rows) and data.stop[rows[j]] - data.start[rows[i]] <= block_frames:
            j += 1
        lo, hi = data.start[rows[i]], data.stop[rows[j - 1]]
        block = frames[lo:hi, data.columns]
        for r in rows[i:j]:
            yield block[data.start[r] - lo:data.stop[r] - lo]
        i = j


def store_version(model: str, name: str, stores_root: str | None) -> tuple:
    attrs = store_attrs(store_path(model, name, stores_root))
    return name, attrs.get("created"), attrs.get("finished")


def training_bank(model: str, train: tuple[str, ...], stores_root: str | None, layer: str = "-") -> FrameBank:
    """The training utterances of ``train`` (clean and every augmented view store beside them);
    cached per process while none of those stores changes."""
    stores = tuple((corpus, tuple(view_stores(model, corpus, stores_root))) for corpus in train)
    versions = tuple(store_version(model, name, stores_root)
                     for corpus, views in stores for name in (corpus, *views))
    return _training_bank(model, stores, stores_root, layer, versions)


@lru_cache(maxsize=8)
def _training_bank(model: str, stores: tuple, stores_root: str | None, layer: str, versions: tuple) -> FrameBank:
    """``stores``: (corpus, its view stores) per training corpus, listed once by ``training_bank``."""
    parts, labels, corpora, keys, clean = [], [], [], [], []
    for k, (corpus, views) in enumerate(stores):
        data = load_corpus(model, corpus, stores_root, layer)
        ids = np.unique(data.utt_id)
        if not (data.split == "train").any():
            raise SergenError(f"{corpus} has no training utterances in the {model} store")
        for name in (corpus, *views):
            part = data if name == corpus else load_corpus(model, name, stores_root, layer)
            rows = np.flatnonzero(np.isin(part.utt_id, ids) & (part.split == "train"))
            parts.append((part, rows))
            labels += list(part.label[rows])
            corpora += [k] * len(rows)
            keys += list(np.searchsorted(ids, part.utt_id[rows]) + 10_000_000 * k)
            clean += [name == corpus] * len(rows)
    lengths = np.concatenate([p.stop[r] - p.start[r] for p, r in parts])

    def build(allocate=None) -> FrameBank:
        frames = (f for p, r in parts for f in _stream_frames(p, r))
        return build_framebank(frames, labels, corpora, keys, clean, lengths=lengths, allocate=allocate)

    width = parts[0][0].columns.stop - parts[0][0].columns.start
    if (lengths.sum() + len(lengths)) * width * 4 < threshold_bytes():
        return build()
    stem, name = bank_name(model, [corpus for corpus, _ in stores], layer, versions)
    return cached_bank(cache_dir(stores_root), stem, name, build)


def relabelled(bank: FrameBank, perms: dict[int, np.ndarray]) -> FrameBank:
    """The same bank with each corpus's labels permuted (scrambled runs)."""
    label = bank.label.copy()
    for k, perm in perms.items():
        sel = bank.corpus == k
        label[sel] = perm[bank.label[sel]]
    return replace(bank, label=label)


def split_vectors(model: str, corpus: str, split: str, stores_root: str | None,
                  layer: str = "-") -> tuple[np.ndarray, np.ndarray]:
    """Utterance-level vectors (mean over all frames) and labels of one split, clean view only."""
    data = load_corpus(model, corpus, stores_root, layer)
    rows = np.flatnonzero((data.split == split) & data.is_clean)
    return data.pooled[rows], data.label[rows]


def stores_root_key(root) -> str | None:
    """A hashable, absolute form of a stores root (URLs stay as they are)."""
    if not root:
        return None
    return str(root) if is_remote(root) else str(Path(root).resolve())

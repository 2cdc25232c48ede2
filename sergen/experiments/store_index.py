"""Where each utterance of a store lies and which columns hold a layer: what protocols check a store
against and banks are built from, read once per store version. Below ``data`` (banks, vectors) so the
protocol join can use it without importing the experiments it serves."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from sergen.errors import SergenError
from sergen.store.reader import open_store
from sergen.store.ref import StoreRef


def layer_columns(attrs: dict, layer: str, where: str) -> slice:
    """Columns of ``layer`` in a store: multi-layer stores (``settings.layers``) hold the layers side by
    side; ``-`` means the last stored layer, or the whole vector of a single-layer store; ``weighted`` every
    stored layer (the head learns their weighted sum, so banks and utterance vectors span all columns)."""
    layers = attrs.get("settings", {}).get("layers")
    dim = int(attrs["dim"])
    if layer == "weighted":
        if not layers or len(layers) < 2:
            raise single_layer_error(attrs.get("model", "MODEL"), attrs.get("corpus", "CORPUS"), where)
        return slice(0, dim)
    if not layers:
        if layer not in ("-", None):
            raise SergenError(f"layer {layer} requested, but {where} holds a single layer", where=where,
                              fix="leave --layer out (layer = \"-\" in an experiment file) to use its one vector; "
                                  "layers are picked only in stores extracted with --layers")
        return slice(0, dim)
    width = dim // len(layers)
    if layer in ("-", None):
        return slice(dim - width, dim)
    if int(layer) not in layers:
        raise SergenError(f"layer {layer} is not stored in {where}; stored layers: {', '.join(map(str, layers))}",
                          fix="pick one of them, or extract again with --layers")
    i = layers.index(int(layer))
    return slice(i * width, (i + 1) * width)


def single_layer_error(model: str, corpus: str, where: str, path: str | None = None) -> SergenError:
    """``--layer weighted`` on a store of one layer: extract layers where the model has them, else leave it out."""
    fix = (f"extract several layers first (e.g. `sergen extract --model {model} --layers 6,12,18,24 --corpus "
           f"{corpus} --overwrite`), or leave --layer out" if takes_layers(model)
           else f"leave --layer out: {model} has one vector per frame and no layers to weigh (--layer "
                "weighted is for models extracted with --layers: wavlm-large, whisper-* and hf: models)")
    return SergenError(f"--layer weighted learns a weighted sum of stored layers, but {where} holds a single layer",
                       where=path, fix=fix)


def takes_layers(model: str) -> bool:
    """Whether ``sergen extract --model MODEL --layers …`` is accepted (melspec, egemaps, … refuse it)."""
    from sergen.preflight import check_model_options

    try:
        check_model_options(model, None, {"layers": (6, 12)})
    except Exception:  # noqa: BLE001 - an unknown model or one refusing --layers: do not suggest it
        return False
    return True


@dataclass(frozen=True)
class StoreIndex:
    """Where each utterance of a store lies, without its pooled vectors: what a bank is built from."""

    path: str
    columns: slice
    start: np.ndarray
    stop: np.ndarray
    split: np.ndarray
    utt_id: np.ndarray
    n_store_frames: int


def store_ref(model: str, name: str, stores_root, layer: str = "-") -> StoreRef:
    """The handle of a store named by loose strings (``stores_root`` None: the workspace's stores folder):
    where callers that still pass ``(model, name, stores_root, layer)`` meet the handle."""
    from sergen.config import workspace_dirs

    return StoreRef.of(model, name, workspace_dirs(), stores_root, layer)


def views_of(model: str, corpus: str, stores_root) -> list[str]:
    """Names of the complete view stores beside a corpus's clean store (``stores_root`` None: the workspace's)."""
    return [view.name for view in store_ref(model, corpus, stores_root).views()]


def store_index(model: str, name: str, stores_root: str | None, layer: str = "-") -> StoreIndex:
    return index_of(store_ref(model, name, stores_root, layer))


def index_of(store: StoreRef) -> StoreIndex:
    """The store's index, read once per store version."""
    return _store_index(store, store.version)


def opened(store: StoreRef):
    """``open_store(store, store_labels=True)``, opened once per store version: a store's index and its
    corpus data read the same dataset (a grid worker opened each store twice, ~60 ms of CPU each)."""
    return _opened(store, store.version)


@lru_cache(maxsize=64)
def _opened(store: StoreRef, version: tuple):
    return open_store(store, store_labels=True)


@lru_cache(maxsize=64)
def _store_index(store: StoreRef, version: tuple) -> StoreIndex:
    ds = opened(store)
    model, name = store.model, store.name
    return StoreIndex(str(store.path), layer_columns(store.attrs, store.layer, f"the {model}/{name} store"),
                      ds["start"].values.astype(np.int64), ds["stop"].values.astype(np.int64),
                      np.asarray(ds["split"].values, dtype=str), np.asarray(ds["utt_id"].values, dtype=str),
                      int(ds.attrs.get("n_frames", ds["frames"].shape[0])))

"""A store's handle: which store (model, name, the stores folder it lies in, the layer a run reads) and the
workspace facts that apply to it, as one frozen value. It answers the store's attributes, version and
fingerprint, reading its attributes once per handle, and is the key every per-store cache is keyed on
(with its version, so a store rebuilt in the same process is read again)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from functools import cached_property

from sergen.paths import Dirs

# the attributes that make a store's content: a store rebuilt with any of them changed is another store
IDENTITY_ATTRS = ("model", "corpus", "view", "weights", "manifest_sha256", "settings", "dim", "dtype", "n_utts",
                  "n_frames", "created", "finished", "complete", "n_failed", "format", "sergen_version")


@dataclass(frozen=True)
class StoreRef:
    """One store: ``<root>/<model>/<name>.zarr`` (``name`` is a corpus or ``corpus@view``), read at ``layer``
    (``"-"``: every stored column). ``manifests``: the folder whose manifest labels this store (None: the
    store's own copy: a stores folder outside the workspace). A handle is a snapshot: its attributes are read
    once, on first use; make a new handle to see a store rebuilt since."""

    model: str
    name: str
    root: str
    layer: str = "-"
    manifests: str | None = None
    origin: str = field(default="", compare=False)  # where ``root`` came from, for errors

    def __getstate__(self) -> dict:
        """Pickled without the attributes read: a handle sent to a worker process reads its store there."""
        return {k: v for k, v in self.__dict__.items() if k != "attrs"}

    @classmethod
    def of(cls, model: str, name: str, dirs: Dirs, root=None, layer: str = "-") -> StoreRef:
        """The store in ``root`` (None: the workspace's stores folder), labelled by the workspace's manifests
        when the stores are the workspace's."""
        if not isinstance(dirs, Dirs):
            from sergen.errors import SergenError

            raise SergenError(f"StoreRef.of needs the workspace's folders as its third argument, got {dirs!r}",
                              fix="pass sergen.config.workspace_dirs() (and a stores folder elsewhere as root=)")
        return cls(_model_name(model), store_name_of(name), str(root if root is not None else dirs.stores), layer or "-",
                   dirs.manifests if dirs.owns(root) else None,
                   dirs.stores_origin if root is None else "")

    @property
    def corpus(self) -> str:
        """The corpus of the store (a view store's clean corpus)."""
        return self.name.split("@")[0]

    @property
    def path(self):
        from sergen.store.layout import store_path

        return store_path(self.model, self.name, self.root)

    def named(self, name: str) -> StoreRef:
        """The handle of another store of the same model, folder and layer (a view store, say)."""
        return replace(self, name=name)

    def at_layer(self, layer: str) -> StoreRef:
        return replace(self, layer=layer or "-")

    @cached_property
    def attrs(self) -> dict:
        """The store's ``sergen`` attributes ({} when there is no store), read once per handle."""
        from sergen.store.reader import store_attrs

        return store_attrs(self.path)

    @property
    def version(self) -> tuple:
        """(name, created, finished): what changes when the store is rebuilt; caches key on it."""
        return self.name, self.attrs.get("created"), self.attrs.get("finished")

    @property
    def fingerprint(self) -> dict | None:
        """The content identity a run record keeps (None when the store does not exist): a hash of its
        identity attributes, with the ones a person reads beside it."""
        attrs = self.attrs
        if not attrs:
            return None
        identity = {k: attrs.get(k) for k in IDENTITY_ATTRS}
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]
        weights = attrs.get("weights") or {}
        return {"fingerprint": digest, "created": attrs.get("created"), "finished": attrs.get("finished"),
                "manifest_sha256": attrs.get("manifest_sha256"),
                "weights_sha256": weights.get("sha256") if isinstance(weights, dict) else None}

    def views(self) -> list[StoreRef]:
        """The complete augmented-view stores beside this (clean) store."""
        from sergen.store.reader import view_stores

        return [self.named(name) for name in view_stores(self.model, self.name, self.root)]

    def open(self, **options):
        """The store as an ``xarray.Dataset`` (``sergen.store.reader.open_store``'s options)."""
        from sergen.store.reader import open_store

        return open_store(self, **options)


def _model_name(model: str) -> str:
    """A model as its stores are named: aliases and case resolved (``MelSpec`` is ``melspec``)."""
    from sergen.extractors import canonical_model

    return canonical_model(model.strip()) if isinstance(model, str) else model


def store_name_of(name: str) -> str:
    """A store's name as the CLI reads a corpus: case and aliases resolved before a view's ``@``, the view in
    lower case (``EmoDB@Time-Stretch`` is ``emodb@time-stretch``); other corpora's names (folder corpora,
    other tools' stores) as given. ``ravdess@`` or ``@eq`` (a corpus or view left out) is refused."""
    if not isinstance(name, str):
        return name
    from sergen.corpora import CORPUS_READERS

    base, at, view = name.strip().partition("@")
    if not base or (at and not view):
        from sergen.errors import SergenError

        raise SergenError(f"{name!r} is not a store name: a corpus, or a corpus and a view as corpus@view",
                          fix="e.g. ravdess or ravdess@eq (`sergen stores ls` lists the stores there are)")
    return CORPUS_READERS.resolve(base) + at + view.lower()

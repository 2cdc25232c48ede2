"""The store handle: which store, where it lies, whose manifest labels it; its attributes read once per handle,
and the per-store caches (index, corpus data, bank) keyed on the handle and its version."""

import numpy as np
import pytest

import sergen
from sergen.config import workspace_dirs
from sergen.errors import SergenError
from sergen.experiments import data, store_index
from sergen.paths import Dirs
from sergen.results import store_fingerprint
from sergen.store import reader
from sergen.store.layout import store_path
from sergen.store.ref import StoreRef
from tests.fake_stores import layered_store, tiny_store

DIRS = Dirs(stores="/w/stores", manifests="/w/manifests", results="/w/results", reports="/w/reports",
            stores_origin="set by SERGEN_STORES")


def test_a_handle_in_the_workspace_carries_its_folder_manifests_and_origin():
    ref = StoreRef.of("melspec", "emodb@reverb", DIRS)
    assert (ref.root, ref.manifests, ref.origin, ref.layer, ref.corpus) == (
        "/w/stores", "/w/manifests", "set by SERGEN_STORES", "-", "emodb")
    assert str(ref.path) == "/w/stores/melspec/emodb@reverb.zarr"


def test_a_stores_folder_elsewhere_is_labelled_by_its_own_copy():
    elsewhere = StoreRef.of("melspec", "emodb", DIRS, root="/x/stores", layer="12")
    assert (elsewhere.root, elsewhere.manifests, elsewhere.origin, elsewhere.layer) == ("/x/stores", None, "", "12")
    named = StoreRef.of("melspec", "emodb", DIRS, root="/w/stores/")  # the workspace's, spelt otherwise
    assert named.manifests == "/w/manifests" and named.origin == ""


def test_handles_are_equal_by_identity_not_by_origin_and_derive_by_name_and_layer():
    a = StoreRef("m", "emodb", "/s", origin="one")
    assert a == StoreRef("m", "emodb", "/s", origin="two") and hash(a) == hash(StoreRef("m", "emodb", "/s"))
    assert a.named("emodb@eq") == StoreRef("m", "emodb@eq", "/s")
    assert a.at_layer("6") == StoreRef("m", "emodb", "/s", "6") and a.at_layer("") == a


def test_a_pickled_handle_reads_its_store_afresh(workspace):
    import pickle

    tiny_store(workspace / "stores" / "m" / "emodb.zarr", model="m", corpus="emodb", created="c1")
    ref = StoreRef.of("m", "emodb", workspace_dirs())
    assert ref.version[1] == "c1" and "attrs" in ref.__dict__
    copy = pickle.loads(pickle.dumps(ref))
    assert copy == ref and copy.origin == ref.origin and "attrs" not in copy.__dict__
    assert copy.version == ref.version


def test_workspace_dirs_reads_the_environment_once(workspace, monkeypatch):
    monkeypatch.setenv("SERGEN_STORES", "memory://bucket/stores")
    dirs = workspace_dirs()
    assert dirs == Dirs(stores="memory://bucket/stores", manifests=str(workspace / "manifests"),
                        results=str(workspace / "results"), reports=str(workspace / "reports"),
                        stores_origin="set by SERGEN_STORES")
    assert dirs.owns(None) and dirs.owns("memory://bucket/stores") and not dirs.owns(str(workspace / "stores"))


def test_the_store_layer_is_handed_its_folder():
    with pytest.raises(TypeError, match="store_path needs the stores folder: pass sergen.config.workspace_dirs"):
        store_path("melspec", "emodb", None)


def test_attributes_are_read_once_per_handle(workspace, monkeypatch):
    tiny_store(workspace / "stores" / "m" / "emodb.zarr", model="m", corpus="emodb", created="c1", finished="f1")
    reads = []
    real = reader.store_attrs
    monkeypatch.setattr(reader, "store_attrs", lambda path: reads.append(str(path)) or real(path))
    ref = StoreRef.of("m", "emodb", workspace_dirs())
    assert ref.version == ("emodb", "c1", "f1")
    fingerprint = ref.fingerprint
    assert ref.attrs["corpus"] == "emodb" and len(reads) == 1
    assert fingerprint == store_fingerprint("m", "emodb") and len(fingerprint["fingerprint"]) == 16
    assert len(reads) == 2  # a new handle reads afresh (a store rebuilt since is seen)


def test_the_fingerprint_follows_the_content_and_is_none_without_a_store(workspace):
    dirs = workspace_dirs()
    assert StoreRef.of("m", "emodb", dirs).fingerprint is None and StoreRef.of("m", "emodb", dirs).attrs == {}
    path = tiny_store(workspace / "stores" / "m" / "emodb.zarr", model="m", corpus="emodb", created="c1")
    first = StoreRef.of("m", "emodb", dirs).fingerprint
    tiny_store(path, model="m", corpus="emodb", created="c2")  # rebuilt
    second = StoreRef.of("m", "emodb", dirs).fingerprint
    assert (first["created"], second["created"]) == ("c1", "c2") and first["fingerprint"] != second["fingerprint"]


def test_open_store_takes_a_handle_or_names(workspace):
    layered_store(workspace / "stores", "emodb", model="toy")
    ref = StoreRef.of("toy", "emodb", workspace_dirs())
    by_ref, by_name, by_method = sergen.open_store(ref), sergen.open_store("toy", "emodb"), ref.open()
    assert by_ref.sizes == by_name.sizes == by_method.sizes == {"frame": by_ref.sizes["frame"], "feature": 12,
                                                                "utt": 160}
    assert list(by_ref.utt_id.values) == list(by_name.utt_id.values)


def test_a_missing_store_names_where_its_folder_came_from(workspace):
    with pytest.raises(SergenError) as caught:
        sergen.open_store("toy", "emodb")
    assert caught.value.where == f"{workspace / 'stores' / 'toy' / 'emodb.zarr'} (set by SERGEN_STORES)"
    with pytest.raises(SergenError) as elsewhere:
        sergen.open_store("toy", "emodb", root=str(workspace / "other"))
    assert elsewhere.value.where == str(workspace / "other" / "toy" / "emodb.zarr")


def test_the_index_and_bank_are_built_once_per_handle_and_version(workspace, monkeypatch):
    layered_store(workspace / "stores", "emodb", model="toy")
    store_index._store_index.cache_clear()
    data._store_bank.cache_clear()
    opened = []
    real = store_index.open_store
    monkeypatch.setattr(store_index, "open_store", lambda store, **kw: opened.append(store) or real(store, **kw))
    ref = StoreRef.of("toy", "emodb", workspace_dirs(), layer="8")
    index = store_index.index_of(ref)
    assert store_index.store_index("toy", "emodb", None, "8") is index  # loose strings meet the same handle
    assert (index.columns, len(index.start)) == (slice(4, 8), 160)
    assert data.bank_of(ref) is data.store_bank("toy", "emodb", None, "8") and len(opened) == 1
    bank = data.bank_of(ref)
    assert bank.prefix.shape[1] == 4 and np.isfinite(bank.prefix).all()
    monkeypatch.setattr(StoreRef, "version", property(lambda store: (store.name, "rebuilt", "later")))
    assert store_index.index_of(ref) is not index and len(opened) == 2  # a new version: read again

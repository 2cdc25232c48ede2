"""A grid worker reads a store's index (for banks) and its corpus data (for vectors): both from one opened
dataset, so each store is opened once per version, and the values equal a fresh open's."""

import numpy as np

from sergen.experiments import data, store_index
from sergen.store import reader


def test_index_and_corpus_data_share_one_open_and_equal_a_fresh_open(in_demo_workspace, monkeypatch):
    calls = []
    real = reader.open_store
    spy = lambda *a, **k: calls.append(a[0].name) or real(*a, **k)  # noqa: E731
    monkeypatch.setattr(store_index, "open_store", spy)
    monkeypatch.setattr(data, "open_store", spy, raising=False)  # where data opened its own copy
    for cache in (store_index._opened, store_index._store_index, data._load_corpus):
        cache.cache_clear()
    try:
        ref = store_index.store_ref("melspec", "emodb", None)
        index = store_index.index_of(ref)
        corpus = data.corpus_data(ref)
        assert calls == ["emodb"]  # one open for both
        fresh = real(ref, store_labels=True)
        np.testing.assert_array_equal(index.start, fresh["start"].values)
        np.testing.assert_array_equal(corpus.stop, fresh["stop"].values)
        np.testing.assert_array_equal(corpus.utt_id, fresh["utt_id"].values.astype(str))
        assert corpus.n_store_frames == index.n_store_frames == fresh.attrs.get("n_frames", fresh["frames"].shape[0])
    finally:
        for cache in (store_index._opened, store_index._store_index, data._load_corpus):
            cache.cache_clear()

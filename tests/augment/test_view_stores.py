import numpy as np

import sergen
from sergen.corpora import read_corpus, write_manifest
from sergen.experiments.data import stores_root_key, training_bank
from sergen.extract import extract
from sergen.store.reader import existing_stores, view_stores
from sergen.config import data_dir


def test_view_store_beside_the_clean_one_feeds_the_training_bank(demo_root, tmp_path):
    write_manifest(read_corpus("emodb", demo_root / "emodb"))
    extract("melspec", "emodb")
    report = extract("melspec", "emodb", view="time-stretch")
    assert report.complete and report.corpus == "emodb@time-stretch"
    clean = sergen.open_store("melspec", "emodb")
    stretched = sergen.open_store("melspec", "emodb@time-stretch")
    assert set(stretched.view.values) == {"time-stretch"}
    assert list(stretched.utt_id.values) == list(clean.utt_id.values)
    assert not np.array_equal(stretched.n_frames.values, clean.n_frames.values)  # durations changed
    assert existing_stores(data_dir("stores")) == [("melspec", "emodb")]
    assert view_stores("melspec", "emodb", data_dir("stores")) == ["emodb@time-stretch"]
    bank = training_bank("melspec", ("emodb",), stores_root_key(tmp_path / "stores"))
    # the train split's utterances of the four classes (the store also holds classes outside them)
    n_train = int(((clean.split.values == "train") & (clean.label.values != "")).sum())
    assert bank.is_clean.sum() == n_train and (~bank.is_clean).sum() == n_train
    # each view shares its utterance's key with the clean copy
    assert set(bank.utt_key[~bank.is_clean]) == set(bank.utt_key[bank.is_clean])

"""``open_store`` reads a corpus name as the CLI does (hostile pass 4: ``--corpus EmoDB`` worked in the CLI
and was refused by ``open_store``)."""

import numpy as np

import sergen
from sergen.corpora import read_corpus, write_manifest
from sergen.extract import extract


def test_corpus_names_resolve_case_and_views_like_the_cli(demo_root):
    write_manifest(read_corpus("emodb", demo_root / "emodb"))
    extract("melspec", "emodb")
    extract("melspec", "emodb", view="time-stretch")
    plain = sergen.open_store("melspec", "emodb")
    for name in ("EmoDB", " EMODB "):
        other = sergen.open_store("melspec", name)
        assert list(other.utt_id.values) == list(plain.utt_id.values)
        np.testing.assert_array_equal(other.n_frames.values, plain.n_frames.values)
    stretched = sergen.open_store("MelSpec", "EmoDB@time-stretch")
    assert set(stretched.view.values) == {"time-stretch"}


def test_store_ref_of_names_a_store_as_open_store_does(demo_root):
    from sergen.config import workspace_dirs
    from sergen.store.ref import StoreRef

    dirs = workspace_dirs()
    assert StoreRef.of("MelSpec", "RAVDESS", dirs).name == "ravdess"
    assert StoreRef.of("melspec", "crema-d", dirs).name == StoreRef.of("melspec", "cremad", dirs).name == "cremad"
    assert StoreRef.of("melspec", "EmoDB@Time-Stretch", dirs).name == "emodb@time-stretch"
    assert StoreRef.of("MELSPEC", "emodb", dirs).model == "melspec"
    assert StoreRef.of("melspec", "MyFolderCorpus", dirs).name == "MyFolderCorpus"  # not a registered corpus: as given
    write_manifest(read_corpus("emodb", demo_root / "emodb"))
    extract("melspec", "emodb", view="time-stretch")
    ref = StoreRef.of("melspec", "EMODB@Time-Stretch", dirs)
    assert set(sergen.open_store(ref).view.values) == {"time-stretch"}

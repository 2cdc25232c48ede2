"""A melspec store decoded by the numpy WAV reader (issue 22) equals, array for array, one decoded by soundfile
as before: frames, mean, std, digests, status and metadata, for a corpus at the model's rate (emodb) and one
resampled from 48 kHz (ravdess)."""

import pytest

from sergen.corpora import read_corpus, write_manifest
from sergen.extract import extract
from tests.store.test_parallel_extract import assert_same_store


@pytest.mark.parametrize("corpus", ["emodb", "ravdess"])
def test_store_from_numpy_wav_reader_equals_soundfile_store(demo_root, tmp_path, monkeypatch, corpus):
    write_manifest(read_corpus(corpus, demo_root / corpus))
    new = extract("melspec", corpus, stores_root=tmp_path / "new", show_progress=False)
    calls = []
    monkeypatch.setattr("sergen.audio.read_pcm16", lambda path: calls.append(path))  # None: soundfile decodes
    old = extract("melspec", corpus, stores_root=tmp_path / "old", show_progress=False)
    assert len(calls) == new.n_utts > 100  # every file went the old way the second time
    assert new.complete and old.complete and new.written == old.written == new.n_utts
    assert_same_store(new.path, old.path)

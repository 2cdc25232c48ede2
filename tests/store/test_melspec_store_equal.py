"""A melspec store made with the numpy log-Mel (issue 22's CPU work) equals, array for array, one made with
librosa's STFT as melspec computed it before: frames, mean, std, digests and status."""

import numpy as np

from sergen.corpora import read_corpus, write_manifest
from sergen.extract import extract
from sergen.extractors.melspec import MelSpec
from tests.extractors.test_log_mel import librosa_log_mel
from tests.store.test_parallel_extract import arrays, assert_same_store


def test_numpy_log_mel_store_equals_librosa_store(demo_root, tmp_path, monkeypatch):
    write_manifest(read_corpus("emodb", demo_root / "emodb"))
    new = extract("melspec", "emodb", stores_root=tmp_path / "new", show_progress=False)
    monkeypatch.setattr(MelSpec, "embed_one", lambda self, wave: librosa_log_mel(wave))
    old = extract("melspec", "emodb", stores_root=tmp_path / "old", show_progress=False)
    assert new.complete and old.complete and new.written == old.written > 0
    assert_same_store(new.path, old.path)
    frames = arrays(new.path)["frames"]
    assert frames.dtype == np.float16 and np.isfinite(frames).all() and frames.std() > 0.5

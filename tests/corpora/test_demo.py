"""The synthetic corpora: native layouts the readers parse, deterministic, and emotion that is learnable
within a corpus and transfers less well across corpora."""

import hashlib

import librosa
import numpy as np
import soundfile as sf
import soxr
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sergen import CORPORA, LABELS
from sergen.corpora import read_corpus
from sergen.corpora.demo import make_demo


def test_every_reader_parses_its_demo_tree(demo_root):
    for corpus in CORPORA:
        result = read_corpus(corpus, demo_root / corpus)
        df = result.manifest
        assert len(result.problems) == 0, result.problems.summary()
        assert set(df.label) == set(LABELS)
        assert set(df.split) == {"train", "valid", "test"}
        assert result.meta["synthetic"] is True
        assert sum(result.dropped.values()) > 0  # each demo holds classes or subsets the reader must drop
    assert set(read_corpus("ravdess", demo_root / "ravdess").manifest.sample_rate) == {48000}
    assert set(read_corpus("msp", demo_root / "msp").manifest.sample_rate) == {16000}


def test_same_seed_same_audio(tmp_path):
    def digest(root):
        return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(root.rglob("*.wav")))).hexdigest()

    make_demo(tmp_path / "a", seed=5, scale=0.3, corpora=["emodb"])
    make_demo(tmp_path / "b", seed=5, scale=0.3, corpora=["emodb"])
    make_demo(tmp_path / "c", seed=6, scale=0.3, corpora=["emodb"])
    assert digest(tmp_path / "a") == digest(tmp_path / "b") != digest(tmp_path / "c")


def pooled_logmel(root, df):
    feats = []
    for path in df.path:
        x, sr = sf.read(root / path, dtype="float32")
        x = soxr.resample(x, sr, 16000) if sr != 16000 else x
        mel = np.log(librosa.feature.melspectrogram(y=x, sr=16000, n_fft=400, hop_length=160, n_mels=64) + 1e-6)
        feats.append(np.concatenate([mel.mean(1), mel.std(1)]))
    return np.array(feats)


def test_emotion_is_learnable_within_and_harder_across(demo_root):
    data = {}
    for corpus in CORPORA:
        df = read_corpus(corpus, demo_root / corpus).manifest
        data[corpus] = (pooled_logmel(demo_root / corpus, df), df.label.to_numpy(), df.split.to_numpy())
    within, across = [], []
    for train, (x, y, split) in data.items():
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
        clf.fit(x[split != "test"], y[split != "test"])
        for test, (x2, y2, split2) in data.items():
            auc = roc_auc_score(y2[split2 == "test"], clf.predict_proba(x2[split2 == "test"]),
                                multi_class="ovr", labels=clf.classes_)
            (within if train == test else across).append(auc)
    assert min(within) > 0.8  # chance is 0.5
    assert np.mean(within) - np.mean(across) > 0.08

"""eGeMAPS through one reused openSMILE engine gives exactly the frames ``Smile.process_signal`` gives, call
after call, whatever came before (issue 26: the per-call engine was a sixth of the demo's eGeMAPS CPU)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

pytest.importorskip("opensmile")

from sergen.extractors.egemaps import EGeMAPS  # noqa: E402


def reference(extractor: EGeMAPS, wave: np.ndarray) -> np.ndarray:
    return extractor._smile.process_signal(wave, extractor.sample_rate).to_numpy(dtype=np.float32)


def voiced(seconds: float, f0: float, rng) -> np.ndarray:
    """A vowel-like tone with jitter and noise: frames with pitch, formants, jitter and shimmer values."""
    t = np.arange(int(16000 * seconds)) / 16000
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))) / 16000
    wave = sum(np.sin(k * phase) / k for k in range(1, 8)) * (0.2 + 0.1 * np.sin(2 * np.pi * 1.5 * t))
    return (wave + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def waves() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    out = [voiced(s, f0, rng) for s, f0 in ((1.3, 120.0), (0.5, 220.0), (3.1, 90.0), (2.0, 300.0))]
    out += [np.zeros(960, np.float32),  # the shortest input extraction hands over (padded to 960)
            (0.3 * rng.standard_normal(16000)).astype(np.float32),
            np.clip(3 * voiced(1.0, 150.0, rng), -1.2, 1.2).astype(np.float32),  # clipped past full scale
            voiced(1.3, 120.0, rng)]
    return out


def test_engine_frames_equal_process_signal_value_for_value():
    extractor = EGeMAPS()
    expected = [reference(extractor, w) for w in waves()]
    for _ in range(2):  # the same engine, twice through: nothing of one utterance leaks into the next
        got = [extractor.embed_one(w) for w in waves()]
        for want, have in zip(expected, got):
            assert have.dtype == np.float32 and have.shape == want.shape
            assert np.array_equal(have, want, equal_nan=True)
    assert [g.shape[0] for g in got] == [extractor.num_frames(len(w)) for w in waves()]
    assert extractor._engine  # the engine was used, not the fallback


def test_a_pickled_extractor_builds_its_own_engine():
    extractor = EGeMAPS()
    wave = waves()[0]
    first = extractor.embed_one(wave)
    copy = pickle.loads(pickle.dumps(extractor))
    assert copy._engine is None
    assert np.array_equal(copy.embed_one(wave), first)


def test_a_failed_run_drops_the_engine(monkeypatch):
    extractor = EGeMAPS()
    wave = waves()[1]
    want = extractor.embed_one(wave)

    def broken(self, waveform):
        raise RuntimeError("engine failed")

    from sergen.extractors import egemaps

    monkeypatch.setattr(egemaps.SmileEngine, "frames", broken)
    with pytest.raises(RuntimeError, match="engine failed"):
        extractor.embed_one(wave)
    assert extractor._engine is None  # not reused after a failure
    monkeypatch.undo()
    assert np.array_equal(extractor.embed_one(wave), want)


def test_without_an_engine_process_signal_does_the_work(monkeypatch):
    from sergen.extractors import egemaps

    monkeypatch.setattr(egemaps.SmileEngine, "for_smile", classmethod(lambda cls, smile, rate: None))
    extractor = EGeMAPS()
    wave = waves()[0]
    assert np.array_equal(extractor.embed_one(wave), reference(extractor, wave))
    assert extractor._engine is False

"""``num_frames`` must equal the real output length: the store places utterances by it before extracting."""

import numpy as np
import pytest

from sergen.extractors import EXTRACTORS, get_extractor

LENGTHS = [1, 2, 159, 160, 399, 400, 401, 959, 960, 961, 1119, 1120, 4000, 16000, 16001, 22049, 22050, 22051,
           31999, 44100, 50000]


@pytest.mark.parametrize("name", ["melspec", "egemaps"])
def test_num_frames_matches_output(name):
    ex = get_extractor(name)
    rng = np.random.default_rng(0)
    for n in LENGTHS + list(rng.integers(1, 40000, 30)):
        wave = (0.1 * rng.standard_normal(ex.padded_length(n))).astype(np.float32)
        out = ex.embed_one(wave)
        assert out.shape == (ex.num_frames(n), ex.dim), (name, n)
        assert out.dtype == np.float32 and np.isfinite(out).all()


def test_cdpam_num_frames_matches_output():
    ex = get_extractor("cdpam-content")
    for n in [1, 100, 22049, 22050, 22051, 44100 + 7]:
        out = ex.embed_one((0.1 * np.random.default_rng(n).standard_normal(n)).astype(np.float32))
        assert out.shape == (ex.num_frames(n), 512)
        np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)  # L2-normalised halves


def test_registry_names_and_aliases():
    assert EXTRACTORS.canonical("CDPAM") == "cdpam-content"
    assert EXTRACTORS.canonical("log-mel") == "melspec"
    with pytest.raises(KeyError, match="unknown model 'wavlm-small'; known: "):
        EXTRACTORS.get("wavlm-small")


def test_melspec_values():
    """A 1 kHz tone puts its energy in the Mel band that contains 1 kHz."""
    import librosa

    ex = get_extractor("melspec")
    t = np.arange(16000) / 16000
    out = ex.embed_one((0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32))
    centres = librosa.mel_frequencies(n_mels=130, fmax=8000)[1:-1]
    assert abs(centres[out[50].argmax()] - 1000) < 60

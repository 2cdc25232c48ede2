"""eGeMAPS on the config cut to its LLDs (issue 26): the same frames, bit for bit, as the bundled config's
``process_signal``, from fewer components; where the cut config cannot be built, the bundled one runs."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("opensmile")

from sergen.extractors import egemaps  # noqa: E402
from sergen.extractors.egemaps import EGeMAPS  # noqa: E402
from sergen.extractors.egemaps_lld_config import lld_only_config  # noqa: E402
from tests.test_egemaps_engine import reference, waves  # noqa: E402


def components(text: str) -> set[str]:
    import re

    return set(re.findall(r"^\s*instance\[(\w+)\]\.type", text, flags=re.M))


def test_the_cut_config_keeps_the_lld_graph_and_drops_the_functionals():
    bundled = EGeMAPS()._smile.config_path
    cut = components(lld_only_config(bundled))
    assert len(cut) == 31  # 30 components that make the LLDs, and the data memory
    assert {"lldconcat", "gemapsv01b_shs", "gemapsv01b_pitchJitter", "gemapsv01b_formantLpc",
            "egemapsv02_mfcc", "egemapsv02_smoE", "egemapsv02_smoFnz"} <= cut
    assert not {name for name in cut if "functionals" in name or "temporal" in name}
    assert "funcconcat" not in cut and "egemapsv02_leq" not in cut
    assert "\\{\\cm[sink{?}" in lld_only_config(bundled)  # the external sink is still included


def test_cut_engine_frames_equal_the_bundled_config_bit_for_bit():
    extractor = EGeMAPS()
    expected = [reference(extractor, w) for w in waves()]
    got = [extractor.embed_one(w) for w in waves()]
    assert extractor._engine  # the engine ran, not process_signal
    for want, have in zip(expected, got):
        assert have.shape == want.shape and have.tobytes() == want.tobytes()


def test_the_engine_is_built_on_the_cut_config(monkeypatch):
    built = []
    real = egemaps._lld_only_engine
    monkeypatch.setattr(egemaps, "_lld_only_engine", lambda smile, options: built.append(1) or real(smile, options))
    extractor = EGeMAPS()
    extractor.embed_one(waves()[0])
    assert built == [1]


def test_the_cut_engine_names_the_bundled_features():
    from opensmile.core.config import config

    smile = EGeMAPS()._smile
    options = {**smile._options(), "sampleRate": 16000, "nBits": 16,
               "source": egemaps.os.path.join(smile.default_config_root, config.EXTERNAL_INPUT_CONFIG)}
    engine = egemaps._lld_only_engine(smile, options)
    assert engine is not None  # None would mean: the bundled config, all 71 components
    sink = config.EXTERNAL_OUTPUT_COMPONENT
    names = [engine.external_sink_get_element_name(sink, i) for i in range(engine.external_sink_get_num_elements(sink))]
    engine.free()
    assert names == list(smile.feature_names) and len(names) == 25


def test_without_a_cut_config_the_bundled_one_runs(monkeypatch):
    import sergen.extractors.egemaps_lld_config as cut

    def unreadable(path):
        raise ValueError("no lld level")

    monkeypatch.setattr(cut, "lld_only_config", unreadable)
    extractor = EGeMAPS()
    wave = waves()[2]
    assert extractor.embed_one(wave).tobytes() == reference(extractor, wave).tobytes()
    assert extractor._engine

"""openSMILE eGeMAPSv02 low-level descriptors (25 per frame, 100 frames/s): the classic SER baseline.

Frame count, measured on opensmile 2.6: inputs shorter than 960 samples (60 ms, the pitch window) give
one frame; from 960 on, ``(n − 960) // 160 + 2``. Shorter inputs are padded to 960 samples.

One openSMILE engine per extractor, reset between utterances (``SmileEngine``): ``Smile.process_signal``
builds, configures and frees an engine for every call and wraps the frames in a pandas frame, ~8 ms a call
against ~10 ms per second of audio; on the demo's audio (calls of ~1.4 s) the engine cut
eGeMAPS's CPU seconds by 22 %. Reset gives the frames ``process_signal`` gives, value for value (``tests/test_egemaps_engine.py``).
The engine runs the config cut to the LLDs (``egemaps_lld_config``: no functionals): another ~18 %.
"""

from __future__ import annotations

import os
import signal
import threading
import weakref
from contextlib import contextmanager

import numpy as np

from sergen.extractors.base import EXTRACTORS, Extractor


@EXTRACTORS.register("egemaps", "egemapsv02", "opensmile")
class EGeMAPS(Extractor):
    name = "egemaps"
    batching = "one utterance a call (openSMILE: nothing to batch)"
    sample_rate = 16000
    uses_torch = False
    frame_rate = 100.0
    dim = 25
    min_samples = 960
    source = "opensmile package (feature set bundled)"

    def __init__(self, device: str = "cpu", weights=None, **options):
        super().__init__(device, weights, **options)
        import opensmile

        self._smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                                      feature_level=opensmile.FeatureLevel.LowLevelDescriptors)
        self.feature_names = list(self._smile.feature_names)
        self._engine: SmileEngine | None | bool = None

    def __getstate__(self):
        return {**self.__dict__, "_engine": None}  # an engine is a C object: each process builds its own

    def num_frames(self, n_samples: int) -> int:
        return (self.padded_length(n_samples) - 960) // 160 + 2

    def settings(self) -> dict:
        import opensmile

        return {"feature_set": "eGeMAPSv02", "level": "lld", "opensmile": opensmile.__version__}

    def describe_weights(self) -> dict:
        import opensmile

        return {"id": f"opensmile {opensmile.__version__} eGeMAPSv02"}

    def embed_one(self, waveform: np.ndarray) -> np.ndarray:
        with deferred_sigint():  # opensmile runs Python callbacks from C, where a Ctrl-C would be swallowed
            if self._engine is None:  # False: this opensmile offers none
                self._engine = SmileEngine.for_smile(self._smile, self.sample_rate) or False
            try:
                frames = self._engine.frames(waveform) if self._engine else None
            except BaseException:
                self._engine = None  # an engine stopped mid-run is not reused: the next call builds a new one
                raise
            if frames is None:  # no engine on this opensmile, or no frame: process_signal's own answer
                return self._smile.process_signal(waveform, self.sample_rate).to_numpy(dtype=np.float32)
            return frames


class SmileEngine:
    """One openSMILE engine run on utterance after utterance: ``process_signal``'s steps (the signal as
    16-bit integers, fed to the external audio source, frames collected from the external sink) without
    building the engine again each time — it is reset after each run, which openSMILE's API allows."""

    def __init__(self, engine, source: str, sink: str):
        self._engine, self._source, self._sink = engine, source, sink
        self._finalizer = weakref.finalize(self, engine.free)

    @classmethod
    def for_smile(cls, smile, sample_rate: int) -> "SmileEngine | None":
        """An engine configured as ``smile`` configures its own per call; None where this opensmile lacks the
        pieces (then ``process_signal`` does the work)."""
        try:
            from opensmile.core.config import config

            options = smile._options()
            options.update(source=os.path.join(smile.default_config_root, config.EXTERNAL_INPUT_CONFIG),
                           sampleRate=sample_rate, nBits=16)
            engine = _lld_only_engine(smile, options) or smile._smile(options=options)
            return cls(engine, config.EXTERNAL_SOURCE_COMPONENT, config.EXTERNAL_OUTPUT_COMPONENT)
        except (AttributeError, ImportError, TypeError):
            return None

    def frames(self, waveform: np.ndarray) -> np.ndarray | None:
        """``[T, 25]`` float32 frames of one utterance, or None when openSMILE gave no frame."""
        signal = np.array(waveform, copy=True)  # process_signal's conversion, in the input's own dtype
        signal *= 32768
        rows: list[np.ndarray] = []
        engine = self._engine
        engine.external_sink_set_callback_ex(self._sink, lambda data, meta: rows.append(data.copy()))
        engine.external_audio_source_write_data(self._source, bytes(signal.astype(np.int16)))
        engine.external_audio_source_set_eoi(self._source)
        engine.run()
        engine.reset()  # ready for the next utterance; its callback is registered anew
        getattr(engine, "_callbacks", []).clear()  # the old callbacks, no longer called: not kept for every call
        return np.vstack(rows).astype(np.float32) if rows else None


def _lld_only_engine(smile, options: dict):
    """An engine on the config cut to the LLDs (``egemaps_lld_config``), or None where the cut config cannot
    be built or names other features than ``smile`` (then the bundled config does the work). openSMILE
    reads its config once, in ``initialize``: the file is removed right after."""
    import tempfile

    from opensmile.core.lib import OpenSMILE, OpenSmileException

    from sergen.extractors.egemaps_lld_config import lld_only_config

    if options.get("sinkLevel") != "lld":
        return None
    try:
        text = lld_only_config(smile.config_path)
    except (OSError, ValueError):
        return None
    with tempfile.TemporaryDirectory(prefix="sergen-egemaps-") as folder:
        path = os.path.join(folder, "eGeMAPSv02_lld.conf")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        engine = OpenSMILE()
        try:
            engine.initialize(config_file=path, options=options, loglevel=smile.loglevel,
                              log_file=smile.logfile, debug=smile.verbose)
            from opensmile.core.config import config

            sink = config.EXTERNAL_OUTPUT_COMPONENT
            names = [engine.external_sink_get_element_name(sink, i)
                     for i in range(engine.external_sink_get_num_elements(sink))]
        except OpenSmileException:
            engine.free()
            return None
    if names != list(smile.feature_names):
        engine.free()
        return None
    return engine


@contextmanager
def deferred_sigint():
    """Hold a Ctrl-C that arrives while opensmile runs and raise it once opensmile returns. Raised inside
    opensmile's ctypes callback, the KeyboardInterrupt is printed and dropped: extraction went on, and the
    utterance came back cut short and was marked failed. Held, it stops extraction between utterances, with
    what was written kept and the interrupted utterance still pending. (Main thread only: elsewhere Python
    delivers no SIGINT.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


"""openSMILE eGeMAPSv02 low-level descriptors (25 per frame, 100 frames/s): the classic SER baseline.

Frame count, measured on opensmile 2.6: inputs shorter than 960 samples (60 ms, the pitch window) give
one frame; from 960 on, ``(n − 960) // 160 + 2``. Shorter inputs are padded to 960 samples.
"""

from __future__ import annotations

import signal
import threading
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
            return self._smile.process_signal(waveform, self.sample_rate).to_numpy(dtype=np.float32)


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


"""Log-Mel spectrogram: 128 bands at 16 kHz, 25 ms window, 10 ms hop (100 frames/s). No weights."""

from __future__ import annotations

import numpy as np

from sergen.extractors.base import EXTRACTORS, Extractor
from sergen.extractors.log_mel import LogMel
from sergen.threads import one_blas_thread


@EXTRACTORS.register("melspec", "mel", "log-mel", "mel-spec")
class MelSpec(Extractor):
    name = "melspec"
    batching = "one utterance a call (signal processing: nothing to batch)"
    sample_rate = 16000
    uses_torch = False
    frame_rate = 100.0
    dim = 128
    spectrogram = True
    min_samples = 400  # one analysis window; shorter input is padded (and recorded)
    source = "librosa (no weights)"
    n_fft, hop, n_mels = 400, 160, 128

    def num_frames(self, n_samples: int) -> int:
        return 1 + self.padded_length(n_samples) // self.hop  # centred frames

    def settings(self) -> dict:
        return {"n_fft": self.n_fft, "hop_length": self.hop, "n_mels": self.n_mels, "log_floor": 1e-10}

    def __init__(self, device: str = "cpu", weights=None, **options):
        super().__init__(device, weights, **options)
        # window and filterbank built once; librosa's values without importing librosa (sergen.extractors.log_mel)
        self._log_mel = LogMel(self.sample_rate, self.n_fft, self.hop, self.n_mels, floor=1e-10)

    def embed_one(self, waveform: np.ndarray) -> np.ndarray:
        with one_blas_thread():  # the same frames on any machine, pinned by extraction or not
            return self._log_mel(np.asarray(waveform, dtype=np.float32))

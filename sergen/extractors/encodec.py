"""EnCodec 24 kHz (transformers ``EncodecModel``, ``facebook/encodec_24khz``): the encoder's output
before the quantiser, 128-d at 75 frames/s; ⌈N/320⌉ frames for N samples."""

from __future__ import annotations

import numpy as np

from sergen.extractors.base import EXTRACTORS
from sergen.extractors.transformers_base import TransformersExtractor


@EXTRACTORS.register("encodec", "encodec-24khz")
class Encodec(TransformersExtractor):
    name = "encodec"
    sample_rate = 24000
    frame_rate = 75.0
    dim = 128
    source = "transformers EncodecModel, facebook/encodec_24khz"
    repo_id = "facebook/encodec_24khz"
    model_class = "EncodecModel"

    def config_dim(self, config) -> int:
        return config.hidden_size

    def num_frames(self, n_samples: int) -> int:
        return -(-self.padded_length(n_samples) // 320)

    def embed_one(self, waveform: np.ndarray) -> np.ndarray:
        import torch

        x = self.to_device(waveform.reshape(1, 1, -1))
        with torch.inference_mode(), self.autocast():
            out = self.model.encoder(x)
        return out[0].T.float().cpu().numpy()

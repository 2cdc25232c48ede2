"""DAC 44.1 kHz (transformers ``DacModel``, ``descript/dac_44khz``): the encoder's latent before
quantisation, 1024-d at ≈86 frames/s. The input is zero-padded to a multiple of the hop (512), so
N samples give ⌈N/512⌉ frames."""

from __future__ import annotations

import numpy as np

from sergen.extractors.base import EXTRACTORS
from sergen.extractors.transformers_base import TransformersExtractor


@EXTRACTORS.register("dac-44khz", "dac")
class Dac44k(TransformersExtractor):
    name = "dac-44khz"
    sample_rate = 44100
    frame_rate = 44100 / 512
    dim = 1024
    source = "transformers DacModel, descript/dac_44khz"
    repo_id = "descript/dac_44khz"
    model_class = "DacModel"

    @property
    def hop(self) -> int:
        return int(np.prod(self.model.config.downsampling_ratios))

    def config_dim(self, config) -> int:
        return config.encoder_hidden_size * 2 ** len(config.downsampling_ratios)

    def num_frames(self, n_samples: int) -> int:
        return -(-self.padded_length(n_samples) // 512)

    def embed_one(self, waveform: np.ndarray) -> np.ndarray:
        import torch

        pad = (-len(waveform)) % self.hop
        x = self.to_device(np.pad(waveform, (0, pad)).reshape(1, 1, -1))
        with torch.inference_mode(), self.autocast():
            out = self.model.encoder(x)
        return out[0].T.float().cpu().numpy()

"""DAC 44.1 kHz (transformers ``DacModel``, ``descript/dac_44khz``): the encoder's latent before
quantisation, 1024-d at ≈86 frames/s. The input is zero-padded to a multiple of the hop (512), so
N samples give ⌈N/512⌉ frames.

Batching: buckets of equal frame count. The convolutions are not causal and pad with zeros, so a batch
member padded past its own multiple of the hop would see other zeros than alone; utterances padded to the
same multiple are identical inputs in shape and stack without any further padding."""

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
    batching = "buckets of equal ⌈N/512⌉ (the input is padded to the hop anyway; no further padding)"

    @property
    def hop(self) -> int:
        return int(np.prod(self.model.config.downsampling_ratios))

    def config_dim(self, config) -> int:
        return config.encoder_hidden_size * 2 ** len(config.downsampling_ratios)

    def num_frames(self, n_samples: int) -> int:
        return -(-self.padded_length(n_samples) // 512)

    def batch_key(self, n_samples: int) -> int:
        return -(-self.padded_length(n_samples) // self.hop)

    def embed(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        """Waveforms of one ``batch_key``, each zero-padded to that many hops, in one pass."""
        if self.mixes_keys(waveforms):
            return self.embed_by_key(waveforms)
        import torch

        n = self.batch_key(len(waveforms[0])) * self.hop
        x = self.to_device(np.stack([np.pad(w, (0, n - len(w))) for w in waveforms])[:, None, :].astype(np.float32))
        with torch.inference_mode(), self.autocast():
            out = self.model.encoder(x)
        return list(out.transpose(1, 2).float().cpu().numpy())

"""EnCodec 24 kHz (transformers ``EncodecModel``, ``facebook/encodec_24khz``): the encoder's output
before the quantiser, 128-d at 75 frames/s; ⌈N/320⌉ frames for N samples.

Batching: exact-length buckets. Each convolution pads its input's end by an amount (and, non-causal, a reflect
padding) that depends on the length, so the last frames of a zero-padded batch member differ from it alone."""

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
    batching = "exact-length buckets: the convolutions' end padding depends on the length"

    def config_dim(self, config) -> int:
        return config.hidden_size

    def num_frames(self, n_samples: int) -> int:
        return -(-self.padded_length(n_samples) // 320)

    def embed(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        """Waveforms of one length (``batch_key``) stacked into one pass."""
        if self.mixes_keys(waveforms):
            return self.embed_by_key(waveforms)
        import torch

        x = self.to_device(np.stack(waveforms)[:, None, :].astype(np.float32))
        with torch.inference_mode(), self.autocast():
            out = self.model.encoder(x)
        return list(out.transpose(1, 2).float().cpu().numpy())

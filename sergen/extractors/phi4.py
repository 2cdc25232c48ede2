"""Phi-4-multimodal's audio encoder (transformers ``Phi4MultimodalAudioModel``): the output of the last
Conformer block, 1024-d at 12.5 frames/s; ⌈n_mel/8⌉ frames with n_mel = ⌊(N − 400)/160⌋ + 1.

Only the encoder is built and only its weights are read: the checkpoint's keys under
``model.embed_tokens_extend.audio_embed.encoder.`` are taken from the shards that hold them (per
``model.safetensors.index.json``) and loaded strictly — the 5.6B language model is never built. The hub's
main branch is custom code transformers 5 does not map; ``refs/pr/70`` is the transformers-format
revision. The encoder's attention mask is added as a 0/1 bias, not a true mask, so padded batches differ
from single inputs (MODELS.md), and its convolution modules would carry padding into the frames anyway.
Batching: buckets of equal Mel-frame count — each utterance's features computed alone, then stacked
without padding (equal shapes, no mask needed). Inputs over 40 s are cut into 40 s pieces inside.
"""

from __future__ import annotations

import json

import numpy as np

from sergen.errors import SergenError
from sergen.extractors.base import EXTRACTORS
from sergen.extractors.transformers_base import TransformersExtractor

ENCODER_PREFIX = "model.embed_tokens_extend.audio_embed.encoder."


def encoder_state_dict(path) -> dict:
    """The encoder's tensors, read from only the safetensors shards that hold them."""
    from safetensors import safe_open

    index = path / "model.safetensors.index.json"
    if index.exists():
        weight_map = json.loads(index.read_text())["weight_map"]
        shards = sorted({f for k, f in weight_map.items() if k.startswith(ENCODER_PREFIX)})
    else:
        shards = ["model.safetensors"] if (path / "model.safetensors").exists() else []
    state = {}
    for shard in shards:
        with safe_open(str(path / shard), framework="pt") as fh:
            for key in fh.keys():
                if key.startswith(ENCODER_PREFIX):
                    state[key[len(ENCODER_PREFIX):]] = fh.get_tensor(key)
    if not state:
        raise SergenError("no Phi-4 audio-encoder weights in this checkpoint", where=str(path),
                          fix=f"expected keys starting with {ENCODER_PREFIX!r} in model*.safetensors")
    return state


@EXTRACTORS.register("phi4", "phi-4", "phi4-audio")
class Phi4Audio(TransformersExtractor):
    name = "phi4"
    sample_rate = 16000
    frame_rate = 12.5
    dim = 1024
    min_samples = 400
    source = "transformers Phi4MultimodalAudioModel, microsoft/Phi-4-multimodal-instruct (refs/pr/70)"
    repo_id = "microsoft/Phi-4-multimodal-instruct"
    revision = "refs/pr/70"
    batching = "buckets of equal Mel-frame count, no padding (its mask is an additive 0/1 bias, not a mask)"

    @property
    def model(self):
        if self._model is None:
            import transformers

            config = transformers.Phi4MultimodalConfig.from_pretrained(self.path).audio_config
            model = transformers.Phi4MultimodalAudioModel(config)
            model.load_state_dict(encoder_state_dict(self.path), strict=True)
            self._model = model.to(self.device).eval()
            self._features = transformers.Phi4MultimodalFeatureExtractor.from_pretrained(self.path)
        return self._model

    def config_dim(self, config) -> int:
        return config.hidden_size

    def num_frames(self, n_samples: int) -> int:
        n_mel = (self.padded_length(n_samples) - 400) // 160 + 1
        return -(-n_mel // 8)

    def batch_key(self, n_samples: int) -> int:
        """The Mel-frame count: the encoder's input length."""
        return (self.padded_length(n_samples) - 400) // 160 + 1

    def embed(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        """Waveforms of one Mel-frame count (``batch_key``): features of each alone, stacked, one pass."""
        if self.mixes_keys(waveforms):
            return self.embed_by_key(waveforms)
        import torch

        model = self.model
        feats = [self._features(w, sampling_rate=self.sample_rate, return_tensors="pt")["audio_input_features"]
                 for w in waveforms]
        x = self.to_device(torch.cat(feats))
        with torch.inference_mode(), self.autocast():
            out = model(x, None)
        out = out.last_hidden_state if hasattr(out, "last_hidden_state") else out
        return list(out.float().cpu().numpy())

"""WavLM Large (transformers ``WavLMModel``, ``microsoft/wavlm-large`` — the base model, not an ASR
fine-tune): hidden states of the chosen layers, per-utterance zero-mean unit-variance input, 50 frames/s,
⌊(N − 400)/320⌋ + 1 frames. Several layers are stored side by side (dim = 1024 × layers); the probe's
``--layer`` picks one. Default layers: 6, 12, 18, 24 (hidden state 0 is the CNN + projection)."""

from __future__ import annotations

import numpy as np

import dataclasses

from sergen.errors import SergenError
from sergen.extractors.base import EXTRACTORS
from sergen.extractors.options import option
from sergen.extractors.transformers_base import TransformersExtractor, padding_trap, parse_layers

DEFAULT_LAYERS = (6, 12, 18, 24)


@dataclasses.dataclass(frozen=True)
class WavLMOptions:
    layers: tuple[int, ...] = option(DEFAULT_LAYERS, "hidden states stored side by side", parse_layers,
                                     flag="--layers")


@EXTRACTORS.register("wavlm-large", "wavlm")
class WavLMLarge(TransformersExtractor):
    name = "wavlm-large"
    sample_rate = 16000
    frame_rate = 50.0
    dim = 1024
    min_samples = 400
    batchable = True  # padded batches with an attention mask match one-at-a-time (tested); see batch_key
    batching = ("padded batches with an attention mask (layer-norm feature encoder: exact); eager attention "
                "(no SDPA: WavLM's gated relative position bias)")
    source = "transformers WavLMModel, microsoft/wavlm-large"
    repo_id = "microsoft/wavlm-large"
    model_class = "WavLMModel"
    Options = WavLMOptions

    def __init__(self, device: str = "cpu", weights=None, revision: str | None = None, **options):
        super().__init__(device, weights, revision, **options)
        self.layers = self.config.layers
        self.dim = 1024 * len(self.layers)  # until the checkpoint's config says otherwise

    def config_dim(self, config) -> int:
        n_states = config.num_hidden_layers + 1
        bad = [layer for layer in self.layers if not 0 <= layer < n_states]
        if bad:
            raise SergenError(f"this WavLM has hidden states 0…{n_states - 1}; layer(s) {bad} do not exist",
                              fix="choose --layers among those")
        return config.hidden_size * len(self.layers)

    def batch_key(self, n_samples: int) -> int:
        """One group for the published (layer-norm) checkpoint; exact-length buckets for a group-norm one."""
        return int(n_samples) if padding_trap(self.model.config) else 0

    def settings(self) -> dict:
        return {"layers": list(self.layers), "normalise": "per-utterance"}

    def num_frames(self, n_samples: int) -> int:
        return (self.padded_length(n_samples) - 400) // 320 + 1

    def embed(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        import torch

        if self.mixes_keys(waveforms):
            return self.embed_by_key(waveforms)
        model = self.model
        lengths = [len(w) for w in waveforms]
        batch = np.zeros((len(waveforms), max(lengths)), np.float32)
        mask = np.zeros_like(batch, dtype=np.int64)
        for i, w in enumerate(waveforms):
            batch[i, : len(w)] = (w - w.mean()) / np.sqrt(w.var() + 1e-7)
            mask[i, : len(w)] = 1
        exact = padding_trap(model.config) is None
        with torch.inference_mode(), self.autocast():
            out = model(self.to_device(batch), attention_mask=self.to_device(mask) if exact else None,
                        output_hidden_states=True)
        states = torch.cat([out.hidden_states[layer] for layer in self.layers], dim=-1).float().cpu().numpy()
        return [states[i, : self.num_frames(n)] for i, n in enumerate(lengths)]

"""``hf:<model-id>``: any transformers speech encoder of the wav2vec2 family (wav2vec2, HuBERT, WavLM,
data2vec-audio, UniSpeech …) — hidden states of one layer, frame counts from the model's own
convolution arithmetic. One utterance at a time (no assumption about how padding affects the model)."""

from __future__ import annotations

import numpy as np

from sergen.errors import SergenError
from sergen.extractors.transformers_base import TransformersExtractor

PREFIX = "hf:"


def store_name(model_id: str) -> str:
    """A folder-safe name for stores: ``hf:facebook/hubert-base-ls960`` → ``hf-facebook--hubert-base-ls960``."""
    return "hf-" + model_id.replace("/", "--")


class HFEncoder(TransformersExtractor):
    source = "any transformers wav2vec2-family encoder"
    model_class = "AutoModel"

    def __init__(self, model_id: str, device: str = "cpu", weights=None, layer: int = -1, revision: str | None = None,
                 **options):
        super().__init__(device, weights, revision, **options)
        self.repo_id, self.layer = model_id, int(layer)
        self.name = store_name(model_id)
        self._extractor = None

    def load(self) -> "HFEncoder":
        import transformers

        model = self.model
        if not hasattr(model, "_get_feat_extract_output_lengths"):
            raise SergenError(f"{self.repo_id} is a {type(model).__name__}, not a wav2vec2-family encoder",
                              fix="hf: takes wav2vec2, HuBERT, WavLM, data2vec-audio … checkpoints")
        self._extractor = transformers.AutoFeatureExtractor.from_pretrained(self.path)
        self.sample_rate = int(self._extractor.sampling_rate)
        conv_stride = int(np.prod(model.config.conv_stride))
        self.frame_rate = self.sample_rate / conv_stride
        self.min_samples = int(model.config.conv_kernel[0]) + sum(
            (k - 1) * int(np.prod(model.config.conv_stride[:i])) for i, k in enumerate(model.config.conv_kernel) if i)
        self.dim = model.config.hidden_size
        return self

    def settings(self) -> dict:
        return {"layer": self.layer, "normalise": bool(getattr(self._extractor, "do_normalize", False))}

    def num_frames(self, n_samples: int) -> int:
        import torch

        length = self.model._get_feat_extract_output_lengths(torch.tensor(self.padded_length(n_samples)))
        return int(length)

    def embed_one(self, waveform: np.ndarray) -> np.ndarray:
        import torch

        x = waveform
        if getattr(self._extractor, "do_normalize", False):
            x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
        with torch.inference_mode(), self.autocast():
            out = self.model(self.to_device(np.asarray(x, np.float32)[None]),
                             output_hidden_states=True)
        return out.hidden_states[self.layer][0].float().cpu().numpy()

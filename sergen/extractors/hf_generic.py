"""``hf:<model-id>``: any transformers speech encoder of the wav2vec2 family (wav2vec 2.0, HuBERT, WavLM,
data2vec-audio, UniSpeech …, e.g. EmoBox's facebook/hubert-large-ll60k, facebook/wav2vec2-large-960h-lv60-self,
facebook/data2vec-audio-large): hidden states of one layer (``layer``, default the last) or of several stored
side by side (``layers``, as for wavlm-large); frame counts from the model's own convolution arithmetic. A
checkpoint with a task head (``…ForCTC``, ``…ForPreTraining``) loads its encoder; the head is ignored, but a
weight of the encoder missing from the checkpoint is refused (it would be random).

Batching: padded batches with an attention mask where that is exact (a layer-norm feature encoder and one
plain positional convolution: wav2vec2-large/lv60, HuBERT-large, WavLM-large); exact-length buckets where it
is not (group-norm "base" models, which take no mask; data2vec-audio's stacked positional convolutions; HuBERT's
``conv_pos_batch_norm``) — ``padding_trap`` says which and why. SDPA attention where the architecture has it."""

from __future__ import annotations

import dataclasses

import numpy as np

from sergen.errors import SergenError
from sergen.extractors.options import option
from sergen.extractors.transformers_base import (TransformersExtractor, attention_kind, check_layers, padding_trap,
                                                 parse_layers)

PREFIX = "hf:"


def store_name(model_id: str) -> str:
    """A folder-safe name for stores: ``hf:facebook/hubert-base-ls960`` → ``hf-facebook--hubert-base-ls960``."""
    return "hf-" + model_id.replace("/", "--")


@dataclasses.dataclass(frozen=True)
class HFOptions:
    layer: int = option(-1, "the one hidden state to store (-1: the last)", int)
    layers: tuple[int, ...] | None = option(None, "several hidden states stored side by side (instead of layer)",
                                            parse_layers, flag="--layers")


class HFEncoder(TransformersExtractor):
    source = "any transformers wav2vec2-family encoder"
    model_class = "AutoModel"
    batching = "per checkpoint: padded + attention mask where exact, else exact-length buckets (padding_trap)"

    Options = HFOptions
    options_label = "hf: models"

    def __init__(self, model_id: str, device: str = "cpu", weights=None, revision: str | None = None, **options):
        self.name = f"hf:{model_id}"  # for option errors; the store's name below
        super().__init__(device, weights, revision, **options)
        self.repo_id, self.layer = model_id, self.config.layer
        self.layers = self.config.layers
        if self.layers is not None and self.layer != -1:
            raise SergenError(f"hf:{model_id}: give one layer or several layers, not both",
                              fix="pass layers=… alone (several are stored side by side)")
        self.name = store_name(model_id)
        self._extractor = None

    @property
    def model(self):
        """Loaded in float32 (transformers 5 would keep a half-precision checkpoint's dtype), with a check that
        every weight of the encoder came from the checkpoint. The config is checked first, so a model of
        another kind is refused before gigabytes of its weights are read."""
        if self._model is None:
            import torch
            import transformers

            cannot_load = dict(where=str(self.path), fix="give the folder of a transformers checkpoint (config.json "
                                                         "with model.safetensors or pytorch_model.bin)")
            try:
                config = transformers.AutoConfig.from_pretrained(self.path, local_files_only=True)
            except (OSError, ValueError) as exc:
                raise SergenError(f"transformers cannot read the config of {self.repo_id}: "
                                  f"{str(exc).strip().splitlines()[0]}", **cannot_load) from exc
            self._refuse_other_kinds(config)
            try:
                model, info = transformers.AutoModel.from_pretrained(
                    self.path, local_files_only=True, dtype=torch.float32, output_loading_info=True,
                    attn_implementation=attention_kind(transformers.AutoModel._model_mapping[type(config)]))
            except (OSError, ValueError) as exc:
                raise SergenError(f"transformers cannot load {self.repo_id}: {str(exc).strip().splitlines()[0]}",
                                  **cannot_load) from exc
            # masked_spec_embed serves only training (SpecAugment); anything else missing would stay random
            missing = [k for k in info.get("missing_keys", ()) if not k.endswith("masked_spec_embed")]
            if missing:
                raise SergenError(f"{len(missing)} weight(s) of the {type(model).__name__} are not in the "
                                  f"{self.repo_id} checkpoint (e.g. {sorted(missing)[0]}); they would be random",
                                  where=str(self.path), fix="give the complete checkpoint")
            self._model = model.to(self.device).eval()
        return self._model

    def _refuse_other_kinds(self, config) -> None:
        """The wav2vec2 family: a convolutional front end over the waveform (``conv_stride``) under a Transformer."""
        if hasattr(config, "conv_stride") and hasattr(config, "conv_kernel"):
            return
        kind = config.model_type
        raise SergenError(f"{self.repo_id} is a {kind} model, not a wav2vec2-family encoder", where=str(self.path),
                          fix="use whisper-large-v3 (or whisper-medium, -small, -base) with --weights for Whisper"
                          if kind == "whisper" else "hf: takes wav2vec2, HuBERT, WavLM, data2vec-audio … checkpoints")

    def load(self) -> "HFEncoder":
        import transformers

        model = self.model
        self._check_layers(model.config)
        if not (self.path / "preprocessor_config.json").exists():
            raise SergenError(f"no preprocessor_config.json beside the {self.repo_id} weights", where=str(self.path),
                              fix="copy it from the model's hub page (it sets the sample rate and whether input is "
                                  "normalised per utterance), or write one with transformers' Wav2Vec2FeatureExtractor("
                                  "do_normalize=…).save_pretrained(DIR), do_normalize as the model was trained "
                                  "(fairseq's `normalize`)")
        self._extractor = transformers.AutoFeatureExtractor.from_pretrained(self.path)
        self.sample_rate = int(self._extractor.sampling_rate)
        conv_stride = int(np.prod(model.config.conv_stride))
        self.frame_rate = self.sample_rate / conv_stride
        self.min_samples = int(model.config.conv_kernel[0]) + sum(
            (k - 1) * int(np.prod(model.config.conv_stride[:i])) for i, k in enumerate(model.config.conv_kernel) if i)
        self.dim = model.config.hidden_size * len(self.layers or [self.layer])
        return self

    def _check_layers(self, config) -> None:
        n_states = config.num_hidden_layers + 1
        if self.layers is not None:
            check_layers(self.layers, n_states, f"{self.repo_id} encoder")
        elif not -n_states <= self.layer < n_states:
            raise SergenError(f"this {self.repo_id} encoder has hidden states 0…{n_states - 1}; layer {self.layer} "
                              "does not exist", fix="choose a layer among those (-1 is the last)")

    def settings(self) -> dict:
        normalise = bool(getattr(self._extractor, "do_normalize", False))
        if self.layers is None:  # one layer: the settings of stores made before ``layers`` existed, so they resume
            return {"layer": self.layer, "normalise": normalise}
        return {"layers": list(self.layers), "normalise": normalise}

    def num_frames(self, n_samples: int) -> int:
        import torch

        length = self.model._get_feat_extract_output_lengths(torch.tensor(self.padded_length(n_samples)))
        return int(length)

    def batch_key(self, n_samples: int) -> int:
        return int(n_samples) if padding_trap(self.model.config) else 0

    def embed(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        """One forward pass: padded with an attention mask where that is exact, else (equal lengths, from
        ``batch_key``) stacked with no mask; per-utterance normalisation over each utterance's own samples."""
        if self.mixes_keys(waveforms):
            return self.embed_by_key(waveforms)
        import torch

        lengths = [len(w) for w in waveforms]
        batch = np.zeros((len(waveforms), max(lengths)), np.float32)
        mask = np.zeros(batch.shape, np.int64)
        for i, w in enumerate(waveforms):
            if getattr(self._extractor, "do_normalize", False):
                w = (w - w.mean()) / np.sqrt(w.var() + 1e-7)
            batch[i, : len(w)], mask[i, : len(w)] = w, 1
        masked = padding_trap(self.model.config) is None and len(set(lengths)) > 1
        with torch.inference_mode(), self.autocast():
            out = self.model(self.to_device(batch), attention_mask=self.to_device(mask) if masked else None,
                             output_hidden_states=True)
        states = torch.cat([out.hidden_states[layer] for layer in (self.layers or [self.layer])], dim=-1)
        states = states.float().cpu().numpy()
        return [states[i, : self.num_frames(n)] for i, n in enumerate(lengths)]

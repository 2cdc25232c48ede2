"""Shared machinery of the extractors built on transformers models: weights resolution, lazy loading,
device placement."""

from __future__ import annotations

from sergen.errors import SergenError
from sergen.extractors.base import Extractor
from sergen.extractors.hf import is_present, resolve_weights, weights_record


def parse_layers(layers) -> tuple[int, ...]:
    """``"6,12"`` (the CLI's form) or a sequence of ints → a tuple of hidden-state numbers, in the order given;
    ``ValueError`` for anything else (a word, a negative number, a layer named twice, none at all)."""
    parts = layers.split(",") if isinstance(layers, str) else list(layers)
    try:
        numbers = tuple(int(str(x).strip()) for x in parts)
    except ValueError:
        raise ValueError("layers are hidden-state numbers separated by commas, e.g. 6,12,18,24") from None
    if not numbers or min(numbers) < 0:
        raise ValueError("give one or more hidden-state numbers of 0 or more")
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"a hidden state is named twice: {list(numbers)}")
    return numbers


def check_layers(layers, n_states: int, model_name: str) -> None:
    """Every chosen hidden state must exist: 0 (the input embedding) … the number of blocks."""
    bad = [layer for layer in layers if not 0 <= layer < n_states]
    if bad:
        raise SergenError(f"this {model_name} has hidden states 0…{n_states - 1}; layer(s) {bad} do not exist",
                          fix="choose --layers among those")
    if len(set(layers)) != len(layers):
        raise SergenError(f"--layers names a hidden state twice: {list(layers)}", fix="name each layer once")


def padding_trap(config) -> str | None:
    """Why padded batches of a wav2vec2-family encoder would not equal single inputs, or None when an
    attention mask makes them exact. Exact needs a per-frame (layer-norm) feature encoder and a positional
    convolution that sees the masked frames as the zeros a single input is padded with."""
    if getattr(config, "feat_extract_norm", "layer") != "layer":
        return "group-norm feature encoder (normalises over time, padding included; such models take no mask)"
    if getattr(config, "conv_pos_batch_norm", False):
        return "batch norm before the positional convolution turns masked zeros into non-zeros (transformers#47739)"
    if getattr(config, "num_conv_pos_embedding_layers", 1) > 1 or config.model_type == "data2vec-audio":
        return "stacked positional convolutions carry padding into the frames (data2vec-audio, transformers#25621)"
    return None


def attention_kind(model_class) -> str:
    """transformers' SDPA attention where the architecture offers it, else its own (eager)."""
    return "sdpa" if getattr(model_class, "_supports_sdpa", False) else "eager"


class TransformersExtractor(Extractor):
    repo_id = ""
    revision = "main"  # pin with --revision or [revisions] in the config; the store records the snapshot hash
    model_class = ""
    precisions = ("fp32", "bf16", "fp16")

    def __init__(self, device: str = "cpu", weights=None, revision: str | None = None, **options):
        super().__init__(device, weights, revision, **options)
        self._model = None
        self._path = None

    @property
    def path(self):
        if self._path is None:
            self._path = resolve_weights(self.repo_id, self.revision, self.weights, self.name)
        return self._path

    @property
    def model(self):
        if self._model is None:
            import transformers

            cls = getattr(transformers, self.model_class)
            self._model = cls.from_pretrained(self.path, local_files_only=True,
                                              attn_implementation=attention_kind(cls)).to(self.device).eval()
        return self._model

    def config_dim(self, config) -> int:
        return self.dim

    def load(self) -> "TransformersExtractor":
        self.dim = self.config_dim(self.model.config)
        return self

    def describe_weights(self) -> dict:
        return weights_record(self.repo_id, self.revision, self.path)

    def weights_present(self) -> bool:
        return is_present(self.repo_id, self.revision, self.weights)

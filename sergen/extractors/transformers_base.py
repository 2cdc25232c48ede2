"""Shared machinery of the extractors built on transformers models: weights resolution, lazy loading,
device placement."""

from __future__ import annotations

from sergen.errors import SergenError
from sergen.extractors.base import Extractor
from sergen.extractors.hf import is_present, resolve_weights, weights_record


def parse_layers(layers) -> tuple[int, ...]:
    """``"6,12"`` (the CLI's form) or a sequence of ints → a tuple of hidden-state numbers, in the order given."""
    return tuple(int(x) for x in (layers.split(",") if isinstance(layers, str) else layers))


def check_layers(layers, n_states: int, model_name: str) -> None:
    """Every chosen hidden state must exist: 0 (the input embedding) … the number of blocks."""
    bad = [layer for layer in layers if not 0 <= layer < n_states]
    if bad:
        raise SergenError(f"this {model_name} has hidden states 0…{n_states - 1}; layer(s) {bad} do not exist",
                          fix="choose --layers among those")
    if len(set(layers)) != len(layers):
        raise SergenError(f"--layers names a hidden state twice: {list(layers)}", fix="name each layer once")


class TransformersExtractor(Extractor):
    repo_id = ""
    revision = "main"  # pin with --revision or [revisions] in the config; the store records the snapshot hash
    model_class = ""

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
            self._model = cls.from_pretrained(self.path, local_files_only=True).to(self.device).eval()
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

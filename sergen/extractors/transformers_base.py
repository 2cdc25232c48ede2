"""Shared machinery of the extractors built on transformers models: weights resolution, lazy loading,
device placement."""

from __future__ import annotations

from sergen.extractors.base import Extractor
from sergen.extractors.hf import is_present, resolve_weights, weights_record


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

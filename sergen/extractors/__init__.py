"""Extractors, registered by the poster's names; ``get_extractor(name)`` builds one."""

from sergen.extractors import cdpam, clap, dac, egemaps, encodec, melspec, phi4, vggish, wavlm, whisper  # noqa: F401  (registration)
from sergen.extractors.base import EXTRACTORS, Extractor
from sergen.extractors.hf_generic import PREFIX, HFEncoder, store_name


def get_extractor(name: str, weights=None, revision: str | None = None, **kwargs) -> Extractor:
    """An extractor by registered name, or ``hf:<model-id>`` for any wav2vec2-family encoder. Weights and
    revision not given here come from the configuration (``sergen config set-weights``, ``[revisions]``)."""
    from sergen.config import configured_revision, configured_weights

    canonical = canonical_model(name)
    weights = weights or configured_weights(canonical)
    revision = revision or configured_revision(canonical)
    if name.startswith(PREFIX):
        return HFEncoder(name[len(PREFIX):], weights=weights, revision=revision, **kwargs)
    return EXTRACTORS.get(name)(weights=weights, revision=revision, **kwargs)


def canonical_model(name: str) -> str:
    """The name stores are kept under: a registered name (aliases resolved), the folder-safe form of
    ``hf:<id>``, or any other name as given (stores made by other tools or benchmarks)."""
    if name.startswith(PREFIX):
        return store_name(name[len(PREFIX):])
    return EXTRACTORS.resolve(name)


def model_uses_torch(model) -> bool:
    """Whether a model (registered name or alias, class or instance) runs torch; names not registered
    (``hf:<id>``, any other encoder) do."""
    if isinstance(model, str):
        if model not in EXTRACTORS:
            return True
        model = EXTRACTORS.get(model)
    return bool(getattr(model, "uses_torch", True))


def default_device(model) -> str:
    """CUDA when torch sees a GPU, else the CPU. Models that never use torch get the CPU without importing
    it: the import alone costs about two seconds, longer than extracting a small corpus with melspec."""
    if not model_uses_torch(model):
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


__all__ = ["EXTRACTORS", "Extractor", "get_extractor", "canonical_model", "default_device", "model_uses_torch"]

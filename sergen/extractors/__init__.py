"""Extractors, registered by the poster's names; ``get_extractor(name)`` builds one."""

from sergen.extractors import cdpam, egemaps, melspec  # noqa: F401  (registration)
from sergen.extractors.base import EXTRACTORS, Extractor


def get_extractor(name: str, **kwargs) -> Extractor:
    return EXTRACTORS.get(name)(**kwargs)


__all__ = ["EXTRACTORS", "Extractor", "get_extractor"]

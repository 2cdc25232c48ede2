"""The workspace manifest of a corpus as a protocol table, and whether it applies to a stores folder: what
``open_store`` and the probe's protocol join both take labels, splits and speakers from."""

from __future__ import annotations

from functools import lru_cache

from sergen.config import data_dir
from sergen.corpora.manifest import load_manifest
from sergen.paths import stores_root_key
from sergen.protocols.protocol import ProtocolTable, table_from


def uses_workspace_manifest(stores_root: str | None) -> bool:
    return stores_root is None or stores_root_key(stores_root) == stores_root_key(data_dir("stores"))


@lru_cache(maxsize=32)
def manifest_table(corpus: str, path: str, mtime_ns: int) -> ProtocolTable:
    """Cached per process, keyed by the manifest's modification time: an edited manifest is read again."""
    manifest, _ = load_manifest(corpus, path)
    return table_from(manifest, corpus, path)

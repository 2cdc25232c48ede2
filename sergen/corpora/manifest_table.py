"""The workspace manifest of a corpus as a protocol table: what ``open_store`` and the probe's protocol join
both take labels, splits and speakers from (where a store's handle, ``StoreRef.manifests``, says it applies)."""

from __future__ import annotations

from functools import lru_cache

from sergen.corpora.manifest import load_manifest
from sergen.protocols.protocol import ProtocolTable, table_from


@lru_cache(maxsize=32)
def manifest_table(corpus: str, path: str, mtime_ns: int) -> ProtocolTable:
    """Cached per process, keyed by the manifest's modification time: an edited manifest is read again."""
    manifest, _ = load_manifest(corpus, path)
    return table_from(manifest, corpus, path)

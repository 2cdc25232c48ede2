"""A corpus root moved with ``sergen config set-root`` while a manifest records another: extraction and the
stores' audio checks read the root recorded beside the manifest, so that manifest is rebuilt from the new root
(with the reader options it was made with) before the config changes. A new root sergen cannot read as the
corpus changes nothing: never the new root in the config and the old files read."""

from __future__ import annotations

import json
from pathlib import Path

from sergen.corpora.base import CORPUS_READERS
from sergen.corpora.manifest import manifest_hash, manifest_path, read_corpus, recorded_root, write_manifest
from sergen.errors import SergenError


def rebuild_for_root(corpus: str, root: str | Path) -> str | None:
    """Rebuild ``corpus``'s manifest from ``root`` when one exists recording another root; what was done, as a
    line to print, or None (no manifest yet, or it records this root already)."""
    name = CORPUS_READERS.canonical(corpus)
    path = manifest_path(name)
    if not path.exists():
        return None
    old, new = recorded_root(name), Path(root).expanduser().resolve()
    if old is not None and old.expanduser().resolve() == new:
        return None
    try:
        meta = json.loads(path.with_suffix(".json").read_text())
    except (OSError, ValueError):
        meta = {}
    options = meta.get("options") if isinstance(meta, dict) and isinstance(meta.get("options"), dict) else {}
    try:
        result = read_corpus(name, new, **options)
    except SergenError as exc:
        raise SergenError(f"{exc.what}; the {name} manifest still records {old or 'no root'}, and neither it nor the "
                          "config was changed", where=exc.where, fix=exc.fix) from None
    write_manifest(result, path)
    same = isinstance(meta, dict) and meta.get("manifest_sha256") == manifest_hash(result.manifest)
    return (f"the {name} manifest recorded {old or 'no root'}: rebuilt from {new} ({len(result.manifest)} utterances, "
            + ("the same utterances, paths and splits as before)" if same else
               "not the same as before: stores made from the old root are checked against the new audio when next "
               "read)"))

"""Weights from the Hugging Face hub: an explicit local path, else the local Hugging Face cache (works
offline), else a download when the network allows. Never remote code (``trust_remote_code`` stays off);
safetensors or ``weights_only`` loading only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from sergen.errors import SergenError
from sergen.extractors.base import given_checkpoint, sha256_of


def hub_cache() -> str:
    """The cache folder, read when needed (huggingface_hub reads HF_HUB_CACHE once, at import)."""
    from huggingface_hub.constants import HF_HUB_CACHE

    return os.environ.get("HF_HUB_CACHE") or HF_HUB_CACHE


def _cache_then_download(fetch: Callable[..., str], allow_download: bool) -> Path | None:
    """``fetch(local_files_only=...)`` from the cache, else from the network (unless offline or refused)."""
    try:
        return Path(fetch(local_files_only=True))
    except Exception:
        pass
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    if allow_download and not offline:
        try:
            return Path(fetch(local_files_only=False))
        except Exception:
            pass
    return None


def _not_found(model_name: str, what: str, revision: str, command: str, local: str) -> SergenError:
    return SergenError(
        f"{model_name} weights not found: {what} (revision {revision}) is not in the local Hugging Face cache "
        "and could not be downloaded",
        where=hub_cache(),
        fix=f"on a machine with network run `{command} --revision {revision}` (then copy the cache), "
            f"or pass {local}",
    )


def resolve_weights(repo_id: str, revision: str, weights: str | Path | None, model_name: str,
                    allow_download: bool = True) -> Path:
    """The folder holding ``config.json`` and the weights of ``repo_id`` at ``revision``."""
    if weights:
        path = Path(weights)
        if not (path / "config.json").exists():
            raise SergenError(f"no {model_name} checkpoint in the folder given", where=str(path),
                              fix="give the folder that holds config.json and model.safetensors "
                                  "(what `save_pretrained` or `huggingface-cli download` writes)")
        return path
    from huggingface_hub import snapshot_download

    def fetch(**kw):
        return snapshot_download(repo_id, revision=revision, cache_dir=hub_cache(), **kw)

    found = _cache_then_download(fetch, allow_download)
    if found is None:
        raise _not_found(model_name, repo_id, revision, f"huggingface-cli download {repo_id}",
                         "--weights DIR with the checkpoint folder")
    return found


def resolve_file(repo_id: str, filename: str, revision: str, weights: str | Path | None, model_name: str,
                 allow_download: bool = True) -> Path:
    """One checkpoint file of ``repo_id``: ``weights`` (the file, or a folder holding it), else the cache,
    else a download."""
    if weights:
        return given_checkpoint(weights, filename, model_name, f"from https://huggingface.co/{repo_id}")
    from huggingface_hub import hf_hub_download

    def fetch(**kw):
        return hf_hub_download(repo_id, filename, revision=revision, cache_dir=hub_cache(), **kw)

    found = _cache_then_download(fetch, allow_download)
    if found is None:
        raise _not_found(model_name, f"{filename} of {repo_id}", revision,
                         f"huggingface-cli download {repo_id} {filename}", "--weights FILE")
    return found


def weights_record(repo_id: str, revision: str, path: Path) -> dict:
    """What the store records: id, revision (the cache's snapshot hash when known) and a checksum."""
    files = [path] if path.is_file() else (sorted(path.glob("*.safetensors")) or sorted(path.glob("*.bin")))
    record = {"id": repo_id, "revision": revision, "path": str(path)}
    snapshot = path.parent if path.is_file() else path
    if snapshot.parent.name == "snapshots":
        record["snapshot"] = snapshot.name
    if files:
        record["sha256"] = sha256_of(files[0])
    return record


def is_present(repo_id: str, revision: str, weights, filename: str | None = None) -> bool:
    try:
        if filename:
            resolve_file(repo_id, filename, revision, weights, repo_id, allow_download=False)
        else:
            resolve_weights(repo_id, revision, weights, repo_id, allow_download=False)
        return True
    except SergenError:
        return False

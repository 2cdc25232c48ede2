"""Weights for transformers models: an explicit local folder, else the local Hugging Face cache (works
offline), else a download when the network allows. Never remote code (``trust_remote_code`` stays off);
safetensors or ``weights_only`` loading only, through ``from_pretrained``."""

from __future__ import annotations

import os
from pathlib import Path

from sergen.errors import SergenError
from sergen.extractors.base import sha256_of


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
    from huggingface_hub.constants import HF_HUB_CACHE

    try:
        return Path(snapshot_download(repo_id, revision=revision, local_files_only=True))
    except Exception:
        pass
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    if allow_download and not offline:
        try:
            return Path(snapshot_download(repo_id, revision=revision))
        except Exception:
            pass
    raise SergenError(
        f"{model_name} weights not found: {repo_id} (revision {revision}) is not in the local Hugging Face cache "
        "and could not be downloaded",
        where=str(HF_HUB_CACHE),
        fix=f"on a machine with network run `huggingface-cli download {repo_id} --revision {revision}` "
            f"(then copy the cache), or pass --weights DIR with the checkpoint folder",
    )


def weights_record(repo_id: str, revision: str, path: Path) -> dict:
    """What the store records: id, revision (the cache's snapshot hash when known) and a checksum."""
    files = sorted(path.glob("*.safetensors")) or sorted(path.glob("*.bin"))
    record = {"id": repo_id, "revision": revision, "path": str(path)}
    if path.parent.name == "snapshots":
        record["snapshot"] = path.name
    if files:
        record["sha256"] = sha256_of(files[0])
    return record


def is_present(repo_id: str, revision: str, weights) -> bool:
    try:
        resolve_weights(repo_id, revision, weights, repo_id, allow_download=False)
        return True
    except SergenError:
        return False

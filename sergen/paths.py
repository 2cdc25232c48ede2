"""Local paths and URLs of folders sergen writes into, told apart and checked without fsspec: the
configuration and the manifests check folders too, before any store (``sergen.store.location``) is touched."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def is_remote(root) -> bool:
    text = str(root)
    return "://" in text and not text.startswith("file://")


def local_path(root) -> Path:
    text = str(root)
    return Path(text[len("file://"):] if text.startswith("file://") else text)


def check_writable(folder, what: str, elsewhere: str | None = None) -> None:
    """Refuse, before any work, a local folder sergen must write into that is a file, sits under a file,
    or is read-only; nothing is created here. Remote URLs are left to their file system. ``elsewhere`` says
    how to point the folder elsewhere (default: the ``SERGEN_<WHAT>`` variable or ``[dirs]``)."""
    import os

    from sergen.errors import SergenError

    if is_remote(folder):
        return
    folder = local_path(folder)
    elsewhere = elsewhere or f"SERGEN_{what.split()[0].upper()} or [dirs] in sergen.toml"
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise SergenError(f"the {what} is a file, not a folder" if probe == folder else f"the {what} lies under a file",
                          where=str(probe), fix=f"move the file away or point the {what} elsewhere ({elsewhere})")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise SergenError(f"the {what} is not writable", where=str(probe),
                          fix=f"make it writable (chmod u+w) or point the {what} elsewhere ({elsewhere})")


def stores_root_key(root) -> str | None:
    """A hashable, absolute form of a stores root (URLs stay as they are)."""
    if not root:
        return None
    return str(root) if is_remote(root) else str(Path(root).resolve())


@dataclass(frozen=True)
class Dirs:
    """A workspace's folders, resolved once from the environment and ``sergen.toml`` (``sergen.config.
    workspace_dirs``) and passed down: the store layer is handed its folders, it never reads the configuration.
    ``stores`` may be an fsspec URL; ``stores_origin`` says where its location came from (quoted in errors)."""

    stores: str
    manifests: str
    results: str
    reports: str
    stores_origin: str = ""

    def owns(self, stores_root) -> bool:
        """Whether ``stores_root`` is this workspace's stores folder (its manifests then label the stores)."""
        return stores_root is None or stores_root_key(stores_root) == stores_root_key(self.stores)

"""Where stores live: a local folder (the default, ``stores/``) or any fsspec URL (``s3://bucket/stores``
with s3fs installed, ``gs://…``, ``memory://…`` in tests). Zarr opens both; this module does the few
file-system operations sergen needs beside Zarr (list, remove, size) for either kind."""

from __future__ import annotations

from pathlib import Path

import fsspec


def is_remote(root) -> bool:
    text = str(root)
    return "://" in text and not text.startswith("file://")


def local_path(root) -> Path:
    text = str(root)
    return Path(text[len("file://"):] if text.startswith("file://") else text)


def join(root, *parts: str):
    """A child of ``root``: a Path for local roots, a URL string for remote ones."""
    if is_remote(root):
        return "/".join([str(root).rstrip("/"), *parts])
    return local_path(root).joinpath(*parts)


def _fs(root):
    return fsspec.core.url_to_fs(str(root))


def glob_names(root, pattern: str) -> list[tuple[str, str]]:
    """(parent folder name, stem) of every path under ``root`` matching ``pattern`` (e.g. ``*/*.zarr``)."""
    if not is_remote(root):
        base = local_path(root)
        return [(p.parent.name, p.stem) for p in base.glob(pattern)]
    fs, base = _fs(root)
    found = fs.glob(base.rstrip("/") + "/" + pattern)
    return [(p.rstrip("/").split("/")[-2], p.rstrip("/").split("/")[-1].rsplit(".", 1)[0]) for p in found]


def exists(path) -> bool:
    if not is_remote(path):
        return local_path(path).exists()
    fs, p = _fs(path)
    return fs.exists(p)


def remove(path) -> None:
    if not exists(path):
        return
    if not is_remote(path):
        import shutil

        shutil.rmtree(local_path(path))
        return
    fs, p = _fs(path)
    fs.rm(p, recursive=True)


def size_bytes(path) -> int:
    if not is_remote(path):
        return sum(f.stat().st_size for f in local_path(path).rglob("*") if f.is_file())
    fs, p = _fs(path)
    return int(fs.du(p))

"""Where a store lives and how it is laid out on disk: the names every reader and writer share.

``<stores>/<model>/<corpus>.zarr`` is a Zarr v3 group:

- ``frames``  (total_frames, dim) float16: all utterances' frames concatenated along time;
- ``offsets`` (n_utt + 1,) int64: utterance i owns ``frames[offsets[i]:offsets[i+1]]``;
- ``mean``, ``std`` (n_utt, dim) float32: pooled statistics of each utterance's frames;
- ``status`` (n_utt,) uint8: 0 pending, 1 written, 2 written from padded audio, 3 failed;
- ``utt/<column>``: per-utterance metadata copied from the manifest;
- chunk files named by each array's chunk key encoding: ``<array>/c.<i>.0`` (``<array>/c/<i>/0`` in stores
  made before issue 22; both read the same);
- attributes under ``sergen``: model, weights, rates, dim, dtype, manifest hash, settings, completeness.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import zarr

# A file a user put inside a store: named by sergen's own checks (``stores verify``; a rebuild refuses to delete
# it), so Zarr's warning at every listing would only repeat it, as raw library text, several times a command.
warnings.filterwarnings("ignore", message="Object at .* is not recognized as a component of a Zarr hierarchy")

PENDING, WRITTEN, PADDED, FAILED = 0, 1, 2, 3
META_COLUMNS = ("utt_id", "label", "native_label", "speaker", "gender", "split", "path", "view")
NUMERIC_META = {"duration_s": "float32"}
CHUNK_KEYS = {"name": "default", "separator": "."}
"""Chunk keys of the arrays of new stores: chunk ``i`` of ``frames`` is the file ``frames/c.<i>.0`` in the
array's folder. Zarr's default separator "/" makes a folder per chunk (``frames/c/<i>/0``): a ``mkdir`` per
1 MiB chunk, half of what allocating inodes cost an extraction on ext4 (issue 22). Stores made with "/" read
as before: the encoding is in each array's metadata, and sergen asks it for every chunk's path
(``store.digests.chunk_key``), never writes ``c/…`` itself."""


def store_path(model: str, corpus: str, root: str | Path):
    """``<root>/<model>/<corpus>.zarr``: a Path for a local root, a URL for an fsspec one (``s3://…``). The
    stores folder is the caller's to give (``sergen.config.workspace_dirs().stores``): the store layer never
    reads the configuration."""
    from sergen.store.location import join

    if root is None:
        raise TypeError("store_path needs the stores folder: pass sergen.config.workspace_dirs().stores")
    return join(root, model, f"{corpus}.zarr")


def store_names(path) -> tuple[str, str]:
    """(model, store name) of a store path: ``store_path``'s inverse (``<root>/<model>/<name>.zarr``)."""
    parts = str(path).rstrip("/").split("/")
    return parts[-2], parts[-1].removesuffix(".zarr")


def extract_command(model: str, name: str, overwrite: bool = False, ticks: bool = True) -> str:
    """The command that writes store ``name`` (``corpus`` or ``corpus@view``) of ``model``: a view is its own
    ``--view`` flag, never ``--corpus corpus@view`` (which extract refuses). In backticks unless ``ticks`` is
    off."""
    corpus, _, view = name.partition("@")
    command = (f"sergen extract --model {model} --corpus {corpus}" + (f" --view {view}" if view else "")
               + (" --overwrite" if overwrite else ""))
    return f"`{command}`" if ticks else command


def rebuild_command(model: str, name: str) -> str:
    """The command (in backticks) that rebuilds store ``name`` (``corpus`` or ``corpus@view``) of ``model``."""
    return extract_command(model, name, overwrite=True)


def repair_command(model: str, name: str) -> str:
    """The two commands (in backticks) that rewrite exactly the utterances of damaged chunk files of store ``name``:
    ``stores verify --repair`` drops the chunks whose bytes fail their checksum or digests, ``extract`` rewrites."""
    return f"`sergen stores verify {model} {name} --repair`, then {extract_command(model, name)}"


def frame_chunk_rows(dim: int) -> int:
    """Frames per chunk: about 1 MiB of float16 per chunk, whole feature rows.

    A random window of a few hundred frames then touches one or two chunks, and a chunk is small enough
    that reading one for a window wastes little; whole rows keep a frame's features together."""
    rows = (1 << 20) // (2 * dim)
    return max(256, 1 << (rows.bit_length() - 1))


def frame_codec():
    """Blosc-LZ4 with bit-shuffle. Float16 embeddings compress modestly whatever the codec (melspec's frames
    to 0.73 of their size here, 0.69 with zstd level 3), and LZ4 compresses them 4.5× faster (1.7 GB/s
    against 370 MB/s on one core), which halved the writer's CPU on melspec (issue 22). LZ4 also decodes
    faster, so random windows stay cheap to read. Stores written with zstd before read as they are: the
    codec is recorded in each array's metadata."""
    return zarr.codecs.BloscCodec(cname="lz4", clevel=5, shuffle="bitshuffle")

"""New stores name chunk files ``c.<i>.0`` in the array's folder (no folder per chunk, issue 22); the arrays,
their metadata and values are otherwise those the previous ``create_store`` made, array by array."""

from __future__ import annotations

import contextlib
import errno
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import zarr

from sergen.store.digests import (DIGEST_ARRAY, NO_DIGEST, STATS_ARRAY, checked_codecs, chunk_key,
                                  digest_array_specs)
from sergen.store.layout import META_COLUMNS, NUMERIC_META, frame_chunk_rows, frame_codec
from sergen.store.record import ARRAYS_ATTR, COLUMN_DIGESTS, COLUMNS, NOT_DIGESTED, RECORD, RECORD_ATTR
from sergen.store.writer import FORMAT_VERSION, create_store
from tests.chunk_files import OLD_CHUNK_KEYS, chunk_file, old_layout  # noqa: F401 (fixture)


def previous_create_store(path: Path, plan: pd.DataFrame, attrs: dict, dim: int, dtype: str = "float16"):
    """``create_store`` as it was before issue 22 (one event-loop call per array, Zarr's default "/" keys)."""
    from sergen.audio_digest import GROUP, UNKNOWN

    n_utt = len(plan)
    offsets = np.concatenate([[0], np.cumsum(plan["n_frames"].to_numpy(np.int64))])
    chunk = frame_chunk_rows(dim)
    group = zarr.open_group(str(path), mode="w", zarr_format=3)
    group.create_array("frames", shape=(int(offsets[-1]), dim), chunks=(chunk, dim), dtype=dtype,
                       compressors=checked_codecs(frame_codec()), fill_value=0, dimension_names=("frame", "feature"))
    group.create_array("offsets", data=offsets, chunks=(len(offsets),), dimension_names=("utt_edge",),
                       compressors=checked_codecs(zarr.codecs.ZstdCodec()))
    for name in ("mean", "std"):
        group.create_array(name, shape=(n_utt, dim), chunks=(min(n_utt, 1024), dim), dtype="float32",
                           compressors=checked_codecs(frame_codec()), fill_value=0, dimension_names=("utt", "feature"))
    group.create_array("status", shape=(n_utt,), chunks=(n_utt,), dtype="uint8", fill_value=0,
                       dimension_names=("utt",), compressors=checked_codecs(zarr.codecs.ZstdCodec()))
    group.create_array(DIGEST_ARRAY, shape=(n_utt,), chunks=(max(n_utt, 1),), dtype="int64", fill_value=NO_DIGEST,
                       compressors=checked_codecs(zarr.codecs.ZstdCodec()), dimension_names=("utt",))
    group.create_array(STATS_ARRAY, shape=(n_utt, 2), chunks=(max(n_utt, 1), 2), dtype="int64", fill_value=NO_DIGEST,
                       compressors=checked_codecs(zarr.codecs.ZstdCodec()), dimension_names=("utt", "summary"))
    audio = group.create_group(GROUP)
    audio.create_array("sha256", shape=(n_utt,), dtype=str, chunks=(max(n_utt, 1),),
                       dimension_names=("utt",))[:] = np.full(n_utt, UNKNOWN)
    for name in ("size", "mtime_ns"):
        audio.create_array(name, shape=(n_utt,), dtype="int64", chunks=(max(n_utt, 1),), fill_value=-1,
                           dimension_names=("utt",))
    meta = group.create_group("utt")
    for col in META_COLUMNS:
        values = (plan[col].fillna("").astype(str).to_numpy() if col in plan
                  else np.full(n_utt, "clean" if col == "view" else ""))
        meta.create_array(col, shape=(n_utt,), dtype=str, chunks=(n_utt,), dimension_names=("utt",))[:] = values
    for col, dt in NUMERIC_META.items():
        meta.create_array(col, shape=(n_utt,), dtype=dt, chunks=(n_utt,), dimension_names=("utt",))[:] = \
            plan[col].to_numpy(dt)
    group.attrs["sergen"] = dict(
        attrs, format=FORMAT_VERSION, dim=dim, dtype=dtype, n_utts=n_utt, n_frames=int(offsets[-1]),
        chunk_frames=chunk, created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        complete=False, failures={}, initialised=True, digests=["frames", "stats", "audio"])
    return group


def plan_of(n: int) -> pd.DataFrame:
    return pd.DataFrame({"utt_id": [f"u{i:04d}" for i in range(n)], "path": [f"w/{i}.wav" for i in range(n)],
                         "n_frames": [300 + i % 7 for i in range(n)], "label": ["neu", "hap", None, "ang"] * (n // 4),
                         "speaker": "s1", "split": "train", "duration_s": np.linspace(0.5, 3.0, n)})


def arrays_of(group: zarr.Group) -> dict[str, zarr.Array]:
    return {name: array for name, array in group.members(max_depth=None) if isinstance(array, zarr.Array)}


def described(array: zarr.Array) -> dict:
    """Everything about an array but its chunk key encoding."""
    meta = array.metadata.to_dict()
    meta.pop("chunk_key_encoding")
    return meta


def test_same_arrays_metadata_and_values_as_before_but_flat_chunk_keys(tmp_path):
    plan = plan_of(40)
    new = create_store(tmp_path / "new.zarr", plan, {"model": "m"}, 128)
    old = previous_create_store(tmp_path / "old.zarr", plan, {"model": "m"}, 128)
    new_arrays, old_arrays = arrays_of(new), arrays_of(old)
    # what came after issue 22: the utt/ column digests (``store.record``), one array per column
    added = {name for name in new_arrays if name.startswith(f"{COLUMN_DIGESTS}/")}
    assert added == {f"{COLUMN_DIGESTS}/{col}" for col in (*META_COLUMNS, *NUMERIC_META)}
    new_arrays = {name: array for name, array in new_arrays.items() if name not in added}
    assert sorted(new_arrays) == sorted(old_arrays) and len(new_arrays) == 19
    assert sorted(name for name, _ in new.groups()) == ["audio", "utt", COLUMN_DIGESTS]
    for name, array in new_arrays.items():
        was = old_arrays[name]
        assert described(array) == described(was), name
        assert (array.shape, array.dtype, array.chunks, array.fill_value) == (was.shape, was.dtype, was.chunks,
                                                                             was.fill_value)
        np.testing.assert_array_equal(array[...], was[...], err_msg=name)
        assert array.metadata.chunk_key_encoding.to_dict()["configuration"]["separator"] == "."
        assert was.metadata.chunk_key_encoding.to_dict()["configuration"]["separator"] == "/"
    mine, theirs = dict(new.attrs["sergen"]), dict(old.attrs["sergen"])
    assert mine.pop("digests") == [*theirs.pop("digests"), COLUMNS, RECORD]  # and the record's digests:
    assert set(mine.pop(RECORD_ATTR)) == set(theirs) - set(NOT_DIGESTED) | {RECORD_ATTR}  # its own digest: stop 36
    assert set(mine.pop(ARRAYS_ATTR)) == set(arrays_of(new))
    assert mine.pop("created")[:10] == theirs.pop("created")[:10] and mine == theirs
    assert mine["initialised"] is True and mine["n_frames"] == int(plan["n_frames"].sum())
    # the same chunk files, each named flat: offsets, the utt columns, audio/sha256 are written at creation
    made = sorted(str(p.relative_to(tmp_path / "new.zarr")) for p in (tmp_path / "new.zarr").rglob("c*")
                  if p.is_file() and not str(p.relative_to(tmp_path / "new.zarr")).startswith(COLUMN_DIGESTS))
    before = sorted(str(p.relative_to(tmp_path / "old.zarr")) for p in (tmp_path / "old.zarr").rglob("*")
                    if p.is_file() and "/c/" in f"/{p.relative_to(tmp_path / 'old.zarr')}")
    assert made == sorted(b.replace("c/0/0", "c.0.0").replace("c/0", "c.0") for b in before) and len(made) == 8


def test_a_new_store_makes_no_folder_per_chunk(tmp_path):
    """Three frame chunks: three files in ``frames/``, no ``frames/c`` folder."""
    dim = 512
    rows = frame_chunk_rows(dim)
    plan = plan_of(8).assign(n_frames=[rows // 3] * 8)
    group = create_store(tmp_path / "s.zarr", plan, {}, dim)
    group["frames"].with_config({"write_empty_chunks": True})[:] = np.ones(group["frames"].shape, np.float16)
    assert sorted(p.name for p in (tmp_path / "s.zarr/frames").iterdir()) == ["c.0.0", "c.1.0", "c.2.0", "zarr.json"]
    assert chunk_file(tmp_path / "s.zarr", "frames", 2) == tmp_path / "s.zarr/frames/c.2.0"
    assert chunk_key(group["frames"], 1) == "frames/c.1.0"


def test_chunk_files_of_an_old_layout_store_are_found_from_its_metadata(tmp_path, old_layout):
    group = create_store(tmp_path / "s.zarr", plan_of(4), {}, 128)
    assert old_layout == OLD_CHUNK_KEYS
    assert chunk_key(group["frames"], 0) == "frames/c/0/0" and chunk_key(group["utt/utt_id"], 0) == "utt/utt_id/c/0"
    assert chunk_file(tmp_path / "s.zarr", "offsets") == tmp_path / "s.zarr/offsets/c/0"
    assert chunk_file(tmp_path / "s.zarr", "offsets").is_file()


def test_the_digest_arrays_are_the_ones_the_writer_declares(tmp_path):
    group = create_store(tmp_path / "s.zarr", plan_of(4), {}, 128)
    assert set(digest_array_specs(4)) == {DIGEST_ARRAY, STATS_ARRAY}
    assert group[STATS_ARRAY].shape == (4, 2) and (group[DIGEST_ARRAY][:] == NO_DIGEST).all()


@pytest.mark.parametrize("failing", ["utt/label/c.", "offsets/c.", "audio/zarr.json", "mean/zarr.json"])
def test_a_creation_that_fails_midway_is_never_initialised_and_is_made_again(tmp_path, monkeypatch, failing):
    """The ``initialised`` flag is written after every array: a store whose creation stopped (a full disk, a
    kill) lacks it, so ``extract`` makes it again."""
    from zarr.storage import _local as local

    real, writes = local._atomic_write, []

    @contextlib.contextmanager
    def write(path, mode, exclusive=False):
        writes.append(str(path))
        if failing in str(path):
            raise OSError(errno.ENOSPC, "No space left on device")
        with real(path, mode, exclusive) as f:
            yield f

    monkeypatch.setattr(local, "_atomic_write", write)
    with pytest.raises(OSError, match="No space left"):
        create_store(tmp_path / "s.zarr", plan_of(8), {}, 128)
    assert "sergen" not in zarr.open_group(str(tmp_path / "s.zarr"), mode="r").attrs
    assert any(failing in w for w in writes)
    monkeypatch.setattr(local, "_atomic_write", real)
    again = create_store(tmp_path / "s.zarr", plan_of(8), {}, 128)
    assert again.attrs["sergen"]["initialised"] and again["utt/label"][:].tolist() == ["neu", "hap", "", "ang"] * 2

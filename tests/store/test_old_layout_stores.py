"""Stores made before issue 22 (chunk keys ``c/<i>/0``, a folder per chunk) keep working unchanged: verify,
``--repair``, resume and the record of chunk-file sizes find each chunk file from the arrays' metadata, and a
rewrite keeps the store's own layout."""

import shutil

import numpy as np
import pytest
import zarr

import sergen
from sergen.config import data_dir
from sergen.corpora import read_corpus, write_manifest
from sergen.errors import SergenError
from sergen.extract import extract
from sergen.store import layout
from sergen.store.layout import store_path
from sergen.store.verify import verify_store
from tests.chunk_files import OLD_CHUNK_KEYS, chunk_file, chunk_files
from tests.store.test_repair import ARRAYS, arrays, flip_a_byte, owners
from tests.test_bad_input import cli  # noqa: F401 - the in-process CLI fixture

BLOSC = ("frames", "mean", "std")


@pytest.fixture(scope="module")
def old_clean(demo_root, tmp_path_factory):
    """A melspec EmoDB store extracted with the chunk keys of stores made before issue 22."""
    ws = tmp_path_factory.mktemp("old_layout")
    write_manifest(read_corpus("emodb", demo_root / "emodb"), ws / "manifests" / "emodb.csv")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(layout, "CHUNK_KEYS", OLD_CHUNK_KEYS)
        extract("melspec", "emodb", stores_root=ws / "stores", manifest_file=ws / "manifests" / "emodb.csv",
                show_progress=False)
    return ws


@pytest.fixture
def store(old_clean, workspace):
    """This test's own copy of the old-layout store (see ``tests.store.test_integrity.store``)."""
    from sergen.experiments import data, store_index

    for cached in (store_index._opened, store_index._store_index, data._store_bank, data._load_corpus):
        cached.cache_clear()
    for kind in ("manifests", "stores"):
        shutil.copytree(old_clean / kind, workspace / kind, dirs_exist_ok=True)
    return store_path("melspec", "emodb", data_dir("stores"))


def flat_chunk_files(store) -> list[str]:
    """Chunk files of the Blosc arrays named the new way: none may appear in an old-layout store."""
    return sorted(str(p) for name in BLOSC for p in (store / name).glob("c.*"))


def test_the_store_has_the_old_layout_and_verifies(store):
    assert chunk_file(store, "frames", 1) == store / "frames/c/1/0" and (store / "frames/c/1/0").is_file()
    assert (store / "utt/utt_id/c/0").is_file() and (store / "chunk_bytes/frames/c/0").is_file()
    assert flat_chunk_files(store) == [] and verify_store(store).ok


def test_a_deleted_chunk_is_named_by_verify_and_resumed_by_extract(store):
    before = arrays(store)
    (store / "frames/c/1/0").unlink()
    report = verify_store(store)
    assert not report.ok and set(owners(store, 4096, 8192)) <= report.affected
    again = extract("melspec", "emodb", show_progress=False)
    assert not again.skipped and again.repaired == len(owners(store, 4096, 8192))
    after = arrays(store)
    for name in ARRAYS:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)
    assert (store / "frames/c/1/0").is_file() and flat_chunk_files(store) == [] and verify_store(store).ok


def test_a_chunk_cut_short_is_named_never_decoded_and_rewritten(store):
    before = arrays(store)
    chunk = store / "frames/c/0/0"
    chunk.write_bytes(chunk.read_bytes()[:100])
    with pytest.raises(SergenError) as exc:
        sergen.open_store("melspec", "emodb")
    assert "frame chunk 0 (frames 0–4096) is cut short" in exc.value.what
    report = verify_store(store)
    assert "is cut short" in report.problems[0] and report.plan.drop == [("frames", 0, "frames/c/0/0")]
    again = extract("melspec", "emodb", show_progress=False)
    assert not again.skipped and again.repaired == len(owners(store, 0, 4096))
    np.testing.assert_array_equal(arrays(store)["frames"], before["frames"])
    assert flat_chunk_files(store) == [] and verify_store(store).ok


def test_swapped_chunks_are_caught_by_the_recorded_sizes_and_rewritten(store):
    before = arrays(store)
    recorded = zarr.open_group(str(store), mode="r")["chunk_bytes"]["frames"][:]
    files = chunk_files(store, "frames")
    assert files[1] == store / "frames/c/1/0" and recorded.tolist() == [f.stat().st_size for f in files]
    first, second = files[1].read_bytes(), files[2].read_bytes()
    files[1].write_bytes(second)
    files[2].write_bytes(first)
    report = verify_store(store)
    assert [p.split(" was swapped")[0] for p in report.problems] == ["frame chunk 1 (frames 4096–8192)",
                                                                     "frame chunk 2 (frames 8192–12288)"]
    again = extract("melspec", "emodb", show_progress=False)
    assert not again.skipped and again.repaired == len(report.affected)
    np.testing.assert_array_equal(arrays(store)["frames"], before["frames"])
    assert verify_store(store).ok


def test_repair_drops_exactly_the_changed_chunk_and_extract_rewrites_the_same_values(cli, store):
    before = arrays(store)
    held = owners(store, 4096, 8192)
    flip_a_byte(store / "frames/c/1/0")
    code, text = cli("stores", "verify", "melspec", "emodb", "--repair")
    assert code == 0 and f"1 damaged chunk file(s) dropped, {len(held)} utterance(s) marked to rewrite" in text, text
    assert not (store / "frames/c/1/0").exists() and (store / "frames/c/0/0").is_file()
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 0 and f"{len(held)} written this run, {190 - len(held)} before" in text, text
    after = arrays(store)
    for name in ARRAYS:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)
    assert flat_chunk_files(store) == [] and cli("stores", "verify", "melspec", "emodb")[0] == 0


def test_a_write_temporary_in_a_chunk_folder_is_removed_by_extract(cli, store):
    temporary = store / "frames/c/0/0.0123456789abcdef0123456789abcdef.partial"  # Zarr's <key>.<hex>.partial
    temporary.write_bytes(b"half a chunk")
    code, text = cli("stores", "verify", "melspec", "emodb")
    assert code == 0 and "1 temporary file(s) of a write that was interrupted" in text, text
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 0 and "already complete" in text and not temporary.exists(), text

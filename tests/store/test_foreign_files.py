"""Files in a store that are not its chunks (a user's note, Zarr's temporary of a write a kill -9 cut short,
a link put in a chunk's place) and files that no longer decode (a digest array, a zarr.json cut short):
never read as chunks, never deleted unless sergen's own temporaries, and always a message, never a traceback."""

import os

import numpy as np

from tests.store.test_integrity import clean, store  # noqa: F401 - the clean store and its per-test copy
from tests.store.test_repair import ARRAYS, arrays, flip_a_byte
from tests.test_bad_input import cli  # noqa: F401 - the in-process CLI fixture
from tests.chunk_files import chunk_file

TEMPORARY = ".0123456789abcdef0123456789abcdef.partial"  # Zarr's <key>.<uuid4 hex>.partial, as ``with_suffix`` puts it


def test_a_foreign_file_in_a_chunk_folder_is_noted_never_taken_for_a_chunk_nor_deleted(cli, store):
    before = arrays(store)
    note = store / "frames/notes.txt"
    note.write_text("mine")
    code, text = cli("stores", "verify", "melspec", "emodb")
    assert code == 0 and "melspec/emodb: ok" in text, text
    assert "1 file(s) in the store that sergen did not write (e.g. frames/notes.txt)" in text
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 0 and "already complete" in text and "rewritten" not in text, text
    assert note.read_text() == "mine"
    after = arrays(store)
    for name in ARRAYS:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)


def test_zarrs_temporary_left_by_a_kill_is_removed_by_extract_and_nothing_rewritten(cli, store):
    temporary = chunk_file(store, "frames").with_suffix(TEMPORARY)
    temporary.write_bytes(b"half a chunk")
    code, text = cli("stores", "verify", "melspec", "emodb")
    assert code == 0 and "1 temporary file(s) of a write that was interrupted" in text, text
    assert "cut short" not in text
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 0 and "already complete" in text, text
    assert not temporary.exists()


def test_a_link_in_a_chunks_place_is_refused_by_extract_and_left_alone(cli, store, tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    chunk = chunk_file(store, "frames", 2)
    chunk.unlink()
    os.symlink(target, chunk)
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 2 and "stands where a chunk file belongs but is not one sergen wrote" in text, text
    assert "nothing was changed" in text
    assert chunk.is_symlink() and target.read_text() == "keep me"


def test_a_digest_array_that_no_longer_decodes_is_a_rebuild_never_a_traceback(cli, store):
    flip_a_byte(chunk_file(store, "frame_crc32c"))
    code, text = cli("stores", "verify", "melspec", "emodb")
    assert code == 1 and "its frame_crc32c cannot be read" in text and "Traceback" not in text, text
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 2 and "this store is damaged: its frame_crc32c cannot be read" in text, text
    assert "already complete" not in text


def test_a_metadata_file_cut_short_is_named_with_the_rebuild(cli, store):
    meta = store / "frames/zarr.json"
    meta.write_bytes(meta.read_bytes()[:50])
    rebuild = "sergen extract --model melspec --corpus emodb --overwrite"
    for args in (("stores", "verify", "melspec", "emodb"), ("stores", "verify", "melspec", "emodb", "--repair"),
                 ("extract", "--model", "melspec", "--corpus", "emodb")):
        code, text = cli(*args)
        assert code in (1, 2) and "store melspec/emodb is damaged: one of its files cannot be read" in text, text
        assert "JSONDecodeError" in text and rebuild in text and "Traceback" not in text


def test_a_folder_in_a_chunks_place_is_refused_by_repair_and_extract_and_left_alone(cli, store):
    chunk = chunk_file(store, "frames", 2)
    chunk.unlink()
    chunk.mkdir()
    (chunk / "mine.txt").write_text("keep")
    for args in (("stores", "verify", "melspec", "emodb", "--repair"),
                 ("extract", "--model", "melspec", "--corpus", "emodb")):
        code, text = cli(*args)
        assert code in (1, 2) and f"{chunk.relative_to(store)} stands where a chunk file belongs but is not one sergen wrote" in text
        assert "dropped" not in text and "Traceback" not in text, text
    assert (chunk / "mine.txt").read_text() == "keep"


def test_a_metadata_file_cut_short_is_a_message_from_every_reader(cli, store):
    """Every array a reader opens: probe and open_store say the store is damaged, and verify no longer says ok
    where only a per-utterance column's metadata was cut."""
    import pytest

    import sergen
    from sergen.errors import SergenError

    for name in ("frames", "utt/duration_s"):
        meta = store / name / "zarr.json"
        whole = meta.read_bytes()
        meta.write_bytes(whole[: len(whole) // 2])
        code, text = cli("stores", "verify", "melspec", "emodb")
        assert code == 1 and "ok" not in text.split("\n")[-1] and "Traceback" not in text, text
        code, text = cli("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb")
        assert code == 2 and "store melspec/emodb is damaged" in text and "Traceback" not in text, text
        with pytest.raises(SergenError, match="store melspec/emodb is damaged"):
            from sergen.experiments import data, store_index

            for cached in (store_index._opened, store_index._store_index, data._load_corpus):
                cached.cache_clear()
            sergen.open_store("melspec", "emodb")
        meta.write_bytes(whole)

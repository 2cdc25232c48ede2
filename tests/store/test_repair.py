"""``sergen stores verify --repair``: chunk files whose bytes changed (at the same size, so neither the recorded
sizes nor ``extract`` see it) are named by their checksum, dropped, and their utterances rewritten by ``extract``
to the very same numbers; nothing but sergen's own chunk files is ever deleted."""

import shutil

import numpy as np
import zarr

from tests.store.test_integrity import clean, store  # noqa: F401 - the clean store and its per-test copy
from tests.test_bad_input import cli  # noqa: F401 - the in-process CLI fixture
from tests.chunk_files import chunk_file

ARRAYS = ("frames", "mean", "std", "status", "offsets", "frame_crc32c", "stats_crc32c")


def arrays(path) -> dict[str, np.ndarray]:
    group = zarr.open_group(str(path), mode="r")
    return {name: group[name][:] for name in ARRAYS}


def flip_a_byte(chunk) -> None:
    """Bytes changed in place: the file keeps its size (and so its entry in the record of chunk sizes)."""
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0xFF
    size = chunk.stat().st_size
    chunk.write_bytes(bytes(data))
    assert chunk.stat().st_size == size


def owners(path, first_row: int, last_row: int) -> list[str]:
    group = zarr.open_group(str(path), mode="r")
    offsets, ids = group["offsets"][:], group["utt"]["utt_id"][:].tolist()
    return ids[np.searchsorted(offsets, first_row, side="right") - 1:np.searchsorted(offsets, last_row, side="left")]


REPAIR = "`sergen stores verify melspec emodb --repair`, then `sergen extract --model melspec --corpus emodb`"


def test_a_frame_chunk_changed_at_the_same_size_is_repaired_value_for_value(cli, store):
    before = arrays(store)
    held = owners(store, 4096, 8192)
    flip_a_byte(chunk_file(store, "frames", 1))

    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")  # sizes only: it cannot see it
    assert code == 0 and "already complete" in text
    code, text = cli("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb")
    assert code == 2 and "a frame chunk file is corrupt" in text and f"fix: repair it: {REPAIR}" in text
    code, text = cli("stores", "verify", "melspec", "emodb")
    assert code == 1
    assert (f"- frame chunk 1 (frames 4096–8192) fails its checksum (its bytes changed since sergen wrote it): "
            f"{', '.join(held[:5])} … ({len(held)} in all)") in text
    assert f"repair: {REPAIR} rewrites exactly the utterances named" in text

    code, text = cli("stores", "verify", "melspec", "emodb", "--repair")
    assert code == 0, text
    assert (f"melspec/emodb: 1 damaged chunk file(s) dropped, {len(held)} utterance(s) marked to rewrite; now run "
            "`sergen extract --model melspec --corpus emodb`") in text
    assert not chunk_file(store, "frames", 1).exists() and chunk_file(store, "frames").exists()
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 0 and "lost or damaged" not in text  # marked pending by the repair: simply not yet written
    assert f"{len(held)} written this run, {190 - len(held)} before" in text
    after = arrays(store)
    for name in ARRAYS:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)
    code, text = cli("stores", "verify", "melspec", "emodb")
    assert code == 0 and "melspec/emodb: ok" in text


def test_a_summary_chunk_changed_at_the_same_size_is_named_and_repaired(cli, store):
    before = arrays(store)
    flip_a_byte(chunk_file(store, "std"))
    code, text = cli("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb", "--pool", "mean+std")
    assert code == 2 and "a std chunk file is damaged" in text and REPAIR in text
    code, text = cli("stores", "verify", "melspec", "emodb")
    assert code == 1 and "- std chunk 0 (utterances 0–190) fails its checksum" in text and "(190 in all)" in text
    code, text = cli("stores", "verify", "melspec", "emodb", "--repair")
    assert code == 0 and "1 damaged chunk file(s) dropped, 190 utterance(s) marked to rewrite" in text
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 0 and "190 written this run, 0 before" in text
    after = arrays(store)
    for name in ARRAYS:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)


def test_swapped_chunks_of_the_same_size_are_repaired_by_their_digests(cli, store):
    """A same-size swap decodes fine and its recorded size agrees: only the frame digests see it."""
    before = arrays(store)
    a, b = chunk_file(store, "frames"), chunk_file(store, "frames", 1)
    first, second = a.read_bytes(), b.read_bytes()
    a.write_bytes(second)
    b.write_bytes(first)
    ledger = zarr.open_group(str(store), mode="r+")["chunk_bytes"]["frames"]
    sizes = ledger[:]
    sizes[[0, 1]] = sizes[[1, 0]]
    ledger[:] = sizes
    code, text = cli("stores", "verify", "melspec", "emodb")
    assert code == 1 and "digest mismatch" in text and f"repair: {REPAIR}" in text
    code, text = cli("stores", "verify", "melspec", "emodb", "--repair")
    assert code == 0 and "0 damaged chunk file(s) dropped" in text
    assert cli("extract", "--model", "melspec", "--corpus", "emodb")[0] == 0
    after = arrays(store)
    for name in ARRAYS:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)


def test_the_repair_never_deletes_a_file_sergen_did_not_write(cli, store, tmp_path):
    """A chunk path that is a link to a file elsewhere: the link's target is never deleted, nor anything else."""
    target = tmp_path / "elsewhere.bin"
    shutil.copy(chunk_file(store, "frames", 1), target)
    flip_a_byte(target)
    chunk_file(store, "frames", 1).unlink()
    chunk_file(store, "frames", 1).symlink_to(target)
    kept = target.read_bytes()
    code, text = cli("stores", "verify", "melspec", "emodb", "--repair")
    assert code == 2
    assert f"{chunk_file(store, 'frames', 1).relative_to(store)} is not a chunk file sergen wrote (a link, a folder, or outside the store)" in text
    assert "changes nothing" in text
    assert target.read_bytes() == kept and chunk_file(store, "frames", 1).is_symlink()
    assert zarr.open_group(str(store), mode="r").attrs["sergen"]["complete"]  # nothing marked either


def test_damage_a_rewrite_cannot_fix_is_refused_by_the_repair(cli, store):
    flip_a_byte(chunk_file(store, "frames", 1))
    chunk_file(store, "offsets").unlink()
    before = {p: p.read_bytes() for p in store.rglob("*") if p.is_file()}
    code, text = cli("stores", "verify", "melspec", "emodb", "--repair")
    assert code == 2 and "store melspec/emodb cannot be repaired by rewriting utterances" in text
    assert "rebuild it with `sergen extract --model melspec --corpus emodb --overwrite`" in text
    assert {p: p.read_bytes() for p in store.rglob("*") if p.is_file()} == before


def test_a_sound_store_is_left_as_it_is(cli, store):
    before = {p: p.read_bytes() for p in store.rglob("*") if p.is_file()}
    code, text = cli("stores", "verify", "melspec", "emodb", "--repair")
    assert code == 0 and "melspec/emodb: ok" in text
    assert {p: p.read_bytes() for p in store.rglob("*") if p.is_file()} == before

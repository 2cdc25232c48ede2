"""A store whose status or offsets array was edited (bytes flipped, or values rewritten with a valid checksum)
is named by ``stores verify``: which array, what is wrong, and either the repair (status codes sergen never
writes: those utterances are written again) or the command that rebuilds the store (offsets: rewriting
utterances cannot restore them). Never "ok", never a traceback from the extract that follows a repair."""

from __future__ import annotations

import zarr

from tests.test_bad_input import cli, emodb_store, private_ws  # noqa: F401 - fixtures
from tests.chunk_files import chunk_file

REBUILD = "rebuild the store with `sergen extract --model melspec --corpus emodb --overwrite`"


def _edit(store, name, change) -> None:
    array = zarr.open_group(str(store), mode="r+")[name]
    values = array[:]
    change(values)
    array[:] = values


def _flip(path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(data)


def test_flipped_bytes_of_status_or_offsets_name_the_array_and_the_rebuild(cli, private_ws):
    store = emodb_store(private_ws)
    for name in ("status", "offsets"):
        saved = chunk_file(store, name).read_bytes()
        _flip(chunk_file(store, name))
        code, text = cli("stores", "verify", "melspec", "emodb", "--repair")
        assert code == 2, text
        assert (f"the store's {name} array cannot be read (its chunk file fails its checksum: its bytes changed "
                f"since sergen wrote it): {REBUILD}") in text
        chunk_file(store, name).write_bytes(saved)
    assert cli("stores", "verify", "melspec", "emodb")[0] == 0


def test_a_status_code_sergen_never_writes_is_repaired(cli, private_ws):
    store = emodb_store(private_ws)
    _edit(store, "status", lambda s: s.__setitem__(3, 7))
    ids = zarr.open_group(str(store), mode="r")["utt/utt_id"][:].tolist()
    code, text = cli("stores", "verify", "melspec", "emodb")
    assert code == 1 and f"the status array holds codes sergen never writes (7; it writes 0, 1, 2, 3): {ids[3]}" in text
    code, text = cli("stores", "verify", "melspec", "emodb", "--repair")
    assert code == 0 and "1 utterance(s) marked to rewrite" in text, text
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 0 and "1 written this run" in text, text
    assert cli("stores", "verify", "melspec", "emodb") == (0, "melspec/emodb: ok")


def test_offsets_out_of_order_name_the_array_and_the_rebuild(cli, private_ws):
    store = emodb_store(private_ws)
    _edit(store, "offsets", lambda o: o.__setitem__([3, 4], o[[4, 3]]))
    code, text = cli("stores", "verify", "melspec", "emodb", "--repair")
    assert code == 2 and "the offsets array is damaged: it does not rise from 0 to the" in text
    assert f"a repair rewrites utterances, not offsets: {REBUILD}" in text


def test_offsets_moved_inside_intact_frames_are_named_not_repaired(cli, private_ws):
    store = emodb_store(private_ws)
    offsets = zarr.open_group(str(store), mode="r")["offsets"][:]
    ids = zarr.open_group(str(store), mode="r")["utt/utt_id"][:].tolist()
    _edit(store, "offsets", lambda o: o.__setitem__(5, o[5] + 1))  # still rising, same total: only digests see it
    before = sorted(p.relative_to(store).as_posix() for p in store.rglob("*"))
    code, text = cli("stores", "verify", "melspec", "emodb", "--repair")
    assert code == 2, text
    assert (f"the offsets array was edited: the frames are as written, but 2 utterance(s) no longer start or end "
            f"where they were written: {ids[4]} (written at frames {offsets[4]}–{offsets[5]}, now {offsets[4]}–"
            f"{offsets[5] + 1}), {ids[5]} (written at frames {offsets[5]}–{offsets[6]}, now {offsets[5] + 1}–"
            f"{offsets[6]}); a repair rewrites utterances, not offsets: {REBUILD}") in text
    assert sorted(p.relative_to(store).as_posix() for p in store.rglob("*")) == before  # nothing dropped or marked
    assert (zarr.open_group(str(store), mode="r")["status"][:] != 0).all()



def test_extract_over_an_incomplete_store_with_edited_offsets_refuses_with_the_rebuild(cli, private_ws):
    """Resuming a store whose offsets no longer match its manifest would write windows into other utterances'
    rows (it reached the writer's traceback): refused before anything is written."""
    store = emodb_store(private_ws)
    _edit(store, "status", lambda s: s.__setitem__(slice(5, 9), 0))  # pending: the rerun would write them
    group = zarr.open_group(str(store), mode="r+")
    group.attrs["complete"] = False
    offsets = group["offsets"][:]
    _edit(store, "offsets", lambda o: o.__setitem__(5, o[5] + 1))
    before = {p.relative_to(store).as_posix(): p.read_bytes() for p in store.rglob("*") if p.is_file()}
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 2, text
    assert (f"this store is damaged: its offsets array is not the one its manifest gives (first at utterance edge 5: "
            f"{offsets[5] + 1}, the manifest gives {offsets[5]})") in text, text
    assert "--overwrite" in text and "Traceback" not in text
    assert {p.relative_to(store).as_posix(): p.read_bytes() for p in store.rglob("*") if p.is_file()} == before

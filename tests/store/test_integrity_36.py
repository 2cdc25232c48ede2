"""Checks a hostile user found missing (stop 36): a stray chunk file outside its array's grid, edits to the digests
blamed on the data, ``failures``/``n_failed`` unchecked, a store not complete without the command that completes
it, ``initialised`` deleted (silently rebuilt), ``stores ls`` printing edited counts as facts, a negative
``n_utts`` named by the offsets check, and a user's Zarr array in a store without its record deleted by a rebuild.
Each is named (what, where) with its mend; an intact store is unchanged."""

import json
import shutil

import numpy as np
import pytest
import zarr

import sergen
from sergen.errors import SergenError
from sergen.store.location import is_sergens, sergens_nodes
from sergen.store.record import COLUMN_DIGESTS, RECORD_ATTR, record_digests
from sergen.store.verify import verify_store
from tests.store.test_integrity import clean, store  # noqa: F401 - fixtures: a melspec EmoDB store, a copy per test
from tests.test_bad_input import cli, private_ws  # noqa: F401 - fixtures
from tests.test_hostile_fixes_35 import emodb_store
from tests.test_older_store_rebuild import _as_older, _older_array

REBUILD = "`sergen extract --model melspec --corpus emodb --overwrite`"


def _edit_attrs(store, change) -> None:
    meta = store / "zarr.json"
    doc = json.loads(meta.read_text())
    change(doc["attributes"]["sergen"])
    meta.write_text(json.dumps(doc))


def _edit_array(store, name: str, change) -> None:
    array = zarr.open_group(str(store), mode="r+")[name]
    values = array[:]
    change(values)
    array[:] = values  # through Zarr: the chunk's own checksum is valid


# -- 1. a chunk file outside its array's chunk grid ---------------------------------------------------------------
def test_a_chunk_file_outside_its_arrays_grid_is_named_and_kept_by_a_rebuild(store, cli):
    shutil.copy(store / "mean" / "c.0.0", store / "mean" / "c.9.0")
    report = verify_store(store)
    assert report.ok and report.notes == [
        "mean/c.9.0 is named like a chunk file of the store's mean array but lies outside its chunk grid (1 × 1 "
        "chunk(s)): sergen never wrote it, so it is not read, and a rebuild refuses to delete it; move it out of "
        "the store"]
    nodes = sergens_nodes(store)
    assert not is_sergens("mean/c.9.0", False, nodes) and is_sergens("mean/c.0.0", False, nodes)
    assert not is_sergens("frames/c.0.1", False, nodes) and is_sergens("frames/c.6.0", False, nodes)
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb", "--overwrite")
    assert code == 2 and "the store folder holds 1 file(s) sergen did not write (mean/c.9.0)" in text, text
    assert (store / "mean" / "c.9.0").is_file()


# -- 2. an edited digest is named as the digest, not as the data ---------------------------------------------------
def test_an_edited_column_digest_is_named_as_the_digest(store, cli):
    _edit_array(store, f"{COLUMN_DIGESTS}/label", lambda v: v.__setitem__(3, v[3] + 1))
    report = verify_store(store)
    problem = next(p for p in report.problems if "label" in p)
    assert problem.startswith("its column digest utt_crc32c/label was edited since the store was completed (its "
                              "file is not the one recorded then), not its utt/label column: 1 row(s) of the digest "
                              "disagree with the column, the first at row 3 (utterance '"), problem
    assert problem.endswith(f"rebuild it with {REBUILD}") and "utt/label column was edited" not in problem
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 2 and "its column digest utt_crc32c/label was edited" in text and "--overwrite" in text, text


def test_an_edited_column_is_still_named_as_the_column(store):
    _edit_array(store, "utt/label", lambda v: v.__setitem__(3, "hap" if v[3] != "hap" else "sad"))
    problem = next(p for p in verify_store(store).problems if "label" in p)
    assert problem.startswith("its utt/label column was edited since sergen wrote it: 1 row(s) differ"), problem


def test_an_edited_record_entry_is_named_as_the_record(store):
    _edit_attrs(store, lambda a: a[RECORD_ATTR].__setitem__("model", a[RECORD_ATTR]["model"] + 1))
    report = verify_store(store)
    assert report.problems == [
        "the store is damaged: its record of attribute digests (sergen.record_crc32c) was edited since sergen wrote "
        "it (its own digest no longer matches its entries): its entry for sergen.model no longer matches that "
        f"attribute; rebuild it with {REBUILD}"]
    with pytest.raises(SergenError) as exc:
        sergen.open_store("melspec", "emodb")
    assert "its record of attribute digests (sergen.record_crc32c) was edited" in exc.value.what


def test_an_edited_attribute_is_still_named_as_the_attribute(store):
    _edit_attrs(store, lambda a: a.__setitem__("model", "melspec2"))
    assert verify_store(store).problems[0].startswith(
        'the store is damaged: its attribute sergen.model was edited since sergen wrote it (now "melspec2")')


def test_the_record_keeps_its_own_digest():
    digests = record_digests({"model": "melspec", "corpus": "emodb", "complete": True})
    assert sorted(digests) == ["corpus", "model", RECORD_ATTR]
    assert digests == record_digests({"corpus": "emodb", "model": "melspec", "failures": {}})


def test_an_edited_ledger_entry_is_named_as_the_ledger_and_mended_as_before(store, cli):
    _edit_array(store, "chunk_bytes/frames", lambda v: v.__setitem__(2, v[2] + 1))
    report = verify_store(store)
    assert report.repairable and len(report.problems) == 1, report.problems
    assert report.problems[0].startswith(
        "its record of chunk-file sizes (chunk_bytes/frames) was edited since the store was completed: it gives "
        "frames chunk 2 (frames/c.2.0) "), report.problems
    assert "but that file holds what sergen wrote" in report.problems[0] and "swapped" not in report.problems[0]
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")  # the mend: the rewrite, as before
    assert code == 0 and "rewritten" in text, text
    assert verify_store(store).ok


def test_a_swapped_frame_chunk_is_still_named_as_swapped(store):
    frames = store / "frames"
    first, second = (frames / "c.1.0").read_bytes(), (frames / "c.2.0").read_bytes()
    (frames / "c.1.0").write_bytes(second)
    (frames / "c.2.0").write_bytes(first)
    problems = verify_store(store).problems
    swapped = "frame chunk 2 (frames 8192–12288) was swapped, replaced or rewritten"
    assert any(swapped in p for p in problems), problems
    assert not any("chunk-file sizes" in p for p in problems)


# -- 3. failures and n_failed against the status array -------------------------------------------------------------
@pytest.mark.parametrize("change, named", [
    (lambda a, ids: a.__setitem__("failures", {ids[4]: "decode error"}),
     "its attribute sergen.failures names '{}' as failed, but the store holds its frames as written (its status "
     "array): zarr.json was edited"),
    (lambda a, ids: a.__setitem__("failures", {"nobody": "decode error"}),
     "its attribute sergen.failures names 'nobody', an utterance the store does not hold: zarr.json was edited"),
    (lambda a, ids: a.__setitem__("n_failed", 2),
     "its attribute sergen.n_failed holds 2, but sergen.failures names 0 utterance(s) and its status array marks 0 "
     "failed: zarr.json was edited"),
])
def test_edited_failures_are_named_by_verify_and_the_readers(store, change, named):
    ids = zarr.open_group(str(store), mode="r")["utt"]["utt_id"][:].tolist()
    _edit_attrs(store, lambda a: change(a, ids))
    named = named.format(ids[4])
    assert verify_store(store).problems == [f"the store is damaged: {named}; rebuild it with {REBUILD}"]
    with pytest.raises(SergenError) as exc:
        sergen.open_store("melspec", "emodb")
    assert named in exc.value.what


# -- 4. not marked complete: the command that completes it --------------------------------------------------------
@pytest.mark.parametrize("change", [lambda a: a.pop("complete"), lambda a: a.__setitem__("complete", False)])
def test_a_store_not_marked_complete_is_given_the_command_that_completes_it(store, cli, change):
    _edit_attrs(store, change)
    assert verify_store(store).problems == [
        "store is not marked complete: `sergen extract --model melspec --corpus emodb` completes it (it writes what "
        "is not written yet, then marks the store complete)"]
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 0 and verify_store(store).ok, text


# -- 5. initialised deleted -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("change, named", [
    (lambda a: a.pop("initialised"), "its attribute sergen.initialised is missing (zarr.json was edited)"),
    (lambda a: a.__setitem__("initialised", False),
     "its attribute sergen.initialised was edited since sergen wrote it (now false)"),
])
def test_extract_refuses_a_recorded_store_whose_initialised_was_edited(store, cli, change, named):
    frames = (store / "frames" / "c.0.0").stat().st_mtime_ns
    _edit_attrs(store, change)
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 2 and f"this store is damaged: {named}" in text and "rerun with --overwrite" in text, text
    assert (store / "frames" / "c.0.0").stat().st_mtime_ns == frames  # nothing rebuilt
    assert any(named in p for p in verify_store(store).problems)


# -- 6. stores ls never prints edited counts as facts -----------------------------------------------------------------
@pytest.mark.parametrize("key, value, named", [
    ("dim", 64, "its frames array has shape (24882, 128), but the store records dim 64"),
    ("n_utts", 100, "its offsets array has 191 entries, but the store records 100 utterances"),
    ("n_frames", 10, "its frames array has 24882 rows, but the store records 10 frames"),
])
def test_stores_ls_marks_a_store_whose_counts_were_edited(store, cli, key, value, named):
    _edit_attrs(store, lambda a: a.__setitem__(key, value))
    code, text = cli("stores", "ls", "--json")
    listed = json.loads(text)["stores"]
    emodb = next(s for s in listed if s["corpus"] == "emodb")
    assert code == 0 and emodb["damaged"] and not emodb["complete"] and emodb[
        {"dim": "dim", "n_utts": "utterances", "n_frames": "frames"}[key]] is None, emodb
    assert any(p.startswith(named) for p in emodb["problems"]), emodb["problems"]


def test_stores_ls_of_an_intact_store_is_unchanged(store, cli):
    code, text = cli("stores", "ls", "--json")
    emodb = next(s for s in json.loads(text)["stores"] if s["corpus"] == "emodb")
    assert code == 0 and (emodb["utterances"], emodb["frames"], emodb["dim"]) == (190, 24882, 128)
    assert emodb["complete"] and not emodb["damaged"] and emodb["problems"] == []


# -- 7. a negative count is named as the edited attribute ------------------------------------------------------------
@pytest.mark.parametrize("key, least", [("n_utts", 0), ("n_frames", 0), ("dim", 1), ("chunk_frames", 1)])
def test_a_count_below_any_sergen_writes_is_named_first(store, key, least):
    _edit_attrs(store, lambda a: a.__setitem__(key, least - 1))
    assert verify_store(store).problems == [
        f"the store is damaged: its attribute sergen.{key} holds {least - 1}, not a count sergen writes (at least "
        f"{least}): zarr.json was edited; rebuild it with {REBUILD}"]


# -- 8. a store without its record: only the nodes of sergen's layouts are sergen's ------------------------------
def test_an_older_store_keeps_a_users_zarr_array_at_a_rebuild(cli, private_ws):
    store = emodb_store(private_ws)
    _as_older(store)
    _older_array(store, "mine")  # a valid Zarr array of the user's, copied in
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb", "--overwrite")
    assert code == 2 and "sergen did not write (mine/c.0, mine/zarr.json)" in text, text
    assert (store / "mine" / "zarr.json").is_file() and (store / "frames").is_dir()


def test_an_older_stores_own_column_goes_with_its_rebuild(cli, private_ws):
    store = emodb_store(private_ws)
    _as_older(store)
    shutil.copytree(store / "utt" / "label", store / "utt" / "old_column")  # a column an older layout wrote
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb", "--overwrite")
    assert code == 0 and "written this run, 0 before" in text, text
    assert not (store / "utt" / "old_column").exists()


def test_the_older_layout_names_every_node_a_store_is_created_with(tmp_path):
    """A store whose creation was cut before its record: every node ``create_store`` lays out is sergen's."""
    import pandas as pd

    from sergen.store.location import OLDER_LAYOUT_ARRAYS, OLDER_LAYOUT_GROUPS, _older_layout_node
    from sergen.store.writer import store_nodes

    plan = pd.DataFrame({"utt_id": ["a", "b"], "path": ["a.wav", "b.wav"], "label": ["hap", "sad"],
                         "split": ["train", "test"], "speaker": ["1", "2"], "duration_s": [1.0, 2.0],
                         "n_frames": [3, 4]})
    nodes = store_nodes(plan, np.array([0, 3, 7]), 4, "float16", 256)
    for group, arrays in nodes.items():
        assert group in OLDER_LAYOUT_GROUPS
        for name in arrays:
            path = f"{group}/{name}".strip("/")
            assert _older_layout_node(path, "array"), path
    assert not _older_layout_node("mine", "array") and not _older_layout_node("frames/mine", "array")
    assert "frames" in OLDER_LAYOUT_ARRAYS


@pytest.mark.parametrize("key, value, named", [
    ("n_utts", -1, "its attribute sergen.n_utts holds -1, not a count sergen writes (at least 0)"),
    ("n_utts", "190", "its attribute sergen.n_utts holds '190', not the whole number sergen writes"),
    ("dim", 0, "its attribute sergen.dim holds 0, not a count sergen writes (at least 1)")])
def test_the_readers_name_an_edited_count_first_as_verify_does(store, key, value, named):
    # hostile pass 36: open_store and probe blamed the offsets array ("… records -1 utterances") or fell on a
    # TypeError for a count that is no count, where verify named the attribute
    _edit_attrs(store, lambda a: a.__setitem__(key, value))
    with pytest.raises(SergenError) as refused:
        sergen.open_store("melspec", "emodb")
    assert named in str(refused.value) and "offsets array" not in str(refused.value)
    assert "TypeError" not in str(refused.value)

"""Checks a hostile user found missing (stop 37): ``stores ls`` calling a store with an edited ``utt/`` column (or
column digest) complete, the Python API serving a frames chunk swapped for another of the same size (its ledger
entry set to match), and an edited frame digest blamed on the frames. Each is named (what, where) with its mend;
an intact store reads value for value as before."""

import json
import os

import numpy as np
import pytest
import zarr

import sergen
from sergen.errors import SergenError
from sergen.store.digests import DIGEST_ARRAY, FrameCheck
from sergen.store.location import LEDGER
from sergen.store.reader import utterance_frames
from sergen.store.record import COLUMN_DIGESTS
from sergen.store.verify import verify_store
from tests.store.test_integrity import clean, store  # noqa: F401 - fixtures: a melspec EmoDB store, a copy per test
from tests.test_bad_input import cli  # noqa: F401 - the in-process CLI fixture

REPAIR = ("`sergen stores verify melspec emodb --repair`, then `sergen extract --model melspec --corpus emodb` "
          "rewrites exactly the utterances of that chunk")


def _edit_array(store, name: str, change) -> None:
    array = zarr.open_group(str(store), mode="r+")[name]
    values = array[:]
    change(values)
    array[:] = values  # through Zarr: the chunk's own checksum is valid


def _listed(cli) -> dict:
    code, text = cli("stores", "ls", "--json")
    assert code == 0, text
    return next(s for s in json.loads(text)["stores"] if s["model"] == "melspec" and s["corpus"] == "emodb")


def _first_utterance_swapped(store) -> str:
    """The first utterance's frames in chunk 0 changed (a chunk of another store), the ledger set to the new size."""
    group = zarr.open_group(str(store), mode="r+")
    end = int(group["offsets"][1])
    frames = group["frames"]
    frames[:end] = frames[:end] * 0.5 + 1  # a valid chunk, its checksum as Zarr writes it
    size = os.path.getsize(store / "frames" / "c.0.0")
    group[LEDGER]["frames"][0] = size  # the record of sizes fixed to match, as the hostile tester did
    return str(group["utt"]["utt_id"][0])


# -- 1. stores ls checks the utt/ columns against their digests -------------------------------------------------
def test_ls_calls_an_intact_store_complete(store, cli):
    listed = _listed(cli)
    assert listed["complete"] is True and listed["damaged"] is False and listed["problems"] == []


def test_ls_marks_an_edited_column_damaged_with_the_reason(store, cli):
    _edit_array(store, "utt/label", lambda v: v.__setitem__(3, "hap" if v[3] != "hap" else "sad"))
    listed = _listed(cli)
    assert listed["complete"] is False and listed["damaged"] is True and listed["needs_rebuild"] is True
    assert len(listed["problems"]) == 1
    assert listed["problems"][0].startswith("its utt/label column was edited since sergen wrote it: 1 row(s) differ, "
                                            "the first at row 3 (utterance '"), listed["problems"]
    code, text = cli("stores", "ls")
    assert "melspec/emodb: damaged, unusable (its utt/label column was edited" in text, text


def test_ls_marks_an_edited_column_digest_damaged_naming_the_digest(store, cli):
    _edit_array(store, f"{COLUMN_DIGESTS}/label", lambda v: v.__setitem__(3, v[3] + 1))
    listed = _listed(cli)
    assert listed["complete"] is False and listed["damaged"] is True
    assert listed["problems"][0].startswith("its column digest utt_crc32c/label was edited since the store was "
                                            "completed"), listed["problems"]


# -- 2. the frames a reader returns are checked against their digests ---------------------------------------------
def test_utterance_frames_of_an_intact_store_are_the_stored_frames(store):
    group = zarr.open_group(str(store), mode="r")
    offsets, stored = group["offsets"][:], group["frames"][:]
    ds = sergen.open_store("melspec", "emodb")
    assert ds.sizes["utt"] == len(offsets) - 1
    for utt in range(ds.sizes["utt"]):
        got = utterance_frames(ds, utt)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, stored[offsets[utt]:offsets[utt + 1]].astype(np.float32))


def test_a_chunk_swapped_at_the_same_size_is_refused_by_utterance_frames(store):
    first = _first_utterance_swapped(store)
    ds = sergen.open_store("melspec", "emodb")  # opens: only the frames read are judged
    with pytest.raises(SergenError) as err:
        utterance_frames(ds, first)
    assert err.value.what == (f"the frames of utterance {first!r} of store melspec/emodb differ from what was "
                              "written (digest mismatch: a chunk file was swapped, replaced or edited)")
    assert err.value.where == str(store) and REPAIR in err.value.fix
    later = str(ds["utt_id"].values[-1])  # in the last chunk, untouched: still served
    assert utterance_frames(ds, later).shape[0] == int(ds["n_frames"].values[-1])


# -- 3. an edited frame digest is named as the digest ---------------------------------------------------------------
def test_an_edited_frame_digest_is_named_as_the_digest(store):
    _edit_array(store, DIGEST_ARRAY, lambda v: v.__setitem__(0, v[0] + 1))
    first = str(zarr.open_group(str(store), mode="r")["utt"]["utt_id"][0])
    problem = next(p for p in verify_store(store).problems if "digest mismatch" in p)
    assert ("digest mismatch: the frame digest array (frame_crc32c) was edited since the store was completed (its "
            "file is not the one recorded then), not the frames)") in problem, problem
    assert "swapped" not in problem
    with pytest.raises(SergenError) as err:
        utterance_frames(sergen.open_store("melspec", "emodb"), first)
    assert "(frame_crc32c) was edited since the store was completed" in err.value.what and REPAIR in err.value.fix
    check = FrameCheck(str(store))  # as a bank build (probe, grid) reads the frames
    with pytest.raises(SergenError) as err:
        check(0, zarr.open_group(str(store), mode="r")["frames"][:])
    assert err.value.what.endswith("(digest mismatch: the frame digest array (frame_crc32c) was edited since the "
                                   "store was completed (its file is not the one recorded then), not the frames)")


def test_swapped_frames_are_still_named_as_a_chunk_file(store):
    _first_utterance_swapped(store)
    problem = next(p for p in verify_store(store).problems if "digest mismatch" in p)
    assert "(digest mismatch: a chunk file swapped, replaced or edited)" in problem, problem

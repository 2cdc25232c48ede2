"""Edits to a store's own record that passed without notice (hostile pass, stop 35): its ``utt/`` columns, the
attributes of its ``zarr.json``, an array's metadata; and a cut ``mean`` chunk whose hint and message were wrong.
Each is named (what, where) with the command that really mends it; an intact store is unchanged."""

import json

import numpy as np
import pytest
import zarr

import sergen
from sergen.errors import SergenError
from sergen.extract import extract
from sergen.store.digests import record_problem
from sergen.store.record import ARRAYS_ATTR, COLUMN_DIGESTS, RECORD, RECORD_ATTR, column_edits
from sergen.store.verify import verify_store
from tests.store.test_integrity import clean, store  # noqa: F401 - fixtures: a melspec EmoDB store, a copy per test
from tests.test_bad_input import cli  # noqa: F401 - the in-process CLI fixture

REBUILD = "`sergen extract --model melspec --corpus emodb --overwrite`"


def _edit_column(store, name: str, change) -> np.ndarray:
    array = zarr.open_group(str(store), mode="r+")["utt"][name]
    values = array[:]
    change(values)
    array[:] = values  # through Zarr: the chunk's own checksum is valid, only the column digests can tell
    return values


def _edit_attrs(store, change) -> None:
    meta = store / "zarr.json"
    doc = json.loads(meta.read_text())
    change(doc["attributes"]["sergen"])
    meta.write_text(json.dumps(doc))


def _as_made_before_the_record(attrs: dict) -> None:
    """A store's attributes as sergen wrote them before its record digests: no record, ``digests`` without them."""
    attrs["digests"] = [d for d in attrs["digests"] if d not in (RECORD, "utt")]
    attrs.pop(RECORD_ATTR)
    attrs.pop(ARRAYS_ATTR)


def test_an_intact_store_verifies_and_keeps_its_record(store):
    group = zarr.open_group(str(store), mode="r")
    attrs = dict(group.attrs["sergen"])
    assert {RECORD, "utt"} <= set(attrs["digests"]) and record_problem(group, attrs) is None
    assert column_edits(group) == [] and verify_store(store).ok and verify_store(store).notes == []
    assert sorted(group[COLUMN_DIGESTS].array_keys()) == sorted(group["utt"].array_keys())
    assert "frames" in attrs[ARRAYS_ATTR] and "model" in attrs[RECORD_ATTR] and "complete" not in attrs[RECORD_ATTR]


@pytest.mark.parametrize("column, change, shown", [
    ("utt_id", lambda v: v.__setitem__([3, 5], v[[5, 3]]), "2 row(s) differ, the first at row 3 (utt_id now "),
    ("label", lambda v: v.__setitem__(3, "hap" if v[3] != "hap" else "sad"), "1 row(s) differ, the first at row 3 "),
    ("split", lambda v: v.__setitem__(0, "test" if v[0] != "test" else "train"), "the first at row 0 "),
    ("speaker", lambda v: v.__setitem__(7, "99"), "the first at row 7 "),
    ("duration_s", lambda v: v.__setitem__(4, 9.5), "the first at row 4 "),
    ("path", lambda v: v.__setitem__(2, "wav/elsewhere.wav"), "the first at row 2 "),
])
def test_an_edited_utt_column_is_named_by_verify_and_open_store(store, column, change, shown):
    values = _edit_column(store, column, change)
    report = verify_store(store)
    assert not report.ok and not report.repairable
    problem = next(p for p in report.problems if f"utt/{column} column was edited" in p)
    assert shown in problem and problem.endswith(f"rebuild it with {REBUILD}")
    if column != "utt_id":
        assert "utterance '" in problem
    with pytest.raises(SergenError) as exc:
        sergen.open_store("melspec", "emodb")
    assert f"its utt/{column} column was edited since sergen wrote it" in exc.value.what
    assert REBUILD in exc.value.fix
    assert str(values[int(shown.split("row ")[-1].split()[0])]) in exc.value.what


def test_a_deleted_column_digest_is_named(store):
    import shutil

    shutil.rmtree(store / COLUMN_DIGESTS / "label")
    report = verify_store(store)
    assert any(f"its column digest {COLUMN_DIGESTS}/label is missing" in p for p in report.problems)


@pytest.mark.parametrize("attr", ["n_frames", "n_utts", "dim", "dtype", "model", "corpus", "frame_rate",
                                  "sample_rate", "settings", "initialised", "created", RECORD_ATTR, ARRAYS_ATTR])
def test_a_deleted_attribute_is_named_by_ls_and_verify(store, cli, attr):
    _edit_attrs(store, lambda a: a.pop(attr))
    report = verify_store(store)
    assert report.problems == [f"the store is damaged: its attribute sergen.{attr} is missing (zarr.json was edited); "
                               f"rebuild it with {REBUILD}"]
    code, out = cli("stores", "ls", "--json")
    listed = json.loads(out[out.index("{"):])["stores"][0]
    assert code == 0 and listed["damaged"] and not listed["complete"]
    assert listed["problems"] == [f"its attribute sergen.{attr} is missing (zarr.json was edited)"]


def test_a_deleted_digests_attribute_no_longer_switches_the_digest_checks_off(store):
    _edit_attrs(store, lambda a: a.pop("digests"))
    assert verify_store(store).problems == [
        "the store is damaged: its attribute sergen.digests does not list 'frames', though its frame_crc32c digests "
        f"are there (zarr.json was edited: without the entry they would go unchecked); rebuild it with {REBUILD}"]


@pytest.mark.parametrize("attr, value, shown", [("frame_rate", 50.0, "now 50.0"), ("sample_rate", 8000, "now 8000"),
                                                ("settings", {"n_mels": 64}, 'now {"n_mels": 64}'),
                                                ("model", "egemaps", 'now "egemaps"')])
def test_an_edited_attribute_is_named_and_refused_by_extract_and_open_store(store, attr, value, shown):
    _edit_attrs(store, lambda a: a.__setitem__(attr, value))
    report = verify_store(store)
    assert not report.ok and not report.repairable
    assert (f"its attribute sergen.{attr} was edited since sergen wrote it ({shown})" in report.problems[0]
            or "does not belong here" in report.problems[0])  # an edited model reads as a store moved
    with pytest.raises(SergenError) as exc:
        sergen.open_store("melspec", "emodb")
    assert "damaged" in exc.value.what or "does not belong here" in exc.value.what


@pytest.mark.parametrize("attr, value, shown", [("dim", 64, "its frames array has shape (9277, 128), but the store "
                                                             "records dim 64"),
                                                ("n_frames", 9000, "its frames array has 9277 rows, but the store "
                                                                   "records 9000 frames")])
def test_an_edited_shape_attribute_is_named_against_the_arrays(store, attr, value, shown):
    frames = zarr.open_group(str(store), mode="r")["frames"].shape
    _edit_attrs(store, lambda a: a.__setitem__(attr, value))
    assert verify_store(store).problems[0] == (f"the store is damaged: {shown.replace('9277', str(frames[0]))}; "
                                               f"rebuild it with {REBUILD}")


def test_a_mutable_attribute_of_another_type_is_named(store):
    _edit_attrs(store, lambda a: a.__setitem__("complete", "yes"))
    assert "its attribute sergen.complete holds 'yes', not the bool sergen writes" in verify_store(store).problems[0]


def _drop_checksum_codec(store, name: str) -> None:
    meta = store / name / "zarr.json"
    doc = json.loads(meta.read_text())
    assert doc["codecs"][-1]["name"] == "crc32c"
    doc["codecs"] = doc["codecs"][:-1]
    meta.write_text(json.dumps(doc))


def test_an_edited_array_metadata_is_named_and_extract_claims_no_rewrite(store):
    """Was: verify called the mean chunk cut, extract said "rewritten", and the store was left without its
    checksum codec (or still cut): a repair loop only --overwrite ended."""
    _drop_checksum_codec(store, "mean")
    expected = (f"the store is damaged: the metadata of its mean array (mean/zarr.json: shape, dtype, chunks or "
                f"codecs) was edited since sergen wrote it; rebuild it with {REBUILD}")
    assert verify_store(store).problems == [expected]
    with pytest.raises(SergenError) as exc:
        extract("melspec", "emodb", show_progress=False)
    assert "the metadata of its mean array" in exc.value.what and "--overwrite" in exc.value.fix
    assert verify_store(store).problems == [expected]  # nothing was "rewritten"
    again = extract("melspec", "emodb", overwrite=True, show_progress=False)
    assert again.complete and verify_store(store).ok


def test_an_edited_codec_list_of_a_store_without_record_digests_is_named(store):
    """A store made before record digests (but with frame digests, hence checksums): the codec list is checked
    for the checksum every such store was written with."""
    _edit_attrs(store, _as_made_before_the_record)
    import shutil

    shutil.rmtree(store / COLUMN_DIGESTS)
    assert verify_store(store).ok
    _drop_checksum_codec(store, "std")
    assert verify_store(store).problems == [
        "the store is damaged: the metadata of its std array (std/zarr.json) was edited: its codecs lack the crc32c "
        f"checksum sergen writes; rebuild it with {REBUILD}"]


def test_a_store_without_record_digests_verifies_as_before_with_a_note(store):
    _edit_attrs(store, _as_made_before_the_record)
    import shutil

    shutil.rmtree(store / COLUMN_DIGESTS)
    report = verify_store(store)
    assert report.ok and report.notes == [
        "made before record digests: an edit to its utt/ columns, attributes or array metadata is found only where "
        "it breaks a check (`sergen extract ... --overwrite` adds them)"]
    _edit_column(store, "label", lambda v: v.__setitem__(3, "hap" if v[3] != "hap" else "sad"))
    assert verify_store(store).ok  # unseen, as before: said by the note


def test_a_cut_mean_chunk_gets_the_hint_that_mends_it_and_readable_words(store):
    """Was: verify decoded the cut chunk for its summary check and said "rebuild" with Zarr's raw checksum bytes,
    while plain ``extract`` rewrites it."""
    before = zarr.open_group(str(store), mode="r")["mean"][:]
    chunk = store / "mean" / "c.0.0"
    chunk.write_bytes(chunk.read_bytes()[:100])
    report = verify_store(store)
    assert report.problems[0].startswith("mean chunk 0 (utterances 0–") and "is cut short" in report.problems[0]
    assert report.repairable and not report.blocking and "b'" not in " ".join(report.problems)
    again = extract("melspec", "emodb", show_progress=False)
    assert again.repaired == len(before)
    np.testing.assert_array_equal(zarr.open_group(str(store), mode="r")["mean"][:], before)
    assert verify_store(store).ok


def test_an_unreadable_small_array_is_named_without_raw_checksum_bytes(store):
    from sergen.store.verify import unreadable_store

    error = unreadable_store(store, ValueError("Stored and computed checksum do not match. Stored: b'\\xc7'. "
                                               "Computed: b'\\x15'."))
    assert "b'" not in error.what and "fails its checksum: its bytes changed since sergen wrote it" in error.what


@pytest.mark.parametrize("edit, named", [
    # the record's own bookkeeping taken out, each beside an edit it would hide (hostile pass, stop 35)
    (lambda a: (a["digests"].remove(RECORD), a.__setitem__("sample_rate", 8000)),
     "its attribute sergen.digests does not list 'record', though its record digests or column digests"),
    (lambda a: ([a.pop(k) for k in (RECORD_ATTR, ARRAYS_ATTR)], a["digests"].remove(RECORD),
                a.__setitem__("synthetic", False)),  # the whole record out: its column digests still tell
     "its attribute sergen.digests does not list 'record', though its record digests or column digests"),
    (lambda a: (a[RECORD_ATTR].pop("settings"), a["settings"].__setitem__("n_mels", 64)),
     "its attribute sergen.settings is not in the record sergen made at creation (record_crc32c)"),
    (lambda a: (a.__setitem__(RECORD_ATTR, {}), a.__setitem__("sample_rate", 8000)),
     "its attribute sergen.audio_root is not in the record sergen made at creation"),
    (lambda a: a[ARRAYS_ATTR].pop("mean"), "its mean array is not in the record sergen made at creation"),
    (lambda a: a.__setitem__(ARRAYS_ATTR, {}), "its audio/mtime_ns array is not in the record sergen made at creation"),
])
def test_the_records_own_entries_cannot_be_taken_out_unseen(store, edit, named):
    _edit_attrs(store, edit)
    report = verify_store(store)
    assert not report.ok and any(named in p for p in report.problems), report.problems


def test_extract_of_a_complete_store_with_an_edited_column_refuses_it(store, cli):
    """Was: ``extract`` answered "already complete" for a store whose ``utt/label`` was edited (hostile pass)."""
    _edit_column(store, "label", lambda v: v.__setitem__(5, "hap" if v[5] != "hap" else "sad"))
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 2 and "its utt/label column was edited since sergen wrote it" in text and "--overwrite" in text, text
    assert "already complete" not in text


def test_a_shape_attribute_turned_into_text_is_named_as_such(store):
    """Was: "its frames array has 31968 rows, but the store records 31968 frames" (hostile pass)."""
    _edit_attrs(store, lambda a: a.__setitem__("n_frames", str(a["n_frames"])))
    report = verify_store(store)
    assert any("its attribute sergen.n_frames holds '" in p and "not the whole number sergen writes" in p
               for p in report.problems), report.problems

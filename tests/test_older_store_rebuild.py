"""A rebuild of a store made before its record listed its arrays: the Zarr nodes it holds where sergen's layouts
put them are sergen's (a column an older sergen wrote, since dropped, goes with the rebuild; stop 36: a Zarr array
elsewhere is the user's, ``tests/store/test_integrity_36.py``), while a user's file shaped like one without being
Zarr metadata is still refused. In a store that lists its arrays, only today's layout is sergen's."""

import json
import shutil

from tests.test_bad_input import cli, private_ws  # noqa: F401 - fixtures
from tests.test_hostile_fixes_35 import emodb_store


def _as_older(store):
    """The store as one made before ``store.record``: no record digests, ``digests`` without its entries."""
    meta = store / "zarr.json"
    doc = json.loads(meta.read_text())
    own = doc["attributes"]["sergen"]
    for key in ("record_crc32c", "arrays_crc32c"):
        own.pop(key)
    own["digests"] = [d for d in own["digests"] if d not in ("record", "utt")]
    meta.write_text(json.dumps(doc))
    shutil.rmtree(store / "utt_crc32c")


def _older_array(store, name="old_thing"):
    folder = store / name
    folder.mkdir()
    shutil.copy(store / "offsets" / "zarr.json", folder / "zarr.json")
    shutil.copy(next((store / "offsets").glob("c*")), folder / "c.0")


def test_an_older_stores_own_arrays_go_with_its_rebuild(cli, private_ws):
    store = emodb_store(private_ws)
    _as_older(store)
    _older_array(store, "utt/old_thing")
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb", "--overwrite")
    assert code == 0 and "written this run, 0 before" in text, text
    assert not (store / "utt/old_thing").exists() and (store / "utt_crc32c").is_dir()


def test_an_older_store_still_keeps_a_users_file_that_is_not_zarr_metadata(cli, private_ws):
    store = emodb_store(private_ws)
    _as_older(store)
    (store / "mine").mkdir()
    (store / "mine" / "zarr.json").write_text("{}")
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb", "--overwrite")
    assert code == 2 and "the store folder holds 1 file(s) sergen did not write (mine/zarr.json)" in text, text
    assert (store / "mine" / "zarr.json").read_text() == "{}"


def test_a_store_that_lists_its_arrays_keeps_a_zarr_array_it_does_not_list(cli, private_ws):
    store = emodb_store(private_ws)
    _older_array(store)
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb", "--overwrite")
    assert code == 2 and "sergen did not write (old_thing/c.0, old_thing/zarr.json)" in text, text
    assert (store / "old_thing" / "zarr.json").is_file()


HEX = "0123456789abcdef0123456789abcdef"


def test_zarrs_temporaries_of_metadata_and_chunks_go_with_a_rebuild(cli, private_ws):
    """Zarr names the temporary of ``zarr.json`` ``zarr.<hex>.partial`` (``Path.with_suffix``): a kill -9 during
    ``extract --overwrite`` left one at the root of a store whose record was not written yet, and every later
    command refused it as the user's file (hostile pass, stop 35). sergen's own temporaries go; the store is made."""
    store = emodb_store(private_ws)
    for key in (f"zarr.{HEX}.partial", f"utt/zarr.{HEX}.partial", f"frames/c.0.{HEX}.partial", f"utt/label/c.{HEX}.partial"):
        (store / key).write_bytes(b"half")
    meta = store / "zarr.json"
    doc = json.loads(meta.read_text())
    doc["attributes"] = {}  # as a kill before the record is written leaves it
    meta.write_text(json.dumps(doc))
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 0 and "written this run, 0 before" in text, text
    assert not list(store.rglob("*.partial"))


def test_a_temporary_named_like_no_file_of_the_store_is_the_users(cli, private_ws):
    store = emodb_store(private_ws)
    (store / f"notes.{HEX}.partial").write_text("mine")
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb", "--overwrite")
    assert code == 2 and f"sergen did not write (notes.{HEX}.partial)" in text, text


def test_a_users_file_shaped_like_a_temporary_survives_extract_and_verify_names_it(cli, private_ws):
    """Was: any ``<name>.<32 hex>.partial`` counted as Zarr's temporary, and ``extract`` deleted the user's notes
    (second hostile pass, stop 35). Zarr's temporaries of the store's own files still go."""
    from sergen.store.verify import verify_store

    store = emodb_store(private_ws)
    notes = store / f"notes.{HEX}.partial"
    notes.write_text("my precious notes")
    (store / f"frames/c.0.{HEX}.partial").write_bytes(b"half")
    report = verify_store(store)
    assert any(f"1 file(s) in the store that sergen did not write (e.g. notes.{HEX}.partial)" in n for n in report.notes)
    assert any(f"1 temporary file(s) of a write that was interrupted (e.g. frames/c.0.{HEX}.partial)" in n
               for n in report.notes), report.notes
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 0 and "already complete" in text, text
    assert notes.read_text() == "my precious notes" and not (store / f"frames/c.0.{HEX}.partial").exists()


def test_a_creation_killed_while_it_wrote_an_arrays_metadata_is_made_again(cli, private_ws):
    """A kill inside ``create_store``'s one-call layout leaves Zarr's temporaries in folders whose ``zarr.json``
    was never completed, and no record yet: seen once by the second hostile pass as a refusal ("move those files
    out", 7 ``.partial`` files). Those folders are sergen's nodes in the making; the store is made again."""
    store = emodb_store(private_ws)
    meta = store / "zarr.json"
    doc = json.loads(meta.read_text())
    doc["attributes"] = {}
    meta.write_text(json.dumps(doc))
    for array in ("utt/label", "mean"):
        (store / array / "zarr.json").rename(store / array / f"zarr.{HEX}.partial")
    (store / "utt" / "label" / f"c.{HEX}.partial").write_bytes(b"half")
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 0 and "written this run, 0 before" in text, text
    assert not list(store.rglob("*.partial"))

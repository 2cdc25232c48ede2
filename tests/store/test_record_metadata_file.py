"""The record's array-metadata digests are of each ``zarr.json`` as written (parsed, keys sorted), not of Zarr's
in-memory form: a Zarr version whose form gains a field must not call every store edited, and a file rewritten
with other spacing or key order holds the same metadata. A changed value is still named."""

import json

import zarr

from sergen.store.digests import record_problem
from sergen.store.record import ARRAYS_ATTR, metadata_crc, value_crc
from tests.store.test_integrity import clean, store  # noqa: F401 - fixtures: a melspec EmoDB store, a copy per test


def _problem(store):
    group = zarr.open_group(str(store), mode="r")
    return record_problem(group, dict(group.attrs["sergen"]))


def test_the_digest_is_of_the_file_not_of_zarrs_reading_of_it(store, monkeypatch):
    group = zarr.open_group(str(store), mode="r")
    recorded = dict(group.attrs["sergen"])[ARRAYS_ATTR]
    on_disk = json.loads((store / "mean" / "zarr.json").read_text())
    assert recorded["mean"] == metadata_crc(group["mean"]) == value_crc(on_disk)
    assert recorded["utt/label"] == value_crc(json.loads((store / "utt" / "label" / "zarr.json").read_text()))
    # a Zarr whose in-memory metadata gains a field reads the same files: nothing is called edited
    real = type(group["mean"].metadata).to_dict
    monkeypatch.setattr(type(group["mean"].metadata), "to_dict", lambda self: dict(real(self), new_field=1))
    assert _problem(store) is None


def test_other_spacing_and_key_order_are_the_same_metadata_a_changed_value_is_not(store):
    meta = store / "std" / "zarr.json"
    doc = json.loads(meta.read_text())
    meta.write_text(json.dumps(dict(reversed(list(doc.items()))), indent=4))
    assert _problem(store) is None
    doc["fill_value"] = 1.0
    meta.write_text(json.dumps(doc))
    assert "the metadata of its std array (std/zarr.json" in _problem(store)

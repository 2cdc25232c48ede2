"""Usability and integrity leftovers a hostile user found (stop 35), each as the user met it."""

from __future__ import annotations

import pytest

from sergen.errors import SergenError
from tests.test_bad_input import cli, emodb_store, private_ws  # noqa: F401 - fixtures

NO_RECORD = "its root record (zarr.json) holds no sergen record, so its model, counts and completeness are lost"
SMALLEST = ("wrote the smallest demo corpora: every scale below 0.375 writes these same files (one utterance per "
            "class and speaker); a larger scale adds utterances")


class _Stop(Exception):
    pass


@pytest.mark.parametrize("scale, said", [("0.2", True), ("0.5", False)])
def test_demo_says_it_wrote_the_smallest_set_as_demo_data_does(cli, tmp_path, monkeypatch, scale, said):
    """``demo --scale 0.2`` said nothing of writing the same files as 0.1 (``demo-data --scale 0.2`` did)."""
    import sergen.demo

    monkeypatch.setattr(sergen.demo, "make_demo", lambda *a, **k: None)

    def stop(*a, **k):
        raise SergenError("stopped by the test after synthesis")

    monkeypatch.setattr(sergen.demo, "read_corpus", stop)
    code, text = cli("demo", "--scale", scale, "--out", tmp_path / "d")
    assert code == 2 and "stopped by the test" in text, text
    assert (f"--scale {scale} {SMALLEST}" in text) is said, text


def test_demo_data_says_the_same_words(cli, tmp_path, monkeypatch):
    import sergen.corpora.demo

    monkeypatch.setattr(sergen.corpora.demo, "make_demo", lambda *a, **k: {})
    code, text = cli("demo-data", "--scale", "0.1", "--out", tmp_path / "d")
    assert code == 0 and f"--scale 0.1 {SMALLEST}" in text, text


@pytest.mark.parametrize("root_json", ["{}", None])
def test_a_view_store_without_its_root_record_is_named_as_damaged(cli, private_ws, root_json):
    """A view whose root zarr.json is ``{}`` (or gone) was passed over: the probe said the corpus had no views."""
    view = private_ws / "stores/melspec/emodb@pink-noise.zarr"
    view.mkdir()
    if root_json is not None:
        (view / "zarr.json").write_text(root_json)
    code, text = cli("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb", "--aug-share", "0.5")
    assert code == 2 and "store melspec/emodb@pink-noise is not usable: its root record (zarr.json)" in text, text
    assert "hold none" not in text
    assert "rerun `sergen extract --model melspec --corpus emodb --view pink-noise`, which clears the folder" in text
    if root_json:
        assert NO_RECORD in text


def test_a_shortened_manifest_is_named_by_the_probe_and_recorded(cli, private_ws):
    """Rows deleted from the manifest a store was written from: ``stores verify`` named it, ``probe`` ran quietly
    on the utterances left. It still runs (deleting rows may be meant), but names them, and the record counts them."""
    import json

    import pandas as pd

    manifest = private_ws / "manifests/emodb.csv"
    table = pd.read_csv(manifest)
    table.iloc[:-11].to_csv(manifest, index=False)
    first_gone = sorted(table["utt_id"].iloc[-11:])[0]
    code, text = cli("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb,ravdess", "--json")
    assert code == 0, text
    why = f"in the store, not in the manifest (e.g. {first_gone}; `sergen manifest emodb` writes it whole again)"
    assert f"emodb: {why} (11)" in text, text
    record = json.loads(text[text.index("{"):text.rindex("}") + 1])
    assert record["left_out"]["emodb"] == {why: 11} and "ravdess" not in record["left_out"]

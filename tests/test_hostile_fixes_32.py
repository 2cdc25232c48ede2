"""Findings of the stop-32 hostile pass, each as the user met it."""

from __future__ import annotations

import pytest

from tests.test_bad_input import cli, emodb_store, private_ws  # noqa: F401 - fixtures


@pytest.mark.parametrize("array", ["status", "offsets", "frames", "mean", "utt"])
def test_stores_ls_lists_a_store_whose_array_metadata_is_garbage_as_damaged(cli, private_ws, array):
    store = emodb_store(private_ws)
    (store / array / "zarr.json").write_text("{bad")
    code, text = cli("stores", "ls")
    assert code == 0 and "Traceback" not in text, text
    flat = " ".join(text.split())
    assert "damaged" in flat and "melspec/emodb" in flat, text
    assert "rebuild it" in flat or "--overwrite" in flat, text

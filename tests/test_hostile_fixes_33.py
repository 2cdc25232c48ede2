"""Findings left from the stop-32 hostile passes, each as the user met it (stop 33)."""

from __future__ import annotations

import json

import pytest

from tests.test_bad_input import cli, emodb_store, private_ws  # noqa: F401 - fixtures

NO_RECORD = "its root record (zarr.json) holds no sergen record, so its model, counts and completeness are lost"


@pytest.mark.parametrize("root_json", ["{}", '{"zarr_format": 3, "node_type": "group", "attributes": {}}'])
def test_a_root_record_without_sergens_record_is_named_by_every_command(cli, private_ws, root_json):
    """``{}`` in the root zarr.json: ``stores ls`` showed a row of ``?`` marked "no", ``verify`` "not a sergen
    store (KeyError: 'sergen')" with ``--model M --corpus C``, and ``probe`` "no store" beside "stores present:
    melspec/emodb"."""
    store = emodb_store(private_ws)
    (store / "zarr.json").write_text(root_json)
    code, text = cli("stores", "ls", "--json")
    row = json.loads(text)["stores"][0]
    assert code == 0 and row["damaged"] and not row["complete"] and row["problems"][0].startswith(NO_RECORD)
    code, text = cli("stores", "verify", "melspec", "emodb")
    flat = " ".join(text.split())
    assert code == 1 and NO_RECORD in flat and "--model M" not in flat, text
    assert "rerun `sergen extract --model melspec --corpus emodb`, which clears the folder and rebuilds it" in flat
    code, text = cli("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb")
    flat = " ".join(text.split())
    assert code == 2 and f"store melspec/emodb is not usable: {NO_RECORD}" in flat and "no store for" not in flat, text
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")  # what the hints say: rebuilt
    assert code == 0 and "written this run, 0 before" in text, text
    assert cli("stores", "verify", "melspec", "emodb") == (0, "melspec/emodb: ok")


def test_metadata_of_another_shape_names_the_store_in_its_fix_not_placeholders(cli, private_ws):
    store = emodb_store(private_ws)
    (store / "zarr.json").write_text("[1]")
    for args in (("stores", "verify", "melspec", "emodb"),
                 ("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb")):
        code, text = cli(*args)
        flat = " ".join(text.split())
        assert code in (1, 2) and "--model M" not in flat, (args, text)
        assert "sergen extract --model melspec --corpus emodb --overwrite" in flat, (args, text)


@pytest.mark.parametrize("root_json", [None, "{}"])  # a healthy store rebuilt with --overwrite; one whose record is gone
def test_a_rebuild_never_deletes_files_sergen_did_not_write_in_the_store(cli, private_ws, root_json):
    """``extract --overwrite`` (and the rebuild of a store whose root record was lost) removed the whole folder,
    a user's notes and a file inside a chunk folder with it (stop-33 hostile pass)."""
    store = emodb_store(private_ws)
    (store / "NOTES.txt").write_text("mine")
    (store / "frames" / "mine").mkdir()
    (store / "frames" / "mine" / "x.txt").write_text("mine too")
    if root_json:
        (store / "zarr.json").write_text(root_json)
    args = ("extract", "--model", "melspec", "--corpus", "emodb") + (() if root_json else ("--overwrite",))
    before = sorted(p.relative_to(store).as_posix() for p in store.rglob("*"))
    code, text = cli(*args)
    flat = " ".join(text.split())
    assert code == 2 and ("the store folder holds 2 file(s) sergen did not write (NOTES.txt, frames/mine/x.txt); "
                          "rebuilding the store removes the folder, so nothing was deleted") in flat, text
    assert "move those files out of the store folder, then rerun the same command" in flat
    assert sorted(p.relative_to(store).as_posix() for p in store.rglob("*")) == before  # nothing touched
    (store / "NOTES.txt").unlink()
    (store / "frames" / "mine" / "x.txt").unlink()
    (store / "frames" / "mine").rmdir()
    code, text = cli(*args)
    assert code == 0 and "written this run, 0 before" in text, text


def test_a_status_edited_to_pending_in_a_complete_store_is_named_and_its_hint_works(cli, private_ws):
    """Status 1 → 0 in a complete store: verify said `extract` rewrites it (extract: "already complete"), and the
    probe blamed a manifest that gained utterances."""
    import zarr

    store = emodb_store(private_ws)
    status = zarr.open_group(str(store), mode="r+")["status"]
    values = status[:]
    values[4] = 0
    status[:] = values
    ids = zarr.open_group(str(store), mode="r")["utt"]["utt_id"][:].tolist()
    code, text = cli("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb")
    flat = " ".join(text.split())
    assert code == 2 and f"(e.g. {ids[4]!r}): the store lists them, but its status marks them not written" in flat, text
    assert "gained them" not in flat and "`sergen stores verify melspec emodb` names them" in flat
    code, text = cli("stores", "verify", "melspec", "emodb")
    flat = " ".join(text.split())
    assert code == 1 and f"not yet written: {ids[4]}" in flat and "`sergen stores verify melspec emodb --repair`" in flat
    assert cli("stores", "verify", "melspec", "emodb", "--repair")[0] == 0
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 0 and "1 written this run" in text, text
    assert cli("stores", "verify", "melspec", "emodb") == (0, "melspec/emodb: ok")


def test_a_users_file_in_a_store_is_named_once_by_sergen_not_by_zarrs_raw_warning(private_ws):
    """Run as a user runs it (a fresh process: pytest resets warning filters around each test)."""
    import os
    import subprocess
    import sys

    store = emodb_store(private_ws)
    (store / "NOTES.txt").write_text("mine")
    done = subprocess.run([sys.executable, "-m", "sergen.cli", "stores", "verify", "melspec", "emodb"],
                          capture_output=True, text=True, cwd=private_ws, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stdout + done.stderr
    both = " ".join((done.stdout + done.stderr).split())
    assert "1 file(s) in the store that sergen did not write (e.g. NOTES.txt): not read, never deleted" in both
    assert "ZarrUserWarning" not in both and "not recognized as a component" not in both, both


def test_a_multi_store_overwrite_refuses_before_rebuilding_any_store(cli, private_ws):
    """``extract --corpus all --overwrite`` rebuilt nine stores, then refused the tenth (a user's file inside):
    its fix, "rerun the same command", rebuilt the nine again."""
    store = emodb_store(private_ws)
    before = (store / "frames" / "zarr.json").stat().st_mtime_ns
    cli("extract", "--model", "melspec", "--corpus", "emodb", "--view", "eq")
    view = store.parent / "emodb@eq.zarr"
    (view / "notes.txt").write_text("mine")
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb", "--view", "eq", "--overwrite")
    flat = " ".join(text.split())
    assert code == 2 and "the store folder holds 1 file(s) sergen did not write (notes.txt)" in flat, text
    assert "written this run" not in flat  # the clean store, first in the list, was not rebuilt
    assert (store / "frames" / "zarr.json").stat().st_mtime_ns == before and (view / "notes.txt").exists()

"""Integrity gaps a hostile pass left after issue 21: a corrupted ledger of chunk sizes, a store folder without
its root record, a file named like a store, a manifest whose ids were swapped, audio files gone since
extraction, and a closed stdout. Each ends as a specific message (what, where, fix), never a silent pass."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import zarr

from tests.test_bad_input import cli, emodb_store, private_ws  # noqa: F401 (fixtures)
from tests.chunk_files import chunk_file

PROBE = ["probe", "--model", "melspec", "--train", "emodb", "--test", "emodb", "--head", "linear"]


def ledger_chunk(store):
    return chunk_file(store, "chunk_bytes/frames")


def test_a_corrupted_ledger_is_damage_not_a_missing_record(cli, private_ws):
    store = emodb_store(private_ws)
    ledger_chunk(store).write_bytes(b"garbage" * 3)
    code, text = cli("stores", "verify", "melspec", "emodb")
    assert code == 1
    why = ("its record of chunk-file sizes (chunk_bytes/frames) cannot be read: its file was corrupted, cut short "
           "or replaced since the store was completed")
    assert f"the store is damaged: {why}" in text
    code, text = cli(*PROBE)
    assert code == 2
    assert f"store melspec/emodb is damaged: {why}" in text
    assert "sergen extract --model melspec --corpus emodb --overwrite" in text
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")  # never "already complete" over it
    assert code == 2 and f"this store is damaged: {why}" in text and "--overwrite" in text
    code, text = cli("stores", "ls", "--json")
    listed = {s["corpus"]: s for s in json.loads(text[text.index("{"):])["stores"]}
    assert listed["emodb"]["damaged"] and not listed["emodb"]["complete"] and listed["emodb"]["problems"] == [why]
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb", "--overwrite")
    assert code == 0
    assert cli("stores", "verify", "melspec", "emodb") == (0, "melspec/emodb: ok")


def test_a_ledger_that_no_longer_fits_its_array_is_damage(cli, private_ws):
    store = emodb_store(private_ws)
    group = zarr.open_group(str(store), mode="r+")
    n_chunks = group["frames"].cdata_shape[0]
    sizes = group["chunk_bytes"]["frames"][:]
    group["chunk_bytes"].create_array("frames", shape=(n_chunks + 1,), chunks=(n_chunks + 1,), dtype="int64",
                                      overwrite=True)[:] = np.r_[sizes, 7]
    code, text = cli("stores", "verify", "melspec", "emodb")
    assert code == 1
    assert (f"its record of chunk-file sizes (chunk_bytes/frames) holds {n_chunks + 1} entries for {n_chunks} chunks"
            in text)


def test_a_store_folder_without_its_root_record_is_named_alike_everywhere(cli, private_ws):
    store = emodb_store(private_ws)
    (store / "zarr.json").unlink()
    why = "its root record (zarr.json) is missing, so its model, counts and completeness are lost"
    code, text = cli("stores", "ls", "--json")
    listed = {s["corpus"]: s for s in json.loads(text[text.index("{"):])["stores"]}
    assert code == 0 and listed["emodb"]["damaged"] and not listed["emodb"]["complete"]
    assert listed["emodb"]["problems"][0].startswith(why)
    code, text = cli("stores", "ls")
    assert f"melspec/emodb: damaged, unusable ({why}" in text
    code, text = cli("stores", "verify", "melspec", "emodb")
    assert code == 1 and f"not a usable store: {why}" in text
    assert "No group found" not in text  # zarr's own words never reach the user
    code, text = cli(*PROBE)
    assert code == 2 and f"store melspec/emodb is not usable: {why}" in text
    assert "rerun `sergen extract --model melspec --corpus emodb`, which clears the folder and rebuilds it" in text


def test_a_file_named_like_a_store_is_listed_not_skipped(cli, private_ws):
    stray = private_ws / "stores/melspec/ravdess.zarr"
    shutil.rmtree(stray)
    stray.write_text("not a store")
    code, text = cli("stores", "ls")
    assert code == 0
    assert f"{stray}: a file, not a store (a store is a folder): it is not listed, and it blocks extracting that store" in text
    code, text = cli("stores", "ls", "--json")
    assert json.loads(text[text.index("{"):])["not_stores"] == [str(stray)]
    assert stray.read_text() == "not a store"  # listed, never touched


def swap_ids(private_ws) -> tuple[str, str, str, str]:
    path = private_ws / "manifests/emodb.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    a, b = df.loc[0, "utt_id"], df.loc[1, "utt_id"]
    df.loc[0, "utt_id"], df.loc[1, "utt_id"] = b, a
    df.to_csv(path, index=False)
    return a, b, df.loc[0, "path"], df.loc[1, "path"]


def test_swapped_ids_are_named_as_ids_not_as_changed_audio(cli, private_ws):
    a, b, path_a, path_b = swap_ids(private_ws)  # row 0 (file path_a) now says b; row 1 (path_b) says a
    code, text = cli("stores", "verify", "melspec", "emodb")
    assert code == 1
    first = sorted([a, b])[0]
    now, then = (path_b, path_a) if first == a else (path_a, path_b)
    assert (f"the manifest no longer lists the audio this store was made from: 0 utterance(s) added, 0 removed, "
            f"2 id(s) now name other audio files (e.g. {first!r} → {now}, extracted from {then}: ids swapped, "
            "renamed or re-pointed)") in text
    code, text = cli(*PROBE)
    assert code == 2
    assert "2 utterance id(s) of emodb name other audio files in its manifest than the melspec/emodb store was made from" in text
    assert "its labels would land on other utterances' frames" in text


def test_audio_gone_since_extraction_is_noted(cli, private_ws):
    root = json.loads((private_ws / "manifests/emodb.json").read_text())["root"]
    copy = private_ws / "emodb-audio"
    shutil.copytree(root, copy)
    sidecar = private_ws / "manifests/emodb.json"
    meta = json.loads(sidecar.read_text())
    meta["root"] = str(copy)
    sidecar.write_text(json.dumps(meta))
    gone = pd.read_csv(private_ws / "manifests/emodb.csv", dtype=str).path.iloc[3]
    (copy / gone).unlink()
    code, text = cli("stores", "verify", "melspec", "emodb")
    assert code == 0  # the store itself is whole
    assert f"note: 1 audio file(s) this store was made from are gone from {copy}: {gone}; the store still serves probes" in text


def test_a_closed_stdout_is_an_error_not_a_silent_success(tmp_path):
    done = subprocess.run(["bash", "-c", f"{sys.executable} -m sergen.cli models ls >&-"], capture_output=True,
                          text=True, env={**os.environ, "COLUMNS": "300"}, timeout=120)
    assert done.returncode == 1
    assert "error: the output could not be written (Bad file descriptor): stdout was closed" in done.stderr
    assert "Traceback" not in done.stderr

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


def test_a_corpus_listed_twice_or_in_another_case_is_extracted_once_and_said(cli, private_ws, monkeypatch):
    """``--corpus ravdess,ravdess`` ran ravdess twice; ``--corpus RAVDESS`` was taken silently."""
    import sergen.extract

    called, real = [], sergen.extract.extract
    monkeypatch.setattr(sergen.extract, "extract", lambda model, corpus, **k: called.append(corpus) or
                        real(model, corpus, **k))
    code, text = cli("extract", "--model", "melspec", "--corpus", "ravdess,RAVDESS,Ravdess")
    assert code == 0 and text.count("melspec/ravdess: already complete") == 1, text
    assert "note: --corpus RAVDESS read as ravdess" in text and "note: --corpus Ravdess read as ravdess" in text
    assert "note: --corpus lists ravdess more than once: each is run once" in text, text
    assert called == ["ravdess"], (called, text)


@pytest.mark.parametrize("args, notes", [
    (["probe", "--model", "MelSpec", "--train", "EMODB", "--test", "emodb,EMODB"],
     ["--model MelSpec read as melspec", "--train EMODB read as emodb", "--test EMODB read as emodb",
      "--test lists emodb more than once: each is run once"]),
    (["grid", "--models", "melspec,MELSPEC", "--train", "Emodb", "--test", "emodb", "--heads", "linear,Linear"],
     ["--models lists melspec more than once", "--train Emodb read as emodb", "--heads Linear read as linear",
      "--heads lists linear more than once"]),
    (["analyze", "fragmentation", "--model", "melspec", "--corpora", "EMODB,ravdess,emodb"],
     ["--corpora EMODB read as emodb", "--corpora lists emodb more than once"]),
])
def test_every_list_option_reads_names_in_any_case_once_with_a_note(cli, monkeypatch, args, notes):
    """One rule, in the one place lists are parsed (``validate.comma_list``): the command sees canonical names,
    each once. Stopped right after parsing, so nothing runs."""
    import sergen.cli.validate as check

    seen = {}
    real = check.listed_once

    def spy(parts, flag, canonical=None):
        seen[flag] = kept = real(parts, flag, canonical)
        return kept

    monkeypatch.setattr(check, "listed_once", spy)
    code, text = cli(*args)
    for note in notes:
        assert f"note: {note}" in text, (note, text)
    for flag, kept in seen.items():
        assert len(kept) == len(set(kept)) and all(k == k.lower() for k in kept), (flag, kept)


def test_extract_views_are_read_once_in_their_own_spelling(cli, private_ws, monkeypatch):
    import sergen.extract

    called, real = [], sergen.extract.extract
    monkeypatch.setattr(sergen.extract, "extract", lambda model, corpus, view=None, **k:
                        called.append((corpus, view)) or real(model, corpus, view=view, **k))
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb", "--view", "EQ", "--view", "eq")
    assert "note: --view EQ read as eq" in text and "note: --view lists eq more than once" in text, text
    assert code == 0 and [v for _, v in called] == [None, "eq"], (called, text)


def test_set_root_moves_a_corpus_whose_manifest_records_another_root(cli, workspace, demo_root, tmp_path):
    """``config set-root`` wrote the config, but extraction read the root recorded beside the manifest: the old
    files. The manifest is now rebuilt from the new root (its reader options kept); a root that is not the corpus
    changes nothing."""
    import json
    import shutil

    from sergen.config import configured_root

    old, new, empty = tmp_path / "old/emodb", tmp_path / "new/emodb", tmp_path / "empty"
    shutil.copytree(demo_root / "emodb", old)
    shutil.copytree(demo_root / "emodb", new)
    empty.mkdir()
    assert cli("manifest", "emodb", "--root", old, "--seed", "3")[0] == 0
    sidecar = workspace / "manifests/emodb.json"
    before = json.loads(sidecar.read_text())
    code, text = cli("config", "set-root", "EMODB", new)
    assert code == 0 and "emodb root set in" in text, text
    assert f"the emodb manifest recorded {old}: rebuilt from {new} (190 utterances, the same utterances" in text, text
    after = json.loads(sidecar.read_text())
    assert after["root"] == str(new) and after["options"] == before["options"] == {"seed": 3}
    assert after["manifest_sha256"] == before["manifest_sha256"] and configured_root("emodb") == new
    shutil.rmtree(old)  # the old files are gone: extraction reads the new root
    assert cli("extract", "--model", "melspec", "--corpus", "emodb")[0] == 0
    code, text = cli("config", "set-root", "emodb", empty)
    assert code == 2 and f"the emodb manifest still records {new}, and neither it nor the config was changed" in text
    assert json.loads(sidecar.read_text()) == after and configured_root("emodb") == new


@pytest.mark.parametrize("fails_in", ["fill", "meta"])
def test_a_failed_bank_build_leaves_no_partial_file(tmp_path, monkeypatch, fails_in):
    """A bank build that failed (a damaged chunk met while filling it, an interrupt) left its ``.partial.npy``
    in the cache until the next run of the same bank."""
    import numpy as np

    from sergen.experiments import bank_cache

    def fill(writer):
        writer.write("prefix", 0, np.ones((2, 4), np.float32))
        if fails_in == "fill":
            raise SergenError("a chunk met while building the bank is damaged")

    if fails_in == "meta":
        def savez(*a, **k):
            raise OSError("disk went away")

        monkeypatch.setattr(bank_cache.np, "savez", savez)
    keep = tmp_path / "cache" / "mine.partial.npy"  # a file that is not this build's: left alone
    keep.parent.mkdir()
    keep.write_text("mine")
    with pytest.raises((SergenError, OSError)):
        bank_cache.ensure_bank_file(tmp_path / "cache", "m-s-layerlast", "m-s-layerlast.0123456789abcdef",
                                    {"prefix": (10, 4)}, {"lengths": np.arange(3)}, fill)
    left = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert left == (["m-s-layerlast.0123456789abcdef.lock", "mine.partial.npy"] if fails_in == "fill" else
                    ["m-s-layerlast.0123456789abcdef.lock", "m-s-layerlast.0123456789abcdef.prefix.npy",
                     "mine.partial.npy"]), left
    assert keep.read_text() == "mine"


@pytest.mark.parametrize("content", ["{}", None])  # a user's folder shaped like a node: its metadata copied, or none
def test_a_users_folder_shaped_like_sergens_is_never_deleted_by_a_rebuild(cli, private_ws, content):
    """``mine/zarr.json`` and ``mine/c.0.0`` matched sergen's file names, so ``extract --overwrite`` deleted the
    folder with the store. sergen's files are those its layout puts there; an empty folder of the user's too."""
    from tests.test_bad_input import tree_hash

    store = emodb_store(private_ws)
    mine = store / "mine"
    mine.mkdir()
    (mine / "zarr.json").write_text(content or (store / "frames/zarr.json").read_text())
    (mine / "c.0.0").write_bytes(b"mine")
    (store / "utt" / "empty").mkdir()
    before = tree_hash(store)
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb", "--overwrite")
    assert code == 2 and ("the store folder holds 3 file(s) sergen did not write (mine/c.0.0, mine/zarr.json, "
                          "utt/empty/); rebuilding the store removes the folder, so nothing was deleted") in text, text
    assert tree_hash(store) == before and (store / "utt" / "empty").is_dir()
    for path in (mine, store / "utt" / "empty"):
        __import__("shutil").rmtree(path)
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb", "--overwrite")
    assert code == 0 and "written this run, 0 before" in text, text  # sergen's own files, and only they, go


def test_sergens_layout_names_every_node_of_a_store_it_wrote(private_ws):
    from sergen.store.location import is_sergens, sergens_nodes

    store = emodb_store(private_ws)
    nodes = sergens_nodes(store)
    for entry in store.rglob("*"):
        assert is_sergens(entry.relative_to(store).as_posix(), entry.is_dir(), nodes), entry
    assert not is_sergens("mine/zarr.json", False, nodes) and not is_sergens("frames/mine/c.0.0", False, nodes)
    assert not is_sergens("mine", True, nodes)
    assert is_sergens("frames/c.3.0.0123456789abcdef0123456789abcdef.partial", False, nodes)
    assert is_sergens("frames/c/3/0", False, nodes)


def test_verify_says_a_repairs_extract_needs_weights_that_are_not_here(cli, private_ws, tmp_path, monkeypatch):
    """``stores verify`` of a wavlm-large store on a machine without its weights sent the user to an ``extract``
    that stops on the weights; the hint now says they are needed, and how to point at them."""
    import json
    import shutil

    from sergen.store.record import record_digests

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    store = private_ws / "stores/wavlm-large/emodb.zarr"
    shutil.copytree(emodb_store(private_ws), store)
    meta = json.loads((store / "zarr.json").read_text())
    own = meta["attributes"]["sergen"]
    own.update(model="wavlm-large", weights={"id": "microsoft/wavlm-large", "revision": "r1"})
    own["record_crc32c"].update(record_digests({key: own[key] for key in ("model", "weights")}))  # as if made so
    (store / "zarr.json").write_text(json.dumps(meta))
    (store / "frames/c.0.0").write_bytes(b"cut")
    code, text = cli("stores", "verify", "wavlm-large", "emodb")
    assert code == 1 and "repair: `sergen extract --model wavlm-large --corpus emodb` rewrites" in text, text
    assert ("note: that extraction needs the wavlm-large weights (transformers WavLMModel, microsoft/wavlm-large), "
            "which are not on this machine (neither configured nor in the local cache): point at a local copy with "
            "`--weights PATH`, or once with `sergen config set-weights wavlm-large PATH`") in text, text
    assert "give the checkpoint this store was made from (microsoft/wavlm-large at revision r1)" in text
    code, text = cli("stores", "verify", "melspec", "emodb")  # no weights to need: no note
    assert code == 0 and "weights" not in text

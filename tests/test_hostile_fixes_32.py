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


@pytest.mark.parametrize("code", [7, 3, 0])  # a code sergen never writes; "failed" or "pending" in a complete store
def test_verify_names_the_repair_first_where_extract_alone_would_say_complete(cli, private_ws, code):
    import zarr

    store = emodb_store(private_ws)
    status = zarr.open_group(str(store), mode="r+")["status"]
    values = status[:]
    values[2] = code
    status[:] = values
    code_, text = cli("stores", "verify", "melspec", "emodb")
    flat = " ".join(text.split())
    assert code_ == 1 and ("repair: `sergen stores verify melspec emodb --repair`, then `sergen extract --model "
                           "melspec --corpus emodb` rewrites exactly the utterances named") in flat, text
    assert cli("stores", "verify", "melspec", "emodb", "--repair")[0] == 0
    code_, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code_ == 0 and "1 written this run" in text, text
    assert cli("stores", "verify", "melspec", "emodb") == (0, "melspec/emodb: ok")


def test_verify_of_an_unknown_model_or_corpus_names_the_name_not_a_refused_extract(cli, private_ws):
    emodb_store(private_ws)
    code, text = cli("stores", "verify", "nosuch", "emodb")
    flat = " ".join(text.split())
    assert code == 2 and "no store nosuch/emodb" in flat and "no model 'nosuch' is known (`sergen models ls` lists" in flat
    assert "sergen extract" not in flat, text
    code, text = cli("stores", "verify", "melspec", "nosuch")
    flat = " ".join(text.split())
    assert code == 2 and "no store melspec/nosuch" in flat and "unknown corpus 'nosuch'" in flat, text
    assert "sergen extract" not in flat, text


def test_a_truncated_wav_is_named_at_manifest_time_not_listed_as_a_short_utterance(cli, tmp_path):
    """``truncate -s 100`` on a corpus wav: the manifest listed it as 28 samples, and extract padded it."""
    import os

    from tests.test_bad_input import _tiny_emodb

    root = _tiny_emodb(tmp_path / "emodb")
    wav = root / "wav/03a01Fa.wav"
    os.truncate(wav, 100)
    code, text = cli("manifest", "emodb", "--root", root)
    flat = " ".join(text.split())
    assert "wav/03a01Fa.wav: unreadable audio: audio file cut short: its header declares" in flat, text
    assert "the file holds 28 (truncated, or still being copied)" in flat, text


def test_a_blank_root_variable_is_named(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("SERGEN_ROOT_EMODB", " ")
    code, text = cli("manifest", "emodb")
    flat = " ".join(text.split())
    assert code == 2 and "SERGEN_ROOT_EMODB is set to blanks (' '), not a path" in flat, text
    assert "unset SERGEN_ROOT_EMODB" in flat


@pytest.mark.parametrize("where", ["status/zarr.json", "frames/zarr.json", "zarr.json"])
def test_a_zarr_json_holding_null_is_damage_not_a_traceback(cli, private_ws, where):
    store = emodb_store(private_ws)
    (store / where).write_text("null")
    for args in (("stores", "ls"), ("extract", "--model", "melspec", "--corpus", "emodb"),
                 ("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb")):
        code, text = cli(*args)
        assert "Traceback" not in text, (args, text)
        assert code in (0, 2), (args, code, text)
        if args[0] == "stores":
            assert "damaged" in " ".join(text.split()), text
        else:
            assert code == 2, (args, text)


def test_verify_of_a_missing_hf_store_names_the_extract_not_an_unknown_model(cli, private_ws):
    emodb_store(private_ws)
    code, text = cli("stores", "verify", "hf:foo/bar", "emodb")
    flat = " ".join(text.split())
    assert code == 2 and "is known" not in flat and "sergen extract --model" in flat, text

"""The bad-input suite: what a hostile new user types, run through the real CLI entry point in-process.

Every case asserts the exit code, that no traceback reaches the user, what the message says, and for
the cases that could lose data, that the user's stores and files are byte-identical afterwards."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import zarr

from sergen.cli import main
from tests.conftest import write_wav
from tests.chunk_files import chunk_file

BOX = str.maketrans({c: " " for c in "│╭╮╰╯─"})


def normalised(text: str) -> str:
    """Output with rich's boxes and line wrapping removed, so messages can be matched as one line."""
    return " ".join(text.translate(BOX).split())


@pytest.fixture
def cli(capsys, monkeypatch):
    """``cli(*args)`` → (exit code, normalised stdout + stderr) of ``sergen ARGS`` run in this process."""
    from sergen.console import console, err_console

    import typer.rich_utils

    for con in (console, err_console):
        monkeypatch.setattr(con, "width", 4000)  # no mid-path folding in long messages
    monkeypatch.setattr(typer.rich_utils, "MAX_WIDTH", 4000)  # the same for click's usage errors

    def run(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["sergen", *map(str, args)])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_:
            main()
        out = capsys.readouterr()
        text = normalised(out.out + out.err)
        assert "Traceback" not in out.out + out.err
        code = exit_.value.code
        return (0 if code is None else code), text

    return run


def tree_hash(path: Path) -> str:
    """One digest of every file's relative path and bytes under ``path``."""
    digest = hashlib.sha256()
    for file in sorted(p for p in Path(path).rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def private_ws(demo_workspace, workspace):
    """This test's own workspace holding copies of the demo's emodb and ravdess manifests and melspec
    stores (the shared session workspace is never damaged)."""
    for corpus in ("emodb", "ravdess"):
        for ext in ("csv", "json"):
            (workspace / "manifests").mkdir(exist_ok=True)
            shutil.copy(demo_workspace / "manifests" / f"{corpus}.{ext}", workspace / "manifests")
        shutil.copytree(demo_workspace / "stores/melspec" / f"{corpus}.zarr", workspace / f"stores/melspec/{corpus}.zarr")
    return workspace


def emodb_store(ws: Path) -> Path:
    return ws / "stores/melspec/emodb.zarr"


# -- option values refused at the boundary (typer callbacks; nothing read or written) -----------------
OPTION_CASES = {
    "probe protocol typed empty": (["probe", "--model", "melspec", "--train", "emodb", "--protocol", ""],
                                   "Invalid value for '--protocol': an empty value; leave the option out for the default"),
    "probe folds typed empty": (["probe", "--model", "melspec", "--train", "emodb", "--folds", " "],
                                "Invalid value for '--folds': an empty value; leave the option out for the default"),
    "probe aug-share above 1": (["probe", "--model", "melspec", "--train", "emodb", "--aug-share", "1.5"],
                                "Invalid value for '--aug-share': 1.5 is out of range: give a probability from 0 to 1"),
    "probe aug-share negative": (["probe", "--model", "melspec", "--train", "emodb", "--aug-share", "-0.1"],
                                 "give a probability from 0 to 1"),
    "probe aug-share nan": (["probe", "--model", "melspec", "--train", "emodb", "--aug-share", "nan"],
                            "nan is not a finite number"),
    "probe seed negative": (["probe", "--model", "melspec", "--train", "emodb", "--seed", "-1"],
                            "Invalid value for '--seed': -1 is out of range: give a whole number from 0 to 4294967295"),
    "probe layer not a number": (["probe", "--model", "melspec", "--train", "emodb", "--layer", "x"],
                                 "Invalid value for '--layer': 'x' is not a layer: give - (the last stored), all"),
    "probe empty train": (["probe", "--model", "melspec", "--train", ""], "Invalid value for '--train': '' has an empty item"),
    "probe train trailing comma": (["probe", "--model", "melspec", "--train", "emodb,"], "'emodb,' has an empty item"),
    "grid seeds not numbers": (["grid", "--models", "melspec", "--seeds", "abc"],
                               "Invalid value for '--seeds': 'abc' is not a whole number"),
    "grid negative seed": (["grid", "--models", "melspec", "--seeds", "0,-1"], "in '0,-1': -1 is out of range"),
    "grid aug-share list above 1": (["grid", "--models", "melspec", "--aug-share", "0,1.5"],
                                    "Invalid value for '--aug-share': in '0,1.5': 1.5 is out of range"),
    "grid zero workers": (["grid", "--models", "melspec", "--workers", "0"],
                          "Invalid value for '--workers': 0 is out of range: give a whole number of at least 1"),
    "grid negative workers": (["grid", "--models", "melspec", "--workers", "-2"], "-2 is out of range"),
    "grid malformed scheduler": (["grid", "--models", "melspec", "--scheduler", "bogus"],
                                 "Invalid value for '--scheduler': --scheduler 'bogus' is not a scheduler address"),
    "grid empty models": (["grid", "--models", ",melspec"], "',melspec' has an empty item"),
    "demo-data zero scale": (["demo-data", "--scale", "0"],
                             "Invalid value for '--scale': 0.0 is out of range: give a scale from 0.01 to 10"),
    "demo-data negative scale": (["demo-data", "--scale", "-1"], "give a scale from 0.01 to 10"),
    "demo-data negative seed": (["demo-data", "--seed", "-3"], "Invalid value for '--seed': -3 is out of range"),
    "demo zero scale": (["demo", "--scale", "0"], "Invalid value for '--scale'"),
    "demo zero workers": (["demo", "--workers", "0"], "Invalid value for '--workers'"),
    "analyze unknown method": (["analyze", "fragmentation", "--model", "melspec", "--method", "tsne"],
                               "Invalid value for '--method': 'tsne' is not one of pca, umap"),
    "analyze negative seed": (["analyze", "fragmentation", "--model", "melspec", "--seed", "-1"], "Invalid value for '--seed'"),
    "report missing results folder": (["report", "--results", "/nonexistent/results"],
                                      "Invalid value for '--results': the folder /nonexistent/results does not exist"),
    "manifest negative seed": (["manifest", "emodb", "--root", ".", "--seed", "-1"], "Invalid value for '--seed'"),
    "manifest unknown cremad labels": (["manifest", "cremad", "--root", ".", "--labels", "voted"],
                                       "Invalid value for '--labels': 'voted' is not one of intended, perceived"),
    "manifest folder name with slash": (["manifest", "folder", "--root", ".", "--name", "a/b"],
                                        "Invalid value for '--name': 'a/b' cannot name a corpus"),
    "manifest empty msp test set": (["manifest", "msp", "--root", ".", "--test-set", " "],
                                    "Invalid value for '--test-set': give a non-empty value"),
    "extract zero hop": (["extract", "--model", "clap-2023", "--hop-seconds", "0"],
                         "Invalid value for '--hop-seconds': 0.0 is out of range: give a number greater than 0"),
    "extract negative view seed": (["extract", "--model", "melspec", "--view-seed", "-1"], "Invalid value for '--view-seed'"),
}


@pytest.mark.parametrize("args,message", list(OPTION_CASES.values()), ids=list(OPTION_CASES))
def test_option_values_are_refused_at_the_boundary(cli, args, message):
    code, text = cli(*args)
    assert code == 2, text
    assert message in text, text


def test_output_paths_that_are_files_or_folders(cli, tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("keep me")
    code, text = cli("report", "--out", a_file)
    assert code == 2 and f"Invalid value for '--out': {a_file} is a file, not a folder" in text
    code, text = cli("manifest", "emodb", "--root", ".", "--out", tmp_path)
    assert code == 2 and f"{tmp_path} is a folder: give the file to write" in text
    code, text = cli("stores", "ls", "--root", a_file)
    assert code == 2 and "is a file, not a folder" in text
    code, text = cli("stores", "verify", "melspec", "emodb", "--root", a_file)
    assert code == 2 and "is a file, not a folder" in text
    assert a_file.read_text() == "keep me"


# -- extract: every argument checked before the store is touched ---------------------------------------
EXTRACT_REFUSALS = {
    "malformed scheduler": (["--scheduler", "bogus"], "is not a scheduler address"),
    "zero local workers": (["--scheduler", "local:0"], "the worker count after 'local:' must be a whole number ≥ 1"),
    "unreachable scheduler": (["--scheduler", "tcp://127.0.0.1:1"], "cannot reach the Dask scheduler 'tcp://127.0.0.1:1'"),
    "unknown device": (["--device", "bogus"], "Invalid value for '--device': 'bogus' is not a device: use cpu, cuda, cuda:N or mps"),
    "negative batch seconds": (["--batch-seconds", "-1"], "Invalid value for '--batch-seconds': -1.0 is out of range"),
    "infinite batch seconds": (["--batch-seconds", "inf"], "inf is not a finite number"),
    "layers not numbers": (["--layers", "x"], "Invalid value for '--layers': 'x' is not a whole number"),
    "layers with an empty item": (["--layers", "6,,12"], "'6,,12' has an empty item"),
    "layers on a single-layer model": (["--layers", "6"], "melspec takes no --layers option"),
    "revision on a model without hub weights": (["--revision", "abc123"], "melspec takes no --revision option"),
    "model option the model lacks": (["--opt", "n_mels=64"], "melspec takes no option 'n_mels' fix: leave it out; melspec takes no options"),
    "model option of another model": (["--opt", "hop_seconds=0.5"], "melspec takes no --hop-seconds option fix: leave it out (--hop-seconds is for clap-2023)"),
    "model option without a value": (["--opt", "n_mels"], "--opt 'n_mels' is not of the form key=value"),
    "model option twice": (["--opt", "a=1", "--opt", "a=2"], "--opt a is given twice ('1' and '2')"),
    "empty revision": (["--revision", ""], "Invalid value for '--revision': give a non-empty value"),
    "weights that do not exist": (["--weights", "/nonexistent/ckpt.pt"], "Invalid value for '--weights': /nonexistent/ckpt.pt does not exist"),
    "weights for a model without weights": (["--weights", "."], "melspec has no weights: --weights does not apply"),
    "root that does not exist": (["--root", "/nonexistent/emodb"], "Invalid value for '--root': the folder /nonexistent/emodb does not exist"),
    "unknown view": (["--view", "bogus"], "unknown view 'bogus'; known:"),
    "unknown second corpus": (["--corpus", "emodb,bogus"], "unknown corpus 'bogus'; known:"),
    "second corpus without a manifest": (["--corpus", "emodb,cremad"], "no manifest for cremad"),
}


@pytest.mark.parametrize("extra,message", list(EXTRACT_REFUSALS.values()), ids=list(EXTRACT_REFUSALS))
def test_extract_overwrite_with_a_bad_argument_keeps_the_store(cli, private_ws, extra, message):
    before = tree_hash(emodb_store(private_ws))
    args = ["extract", "--model", "melspec", "--overwrite", *extra]
    code, text = cli(*(args if "--corpus" in extra else [*args, "--corpus", "emodb"]))
    assert code == 2, text
    assert message in text, text
    assert tree_hash(emodb_store(private_ws)) == before


def test_extract_on_a_machine_without_cuda(cli, private_ws):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    before = tree_hash(emodb_store(private_ws))
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb", "--overwrite", "--device", "cuda")
    assert code == 2 and "--device cuda: no CUDA device is available on this machine" in text
    assert tree_hash(emodb_store(private_ws)) == before


def test_extract_unknown_model_keeps_the_store(cli, private_ws):
    before = tree_hash(emodb_store(private_ws))
    code, text = cli("extract", "--model", "wavlm-tiny", "--corpus", "emodb", "--overwrite")
    assert code == 2 and "unknown model 'wavlm-tiny'; known:" in text
    assert tree_hash(emodb_store(private_ws)) == before


def test_root_of_another_corpus_is_one_clear_error(cli, private_ws, demo_root):
    before = tree_hash(emodb_store(private_ws))
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb", "--overwrite", "--root", demo_root / "ravdess")
    assert code == 2
    assert "--root does not hold the emodb manifest's audio: 50 of 50 files checked are missing there (e.g. wav/" in text
    assert "System error" not in text and text.count("error:") == 1
    assert tree_hash(emodb_store(private_ws)) == before


def test_root_that_is_a_file(cli, private_ws, tmp_path):
    (tmp_path / "file").write_text("x")
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb", "--root", tmp_path / "file")
    assert code == 2 and "is a file, not a folder" in text


def test_manifest_root_that_vanished_names_the_manifest(cli, private_ws):
    import json

    sidecar = private_ws / "manifests/emodb.json"
    meta = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps(dict(meta, root="/nonexistent/emodb")))
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb", "--overwrite")
    assert code == 2 and "the root recorded with the emodb manifest does not exist" in text
    assert "pass --root DIR where the emodb corpus now lives" in text


def test_stores_folder_that_is_a_file(cli, private_ws, monkeypatch, tmp_path):
    (tmp_path / "stores_file").write_text("not a folder")
    monkeypatch.setenv("SERGEN_STORES", str(tmp_path / "stores_file"))
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 2 and "the stores folder is a file, not a folder" in text
    code, text = cli("stores", "ls")
    assert code == 2 and "the stores folder is a file, not a folder" in text
    code, text = cli("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb")
    assert code == 2 and "the stores folder is a file, not a folder" in text
    assert (tmp_path / "stores_file").read_text() == "not a folder"


def _read_only(path: Path, monkeypatch) -> None:
    """Make ``path`` read-only; as root (who may write anyway) ``os.access`` follows the mode bits instead."""
    path.chmod(stat.S_IRUSR | stat.S_IXUSR)
    if os.geteuid() == 0:
        real = os.access

        def access(p, mode, *a, **k):
            if Path(p) == path and mode & os.W_OK:
                return False
            return real(p, mode, *a, **k)

        monkeypatch.setattr(os, "access", access)


def test_read_only_stores_folder(cli, private_ws, monkeypatch):
    folder = private_ws / "stores"
    shutil.rmtree(folder / "melspec")
    _read_only(folder, monkeypatch)
    try:
        code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    finally:
        folder.chmod(0o755)
    assert code == 2 and "the stores folder is not writable" in text and "chmod u+w" in text


def test_read_only_manifests_folder(cli, workspace, demo_root, monkeypatch):
    folder = workspace / "manifests"
    folder.mkdir()
    _read_only(folder, monkeypatch)
    try:
        code, text = cli("manifest", "emodb", "--root", demo_root / "emodb")
    finally:
        folder.chmod(0o755)
    assert code == 2 and "the manifests folder is not writable" in text
    assert list(folder.iterdir()) == []


def test_manifests_path_that_is_a_file(cli, workspace, demo_root, monkeypatch):
    (workspace / "mfile").write_text("mine")
    monkeypatch.setenv("SERGEN_MANIFESTS", str(workspace / "mfile"))
    code, text = cli("manifest", "emodb", "--root", demo_root / "emodb")
    assert code == 2 and "the manifests folder is a file, not a folder" in text
    assert (workspace / "mfile").read_text() == "mine"


# -- stores that lost chunk files ---------------------------------------------------------------------
def _chunk_owners(store: Path, first_row: int, last_row: int) -> list[str]:
    group = zarr.open_group(str(store), mode="r")
    offsets = group["offsets"][:]
    ids = group["utt"]["utt_id"][:].tolist()
    lo = np.searchsorted(offsets, first_row, side="right") - 1
    hi = np.searchsorted(offsets, last_row, side="left")
    return ids[lo:hi]


def test_lost_frame_chunk_is_refused_listed_and_repaired(cli, private_ws):
    store = emodb_store(private_ws)
    original = zarr.open_group(str(store), mode="r")["frames"][:]
    owners = _chunk_owners(store, 4096, 8192)
    chunk_file(store, "frames", 1).unlink()

    code, text = cli("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb")
    assert code == 2
    assert f"store melspec/emodb lost chunk files (frame chunk 1 (frames 4096–8192) is missing): {len(owners)} utterance(s)" in text
    assert ", ".join(owners[:5]) in text
    assert "fix: rerun `sergen extract --model melspec --corpus emodb` to rewrite them" in text

    code, text = cli("analyze", "fragmentation", "--model", "melspec", "--corpora", "emodb,ravdess")
    assert code == 2 and "store melspec/emodb lost chunk files" in text

    code, text = cli("stores", "ls")
    assert code == 0 and "emodb" in text and "damaged" in text
    assert ("melspec/emodb: chunk files lost or damaged; `sergen stores verify melspec emodb` names the utterances"
            in " ".join(text.split()))  # folded at the width

    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 0, text
    assert f"melspec/emodb: {len(owners)} utterance(s) whose chunk files were lost or damaged, rewritten" in text
    np.testing.assert_array_equal(zarr.open_group(str(store), mode="r")["frames"][:], original)
    code, text = cli("stores", "verify", "melspec", "emodb")
    assert code == 0 and "melspec/emodb: ok" in text


def test_fragmentation_of_a_single_corpus(cli, in_demo_workspace):
    code, text = cli("analyze", "fragmentation", "--model", "melspec", "--corpora", "emodb")
    assert code == 2 and "the fragmentation analysis compares corpora, and got only emodb" in text
    assert "give two or more with --corpora a,b (or all)" in text


def test_lost_statistics_chunk_is_refused_and_repaired(cli, private_ws):
    store = emodb_store(private_ws)
    group = zarr.open_group(str(store), mode="r")
    mean, std = group["mean"][:], group["std"][:]
    chunk_file(store, "std").unlink()
    code, text = cli("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb")
    assert code == 2 and "std chunk 0 (utterances 0–190) is missing" in text and "190 utterance(s)" in text
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 0 and "190 utterance(s) whose chunk files were lost or damaged, rewritten" in text
    group = zarr.open_group(str(store), mode="r")
    np.testing.assert_array_equal(group["mean"][:], mean)
    np.testing.assert_array_equal(group["std"][:], std)


def test_lost_offsets_need_a_rebuild_and_extract_keeps_the_store(cli, private_ws):
    store = emodb_store(private_ws)
    chunk_file(store, "offsets").unlink()
    before = tree_hash(store)
    code, text = cli("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb")
    assert code == 2 and "store melspec/emodb is damaged: the store's offsets array lost a chunk" in text
    assert "--overwrite" in text
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 2 and "this store lost chunks it cannot be repaired without: offsets" in text
    assert tree_hash(store) == before


def test_lost_status_chunk_of_a_complete_store_is_not_read_as_pending(cli, private_ws):
    store = emodb_store(private_ws)
    chunk_file(store, "status").unlink()
    code, text = cli("probe", "--model", "melspec", "--train", "emodb", "--test", "emodb")
    assert code == 2 and "the status chunk is missing" in text and "190 utterance(s)" in text


# -- audio whose samples are not numbers --------------------------------------------------------------
def _tiny_emodb(root: Path) -> Path:
    """Eight EmoDB-named files (two per class) from two speakers."""
    for i, (spk, emo) in enumerate([(s, e) for s in ("03", "08") for e in "FTNW"]):
        write_wav(root / "wav" / f"{spk}a0{i % 4 + 1}{emo}a.wav", seconds=0.4, freq=200 + 20 * i)
    return root


def _float_wav(path: Path, samples: np.ndarray) -> None:
    sf.write(path, samples.astype(np.float32), 16000, subtype="FLOAT")


@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
def test_non_finite_samples_fail_only_their_file(cli, tmp_path, bad):
    root = _tiny_emodb(tmp_path / "emodb")
    samples = 0.1 * np.sin(np.arange(6400) / 10)
    samples[100:110] = bad
    _float_wav(root / "wav/03a01Fa.wav", samples)
    code, text = cli("manifest", "emodb", "--root", root)
    assert code == 0, text
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 1
    assert "melspec/emodb: 7 written this run, 0 before, 0 padded, 1 failed" in text
    assert "03a01Fa: audio holds 10 NaN or Inf sample(s): rewrite or remove the file" in text
    assert "store left incomplete" in text
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb", "--allow-failures")
    assert code == 1 and "0 written this run, 7 before" in text
    code, text = cli("stores", "ls")
    assert "emodb" in text and "yes" in text


def test_silent_audio_is_extracted_as_it_is(cli, tmp_path):
    root = _tiny_emodb(tmp_path / "emodb")
    _float_wav(root / "wav/03a01Fa.wav", np.zeros(6400))
    assert cli("manifest", "emodb", "--root", root)[0] == 0
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 0 and "8 written this run, 0 before, 0 padded, 0 failed" in text


# -- CSVs: empty, not UTF-8, malformed, hand-edited ---------------------------------------------------
def _folder_corpus(root: Path, csv_text: bytes | None = None, labels=("happy", "sad", "neutral", "angry")) -> Path:
    lines = ["path,label,speaker"]
    for i in range(12):
        write_wav(root / f"a{i}.wav", seconds=0.3)
        lines.append(f"a{i}.wav,{labels[i % len(labels)]},s{i % 3}")
    (root / "labels.csv").write_bytes(csv_text if csv_text is not None else "\n".join(lines).encode())
    return root


@pytest.mark.parametrize("content,message", [
    (b"", "the label CSV is empty"),
    ("path,label\na.wav,fröhlich\n".encode("latin-1"), "the label CSV is not UTF-8 text (line 2, byte 0xf6)"),
    (b'path,label\n"a.wav,happy\n', "the label CSV is not a well-formed CSV"),
], ids=["empty", "latin-1", "unbalanced quote"])
def test_folder_csv_that_cannot_be_read(cli, tmp_path, content, message):
    root = _folder_corpus(tmp_path / "mine", content)
    code, text = cli("manifest", "folder", "--root", root, "--name", "mine")
    assert code == 2 and message in text and str(root / "labels.csv") in text


def test_labels_that_empty_a_class_are_named(cli, tmp_path):
    root = _folder_corpus(tmp_path / "mine", labels=("happy", "sad", "neutral", "fear"))
    code, text = cli("manifest", "folder", "--root", root, "--name", "mine")
    assert code == 0
    assert ("warning: class ang is empty in mine: no utterance maps to it (left out: fear (3, kept for --labels "
            "native))") in text


def _manifest_edit(ws: Path, edit) -> None:
    import pandas as pd

    path = ws / "manifests/emodb.csv"
    df = pd.read_csv(path, dtype=str)
    edit(df)
    df.to_csv(path, index=False)


@pytest.mark.parametrize("edit,message", [
    (lambda df: df.__setitem__("label", df["label"].where(df.index != 3, "happy")),
     "the emodb manifest has labels other than hap, sad, neu, ang or empty (a class outside the four) (line(s) 5)"),
    (lambda df: df.__setitem__("split", df["split"].where(df.index != 0, "dev")),
     "has splits outside train, valid, test (line(s) 2)"),
    (lambda df: df.__setitem__("num_samples", df["num_samples"].where(df.index != 7, "abc")),
     "has num_samples values that are not positive whole numbers (line(s) 9)"),
    (lambda df: df.__setitem__("utt_id", df["utt_id"].where(df.index != 1, df["utt_id"][0])),
     "repeats utterance ids (line(s) 3)"),
], ids=["label", "split", "num_samples", "duplicate id"])
def test_hand_broken_manifest_is_refused_before_extraction(cli, private_ws, edit, message):
    _manifest_edit(private_ws, edit)
    before = tree_hash(emodb_store(private_ws))
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb", "--overwrite")
    assert code == 2 and message in text
    assert "correct those rows, or rebuild it with `sergen manifest emodb --root DIR`" in text
    assert tree_hash(emodb_store(private_ws)) == before


@pytest.mark.parametrize("content,message", [
    (b"", "the emodb manifest is empty"),
    (b"utt_id,corpus\n\xff\xfe,emodb\n", "the emodb manifest is not UTF-8 text"),
], ids=["empty", "binary"])
def test_unreadable_manifest_file(cli, private_ws, content, message):
    (private_ws / "manifests/emodb.csv").write_bytes(content)
    before = tree_hash(emodb_store(private_ws))
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb", "--overwrite")
    assert code == 2 and message in text
    assert tree_hash(emodb_store(private_ws)) == before


def test_broken_manifest_sidecar(cli, private_ws):
    (private_ws / "manifests/emodb.json").write_text("{not json")
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 2 and "the manifest's sidecar is not valid JSON" in text


def _msp_copy(demo_root: Path, tmp_path: Path) -> Path:
    root = tmp_path / "msp"
    shutil.copytree(demo_root / "msp", root)
    return root


def test_msp_test_set_with_a_typo(cli, demo_root, tmp_path):
    root = _msp_copy(demo_root, tmp_path)
    code, text = cli("manifest", "msp", "--root", root, "--test-set", "Tset2")
    assert code == 2
    assert "MSP-Podcast has no set 'Tset2' to test on; its sets: Development, Test1, Test2, Train" in text
    assert not (tmp_path / "manifests/msp.csv").exists()


def test_msp_label_file_empty(cli, demo_root, tmp_path):
    root = _msp_copy(demo_root, tmp_path)
    (root / "Labels/labels_consensus.csv").write_bytes(b"")
    code, text = cli("manifest", "msp", "--root", root)
    assert code == 2 and "the MSP-Podcast label file labels_consensus.csv is empty" in text


def test_cremad_demographics_without_its_columns(cli, demo_root, tmp_path):
    root = tmp_path / "cremad"
    shutil.copytree(demo_root / "cremad", root)
    (root / "VideoDemographics.csv").write_text("Actor,Gender\n1001,Male\n")
    code, text = cli("manifest", "cremad", "--root", root)
    assert code == 2 and "VideoDemographics.csv lacks the ActorID and Sex columns" in text


def test_manifest_out_never_overwrites_a_file_sergen_did_not_write(cli, tmp_path, demo_root):
    """`manifest --out` onto the config, an audio file or a user's CSV (or next to a user's .json) is refused
    before anything is written; rewriting a manifest sergen wrote is still fine."""
    root = demo_root / "emodb"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "sergen.toml").write_text("[roots]\n")
    (mine / "take.wav").write_bytes(b"RIFF....")
    (mine / "data.csv").write_text("a,b\n1,2\n")
    (mine / "notes.json").write_text('{"mine": true}')
    before = tree_hash(mine)
    for out, what in ((mine / "sergen.toml", "a manifest is a .csv file, not 'sergen.toml'"),
                      (mine / "take.wav", "a manifest is a .csv file, not 'take.wav'"),
                      (mine / "data.csv", "a file that is not a sergen manifest is in the way; nothing was written"),
                      (mine / "notes.csv", "a .json file that is not a sergen manifest is in the way")):
        code, text = cli("manifest", "emodb", "--root", root, "--out", out)
        assert code == 2 and what in text and "Traceback" not in text, text
    assert tree_hash(mine) == before
    ours = tmp_path / "ours.csv"
    for _ in range(2):  # the second run replaces sergen's own manifest and sidecar
        code, text = cli("manifest", "emodb", "--root", root, "--out", ours)
        assert code == 0, text


def test_folder_corpus_named_after_a_known_corpus_is_refused(cli, tmp_path, monkeypatch):
    write_wav(tmp_path / "mine" / "a.wav")
    (tmp_path / "mine" / "labels.csv").write_text("path,label\na.wav,happy\n")
    monkeypatch.chdir(tmp_path / "mine")
    for name in ("emodb", "crema"):
        code, text = cli("manifest", "folder", "--root", ".", "--csv", "labels.csv", "--name", name)
        assert code == 2 and f"--name {name!r} is a corpus sergen reads itself" in text and "Traceback" not in text
    assert not list((tmp_path / "manifests").glob("*.csv")) if (tmp_path / "manifests").exists() else True


@pytest.mark.parametrize("value", ["abc", "-1"])
def test_bank_cache_size_that_is_not_a_size_is_refused(value, monkeypatch):
    from sergen.errors import SergenError
    from sergen.experiments.bank_cache import threshold_bytes

    monkeypatch.setenv("SERGEN_BANK_CACHE_MIB", value)
    with pytest.raises(SergenError, match=f"SERGEN_BANK_CACHE_MIB='{value}' is not a memory size in MiB of at least 0"):
        threshold_bytes()


def test_folders_below_a_regular_file_are_refused_by_name(cli, tmp_path, monkeypatch):
    """`report --out FILE/x`, a reports folder that is a file, `config init FILE/sub`: one clear error each."""
    some_file = tmp_path / "SOMEFILE"
    some_file.write_text("keep me")
    code, text = cli("report", "--out", some_file / "x")
    assert code == 2, text
    assert f"error: the report folder lies under a file where: {some_file} " \
           "fix: move the file away or point the report folder elsewhere (give another --out)" in text
    code, text = cli("config", "init", some_file / "sub")
    assert code == 2, text
    assert f"error: the workspace folder lies under a file where: {some_file} " in text
    assert "give a folder that is not inside a file" in text
    assert some_file.read_text() == "keep me" and sorted(p.name for p in tmp_path.iterdir()) == ["SOMEFILE"]

    monkeypatch.delenv("SERGEN_REPORTS")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sergen.toml").write_text('[dirs]\nreports = "sergen.toml"\n')
    code, text = cli("report")
    assert code == 2, text
    assert f"error: the reports folder is a file, not a folder where: {tmp_path / 'sergen.toml'} " in text
    assert "(SERGEN_REPORTS or [dirs] in sergen.toml)" in text
    assert (tmp_path / "sergen.toml").read_text() == '[dirs]\nreports = "sergen.toml"\n'

"""Content integrity of stores: each kind of damage a hostile user (or a torn copy) leaves is refused by name,
or repaired to the very same numbers, never trained on."""

import json
import shutil

import numpy as np
import pytest
import zarr

import sergen
from sergen.corpora import read_corpus, write_manifest
from sergen.errors import SergenError
from sergen.extract import extract
from sergen.store.digests import DIGEST_ARRAY
from sergen.store.layout import store_path
from sergen.store.verify import verify_store
from sergen.config import data_dir
from tests.chunk_files import chunk_file, chunk_files


@pytest.fixture(scope="module")
def clean(demo_root, tmp_path_factory):
    """A melspec EmoDB store and its manifest, extracted once for the module."""
    ws = tmp_path_factory.mktemp("integrity")
    write_manifest(read_corpus("emodb", demo_root / "emodb"), ws / "manifests" / "emodb.csv")
    extract("melspec", "emodb", stores_root=ws / "stores", manifest_file=ws / "manifests" / "emodb.csv",
            show_progress=False)
    return ws


@pytest.fixture
def store(clean, workspace):
    """This test's own copy of the clean store (and manifest) in its workspace. The per-process caches are
    keyed by the store's creation time, which every copy shares: cleared, so no test reads another's copy."""
    from sergen.experiments import data, store_index

    for cached in (store_index._opened, store_index._store_index, data._store_bank, data._load_corpus):
        cached.cache_clear()
    for kind in ("manifests", "stores"):
        shutil.copytree(clean / kind, workspace / kind, dirs_exist_ok=True)  # the workspace fixture made manifests/
    return store_path("melspec", "emodb", data_dir("stores"))


def frames_of(path) -> np.ndarray:
    return zarr.open_group(str(path), mode="r")["frames"][:]


def owners(path, rows: slice) -> list[str]:
    group = zarr.open_group(str(path), mode="r")
    offsets, ids = group["offsets"][:], group["utt"]["utt_id"][:].tolist()
    first = np.searchsorted(offsets, rows.start, side="right") - 1
    last = np.searchsorted(offsets, rows.stop, side="left")
    return ids[first:last]


def test_new_stores_checksum_every_numeric_chunk_and_digest_every_utterance(store):
    group = zarr.open_group(str(store), mode="r")
    for name in ("frames", "mean", "std", "status", "offsets", DIGEST_ARRAY):
        assert [type(c).__name__ for c in group[name].metadata.codecs][-1] == "Crc32cCodec", name
    digests = group[DIGEST_ARRAY][:]
    assert len(digests) == 190 and (digests >= 0).all() and len(np.unique(digests)) == 190


def test_chunk_cut_short_is_named_never_decoded_and_extract_rewrites_it(store):
    before = frames_of(store)
    chunk = chunk_file(store, "frames")
    chunk.write_bytes(chunk.read_bytes()[: chunk.stat().st_size // 2])  # the segfault (3 of 5 probes)
    with pytest.raises(SergenError) as exc:
        sergen.open_store("melspec", "emodb")
    assert "store melspec/emodb has damaged chunk files (frame chunk 0 (frames 0–4096) is cut short" in exc.value.what
    assert owners(store, slice(0, 4096))[0] in exc.value.what and "cannot be read as written" in exc.value.what
    report = verify_store(store)
    assert "is cut short" in report.problems[0] and set(owners(store, slice(0, 4096))) <= report.affected
    again = extract("melspec", "emodb", show_progress=False)
    assert not again.skipped and again.repaired == len(owners(store, slice(0, 4096)))
    np.testing.assert_array_equal(frames_of(store), before)  # the same numbers as before the damage
    assert verify_store(store).ok


def _swap_ledger_entries(store, name: str, i: int, j: int) -> None:
    """What a swap of two chunk files of the same size would leave: the size record agrees with the files."""
    ledger = zarr.open_group(str(store), mode="r+")["chunk_bytes"][name]
    sizes = ledger[:]
    sizes[[i, j]] = sizes[[j, i]]
    ledger[:] = sizes


def test_swapped_chunk_files_of_the_same_size_are_caught_by_digests(store, monkeypatch):
    from sergen.experiments.data import store_bank

    a, b = chunk_file(store, "frames"), chunk_file(store, "frames", 1)
    first, second = a.read_bytes(), b.read_bytes()
    a.write_bytes(second)
    b.write_bytes(first)
    _swap_ledger_entries(store, "frames", 0, 1)
    report = verify_store(store)
    assert not report.ok and "digest mismatch: a chunk file swapped, replaced or edited" in report.problems[0]
    assert set(owners(store, slice(0, 4096))) & report.affected  # utterances wholly inside the swapped chunks
    monkeypatch.setenv("SERGEN_BANK_CACHE_MIB", "0")
    with pytest.raises(SergenError) as exc:
        store_bank("melspec", "emodb", None)
    assert "differ from what was written (digest mismatch" in exc.value.what
    assert "sergen stores verify melspec emodb" in exc.value.fix and "--overwrite" in exc.value.fix


def test_swapped_chunk_files_are_named_by_their_recorded_sizes_and_extract_rewrites_them(store):
    """The issue's "already complete" over swapped chunks: each file keeps a valid header and checksum, so only
    the sizes recorded at completion (``chunk_bytes``) show it without reading the frames."""
    before = frames_of(store)
    recorded = zarr.open_group(str(store), mode="r")["chunk_bytes"]["frames"][:]
    files = chunk_files(store, "frames")
    assert recorded.tolist() == [f.stat().st_size for f in files] and len(set(recorded.tolist())) == len(files)
    a, b = files[1], files[2]
    first, second = a.read_bytes(), b.read_bytes()
    a.write_bytes(second)
    b.write_bytes(first)
    with pytest.raises(SergenError) as exc:
        sergen.open_store("melspec", "emodb")
    assert "frame chunk 1 (frames 4096–8192) was swapped, replaced or rewritten since the store was completed" \
        in exc.value.what
    report = verify_store(store)
    assert [p.split(" was swapped")[0] for p in report.problems] == ["frame chunk 1 (frames 4096–8192)",
                                                                     "frame chunk 2 (frames 8192–12288)"]
    again = extract("melspec", "emodb", show_progress=False)  # never "already complete" over them
    assert not again.skipped and again.repaired == len(report.affected)
    np.testing.assert_array_equal(frames_of(store), before)
    assert verify_store(store).ok


def test_the_record_of_chunk_sizes_deleted_is_damage(store):
    shutil.rmtree(store / "chunk_bytes" / "frames")
    with pytest.raises(SergenError) as exc:
        sergen.open_store("melspec", "emodb")
    assert "its record of chunk-file sizes (chunk_bytes/frames) is missing" in exc.value.what
    assert "--overwrite" in exc.value.fix


def test_changed_bytes_in_a_chunk_fail_its_checksum_not_the_decompressor(store):
    chunk = chunk_file(store, "frames", 1)
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0xFF
    chunk.write_bytes(bytes(data))
    report = verify_store(store)
    assert report.problems[0].startswith("frame chunk 1 (frames 4096–8192) fails its checksum (its bytes changed "
                                         "since sergen wrote it): ")  # read raw: never handed to the decompressor
    assert set(owners(store, slice(4096, 8192))) & report.affected


def test_a_corrupt_chunk_met_by_a_bank_build_names_the_store_in_its_fix(store, workspace, monkeypatch):
    """The fix once said `sergen stores verify MODEL CORPUS`, placeholders and all (hostile pass 5)."""
    chunk = chunk_file(store, "frames", 1)
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0xFF
    chunk.write_bytes(bytes(data))
    with pytest.raises(SergenError) as caught:
        _bank(monkeypatch, workspace)
    assert "a frame chunk file is corrupt" in caught.value.what
    assert caught.value.fix == ("repair it: `sergen stores verify melspec emodb --repair`, then `sergen extract "
                                "--model melspec --corpus emodb` rewrites exactly the utterances it holds (or rebuild "
                                "the store with `sergen extract --model melspec --corpus emodb --overwrite`)")


def test_store_copied_from_another_folder_is_refused_by_name(store, workspace):
    shutil.copytree(store, workspace / "stores" / "egemaps" / "emodb.zarr")
    with pytest.raises(SergenError) as exc:
        sergen.open_store("egemaps", "emodb")
    assert exc.value.what == ("store egemaps/emodb does not belong here: it records model 'melspec' (dim 128), "
                              "not 'egemaps': a store copied or moved into another model's folder")
    assert "sergen extract --model egemaps --corpus emodb --overwrite" in exc.value.fix
    assert "records model 'melspec'" in verify_store(workspace / "stores" / "egemaps" / "emodb.zarr").problems[0]
    shutil.copytree(store, workspace / "stores" / "melspec" / "cremad.zarr")
    with pytest.raises(SergenError, match="it records corpus 'emodb', not 'cremad'"):
        sergen.open_store("melspec", "cremad")


def test_frames_shape_edited_in_its_metadata_is_refused(store):
    meta = store / "frames" / "zarr.json"
    doc = json.loads(meta.read_text())
    doc["shape"][0] -= 500
    meta.write_text(json.dumps(doc))
    with pytest.raises(SergenError) as exc:
        sergen.open_store("melspec", "emodb")
    assert exc.value.what.startswith("store melspec/emodb is damaged: its frames array has ")
    assert "but the store records" in exc.value.what and "move it back" not in exc.value.fix
    assert any(p.startswith("the store is damaged: its frames array has ") for p in verify_store(store).problems)


@pytest.mark.parametrize("array, change", [("mean", lambda m: m * 5 + 3), ("std", lambda s: s * 10)])
def test_summaries_edited_through_zarr_are_named_never_trained_on(store, array, change):
    from sergen.experiments.data import load_corpus, utterance_std

    ids = zarr.open_group(str(store), mode="r")["utt"]["utt_id"][:].tolist()
    edited = zarr.open_array(str(store / array), mode="r+")
    edited[:3] = change(edited[:3])  # zarr rewrites the chunks' own checksums: only the digest can tell
    from sergen.store.digests import record_chunk_bytes

    record_chunk_bytes(zarr.open_group(str(store), mode="r+"))  # an edit that kept the chunk's size
    what = (f"the {array} summaries of 3 utterance(s) of store melspec/emodb differ from what was written (digest "
            f"mismatch: the array was edited): {', '.join(ids[:3])}")
    with pytest.raises(SergenError) as exc:
        utterance_std(load_corpus("melspec", "emodb", None), np.arange(10))  # the mean on load, the std where read
    assert exc.value.what == what
    assert exc.value.fix == ("repair it: `sergen stores verify melspec emodb --repair`, then `sergen extract "
                             "--model melspec --corpus emodb` rewrites exactly those utterances (or rebuild it with "
                             "`sergen extract --model melspec --corpus emodb --overwrite`)")
    assert verify_store(store).problems == ["mean/std summaries differ from what was written (digest mismatch: the "
                                            f"arrays were edited): {', '.join(ids[:3])}"]


@pytest.mark.parametrize("deleted", ["frame_crc32c", "stats_crc32c", "audio"])
def test_digests_deleted_from_a_store_are_damage_never_an_older_store(store, deleted):
    shutil.rmtree(store / deleted)
    with pytest.raises(SergenError) as exc:
        sergen.open_store("melspec", "emodb")
    what = {"frame_crc32c": "frame digests (frame_crc32c)", "stats_crc32c": "summary digests (stats_crc32c)",
            "audio": "audio digests (audio/)"}[deleted]
    assert exc.value.what == f"store melspec/emodb is damaged: its {what} are missing"
    assert "sergen extract --model melspec --corpus emodb --overwrite" in exc.value.fix
    assert verify_store(store).problems == [f"the store is damaged: its {what} are missing; rebuild it with "
                                            "`sergen extract --model melspec --corpus emodb --overwrite`"]


def test_audio_digests_of_another_length_are_damage(store):
    group = zarr.open_group(str(store), mode="r+")
    sha = group["audio/sha256"][:]
    del group["audio/sha256"]
    group["audio"].create_array("sha256", shape=(len(sha) - 1,), dtype=str, chunks=(len(sha),))[:] = sha[:-1]
    with pytest.raises(SergenError, match=f"damaged: its audio/sha256 holds {len(sha) - 1} entries for {len(sha)} "
                                          "utterances"):
        sergen.open_store("melspec", "emodb")


def test_nan_frames_stop_a_bank_build_naming_the_utterances(store, monkeypatch):
    from sergen.experiments.data import store_bank

    group = zarr.open_group(str(store), mode="r+")
    offsets, ids = group["offsets"][:], group["utt"]["utt_id"][:].tolist()
    group["frames"][offsets[7] + 1] = np.nan
    from sergen.store.digests import record_chunk_bytes

    record_chunk_bytes(group)  # as if the model had written the NaN: the recorded chunk sizes agree
    monkeypatch.setenv("SERGEN_BANK_CACHE_MIB", "0")
    with pytest.raises(SergenError) as exc:
        store_bank("melspec", "emodb", None)
    assert exc.value.what == f"1 utterance(s) ({ids[7]}) of melspec/emodb hold NaN or Inf frames"
    assert exc.value.fix.startswith("`sergen stores verify melspec emodb` lists every problem")


# -- bank caches -------------------------------------------------------------------------------------------

def _bank(monkeypatch, workspace):
    from sergen.experiments import data

    monkeypatch.setenv("SERGEN_BANK_CACHE_MIB", "0")
    monkeypatch.setenv("SERGEN_CACHE", str(workspace / "banks"))
    data._store_bank.cache_clear()  # a new process, as a later probe would be
    bank = data.store_bank("melspec", "emodb", None)
    return bank, next((workspace / "banks").glob("*.prefix.npy"))


@pytest.mark.parametrize("damage", ["zeroed", "cut", "emptied", "meta"])
def test_damaged_bank_file_is_rebuilt_with_one_line_never_used(store, workspace, monkeypatch, capfd, damage):
    bank, prefix = _bank(monkeypatch, workspace)
    good, lengths = np.array(bank.prefix), np.array(bank.length)
    del bank
    size = prefix.stat().st_size
    if damage == "meta":  # the lengths that say which rows an utterance owns, halved (N50)
        meta = prefix.with_name(prefix.name.replace(".prefix.npy", ".meta.npz"))
        arrays = dict(np.load(meta))
        arrays["length"] = arrays["length"] // 2
        with open(meta, "wb") as fh:
            np.savez(fh, **arrays)
    else:
        with open(prefix, "r+b") as fh:  # the two damages: second half zeroed in place, or cut to half
            if damage == "zeroed":
                fh.seek(size // 2)
                fh.write(bytes(size - size // 2))
            else:  # cut to half, or emptied (numpy's EOFError once stopped every run with a bare "Aborted!")
                fh.truncate(size // 2 if damage == "cut" else 0)
    capfd.readouterr()
    again, _ = _bank(monkeypatch, workspace)
    np.testing.assert_array_equal(np.asarray(again.prefix), good)  # rebuilt: the numbers of the sound bank
    np.testing.assert_array_equal(np.asarray(again.length), lengths)
    err = capfd.readouterr().err
    why = {"zeroed": "its prefix file's contents changed since it was built (digest mismatch)",
           "cut": f"its prefix file has {size // 2} bytes, {size} were written",
           "emptied": f"its prefix file has 0 bytes, {size} were written",
           "meta": "its meta file's contents changed since it was built (digest mismatch)"}[damage]
    assert err.count("is damaged") == 1 and f"is damaged ({why}" in err and "rebuilding it" in err
    capfd.readouterr()
    _bank(monkeypatch, workspace)
    assert "damaged" not in capfd.readouterr().err  # a sound bank is used as is


def test_a_folder_where_a_bank_file_belongs_is_named_and_left_alone(store, workspace, monkeypatch):
    bank, prefix = _bank(monkeypatch, workspace)
    del bank
    prefix.unlink()
    prefix.mkdir()
    (prefix / "mine.txt").write_text("not sergen's")
    with pytest.raises(SergenError) as caught:
        _bank(monkeypatch, workspace)
    assert caught.value.what == (f"the store-bank cache holds {prefix}, which is not a file sergen wrote (a folder "
                                 "or a broken link where a bank file belongs)")
    assert (prefix / "mine.txt").read_text() == "not sergen's"


def test_bank_touched_but_unchanged_is_hashed_and_used(store, workspace, monkeypatch, capfd):
    import os

    bank, prefix = _bank(monkeypatch, workspace)
    del bank
    os.utime(prefix, ns=(1, 1))  # the stat changed, the contents did not: hashed, found sound, used
    capfd.readouterr()
    _bank(monkeypatch, workspace)
    assert "damaged" not in capfd.readouterr().err


# -- audio content -----------------------------------------------------------------------------------------

@pytest.fixture
def own_emodb(demo_root, workspace):
    """A private copy of the demo EmoDB (its audio is edited here) with its manifest."""
    root = workspace / "emodb_audio"
    shutil.copytree(demo_root / "emodb", root)
    write_manifest(read_corpus("emodb", root))
    return root


def _rescale_in_place(path, factor: float) -> None:
    import soundfile as sf

    wav, sr = sf.read(path, dtype="float32")
    info = sf.info(path)
    sf.write(path, np.clip(wav * factor, -1, 1), sr, subtype=info.subtype, format=info.format)


def test_audio_edited_at_the_same_length_makes_clean_and_view_stores_stale(own_emodb):
    import os

    from sergen.corpora import load_manifest

    extract("melspec", "emodb", show_progress=False)
    extract("melspec", "emodb", view="pink-noise", show_progress=False)
    clean, view = store_path("melspec", "emodb", data_dir("stores")), store_path("melspec", "emodb@pink-noise", data_dir("stores"))
    sha = zarr.open_group(str(clean))["audio/sha256"][:].tolist()
    assert sha == zarr.open_group(str(view))["audio/sha256"][:].tolist() and all(len(s) == 64 for s in sha)
    manifest = load_manifest("emodb")[0]
    first = own_emodb / manifest.path[0]
    os.utime(first, ns=(1, 1))  # touched, same bytes: not stale
    assert sergen.open_store("melspec", "emodb").sizes["utt"] == 190
    size = first.stat().st_size
    _rescale_in_place(first, 0.5)
    assert first.stat().st_size == size  # the same length, other audio
    with pytest.raises(SergenError) as exc:
        sergen.open_store("melspec", "emodb")
    assert exc.value.what == (f"store melspec/emodb is stale: the audio of 1 utterance(s) changed since extraction "
                              f"(e.g. {manifest.utt_id[0]!r}: {manifest.path[0]} was rewritten with other audio of the same size)")
    assert exc.value.fix.endswith("`sergen extract --model melspec --corpus emodb --overwrite`")
    with pytest.raises(SergenError, match="this store was made from the old audio"):
        extract("melspec", "emodb", show_progress=False)  # never "already complete" over it
    extract("melspec", "emodb", overwrite=True, show_progress=False)
    assert sergen.open_store("melspec", "emodb").sizes["utt"] == 190
    with pytest.raises(SergenError, match="view store melspec/emodb@pink-noise is stale|store melspec/emodb@pink-noise is stale"):
        sergen.open_store("melspec", "emodb@pink-noise")
    with pytest.raises(SergenError, match="this store was made from the old audio"):
        extract("melspec", "emodb", view="pink-noise", show_progress=False)
    stale = verify_store(store_path("melspec", "emodb@pink-noise", data_dir("stores")))
    assert len(stale.problems) == 1 and "store melspec/emodb@pink-noise is stale: the audio of 1 utterance(s)" \
        in stale.problems[0] and stale.problems[0].endswith("--view pink-noise --overwrite`")
    assert verify_store(store_path("melspec", "emodb", data_dir("stores"))).problems == []


def test_view_store_made_from_other_audio_than_its_clean_store_is_refused(own_emodb):
    from sergen.corpora import load_manifest

    extract("melspec", "emodb", view="pink-noise", show_progress=False)
    first = own_emodb / load_manifest("emodb")[0].path[0]
    saved = first.read_bytes()
    _rescale_in_place(first, 0.5)
    extract("melspec", "emodb", show_progress=False)  # the clean store made from the edited file
    first.write_bytes(saved)  # the file put back: the view's own check passes, the two stores disagree
    with pytest.raises(SergenError) as exc:
        sergen.open_store("melspec", "emodb@pink-noise")
    assert "was made from other audio than the melspec/emodb store (1 utterance(s) differ" in exc.value.what


def test_every_fix_for_a_view_store_names_the_view_flag_never_corpus_at_view(own_emodb):
    """``extract --corpus emodb@pink-noise`` is refused by extract itself: a fix must say ``--view``."""
    with pytest.raises(SergenError) as missing:
        sergen.open_store("melspec", "emodb@pink-noise")
    extract("melspec", "emodb", view="pink-noise", show_progress=False)
    view = store_path("melspec", "emodb@pink-noise", data_dir("stores"))
    chunk = chunk_file(view, "frames")
    chunk.write_bytes(chunk.read_bytes()[: chunk.stat().st_size // 2])
    with pytest.raises(SergenError) as cut:
        sergen.open_store("melspec", "emodb@pink-noise")
    (view / "frame_crc32c").rename(view.parent / "moved-away")  # a whole array lost: rebuild
    with pytest.raises(SergenError) as lost:
        sergen.open_store("melspec", "emodb@pink-noise")
    told = [problem for problem in verify_store(view).problems if "sergen extract" in problem]
    assert told, "verify names the rebuild"
    fixes = [missing.value.fix, cut.value.fix, lost.value.fix] + told
    for fix in fixes:
        assert "--corpus emodb --view pink-noise" in fix and "--corpus emodb@" not in fix, fix
    assert fixes[0].startswith("run `sergen extract --model melspec --corpus emodb --view pink-noise` ")
    assert "`sergen extract --model melspec --corpus emodb --view pink-noise --overwrite`" in lost.value.fix


# -- where stores sit ----------------------------------------------------------------------------------------

def test_overwrite_of_a_symlinked_store_removes_the_link_never_the_target(store, workspace):
    import pandas as pd

    from sergen.store.writer import create_store

    elsewhere = workspace / "elsewhere.zarr"
    shutil.move(store, elsewhere)
    store.symlink_to(elsewhere)
    before = sorted(p.relative_to(elsewhere) for p in elsewhere.rglob("*"))
    plan = pd.DataFrame({"utt_id": ["u0"], "label": "hap", "split": "train", "duration_s": 1.0, "n_frames": [3]})
    create_store(store, plan, {"model": "melspec", "corpus": "emodb"}, 4)  # what extract --overwrite does
    assert not store.is_symlink() and store.is_dir()
    assert sorted(p.relative_to(elsewhere) for p in elsewhere.rglob("*")) == before  # the target untouched
    assert (elsewhere / "zarr.json").exists()


def test_model_folder_or_store_path_that_is_a_file_is_refused_by_name(workspace):
    (workspace / "stores").mkdir()
    (workspace / "stores" / "melspec").write_text("not a folder")
    with pytest.raises(SergenError) as exc:
        sergen.open_store("melspec", "emodb")
    assert exc.value.what == "the model's folder in the stores folder is a file, not a folder"
    (workspace / "stores" / "melspec").unlink()
    (workspace / "stores" / "melspec").mkdir()
    (workspace / "stores" / "melspec" / "emodb.zarr").write_text("a file")
    with pytest.raises(SergenError) as exc:
        sergen.open_store("melspec", "emodb")
    assert exc.value.what == "the store's path is a file, not a store"
    from sergen.store.reader import existing_stores

    assert existing_stores(data_dir("stores")) == []  # a file named like a store is not listed as one


# -- notebooks -----------------------------------------------------------------------------------------------

def test_open_store_gives_the_manifests_labels_after_a_relabel_and_warns(store):
    import pandas as pd

    from sergen.corpora.manifest import manifest_path

    file = manifest_path("emodb")
    manifest = pd.read_csv(file, dtype=str, keep_default_na=False)
    sad = manifest.label == "sad"
    manifest.loc[sad, "label"] = "neu"  # the relabel: no `sad` left
    manifest.to_csv(file, index=False)
    with pytest.warns(UserWarning, match=f"{int(sad.sum())} utterance\\(s\\) of emodb were relabelled"):
        ds = sergen.open_store("melspec", "emodb")
    assert "sad" not in set(ds.label.values) and (ds.label.values == manifest.label.values).all()
    from sergen.store.reader import select

    assert select(ds, label="sad").sizes["utt"] == 0
    kept = sergen.open_store("melspec", "emodb", store_labels=True)
    assert (kept.label.values == "sad").sum() == sad.sum()


def test_store_made_with_allow_failures_is_usable_failed_utterances_left_out_and_counted(own_emodb):
    from typer.testing import CliRunner

    from sergen.cli import app
    from sergen.corpora import load_manifest

    manifest = load_manifest("emodb")[0]
    used = manifest[manifest.label.isin(["ang", "hap", "neu", "sad"])].path.tolist()[:2]
    for path in used:  # cut short: their decode fails, the rest is extracted
        (own_emodb / path).write_bytes((own_emodb / path).read_bytes()[:2000])
    report = extract("melspec", "emodb", allow_failures=True, show_progress=False)
    assert report.complete and len(report.failures) == 2
    run = CliRunner().invoke(app, ["probe", "--model", "melspec", "--train", "emodb", "--test", "emodb",
                                   "--set", "training.max_steps=20"])
    assert run.exit_code == 0, run.output
    text = " ".join(run.output.split())
    assert text.count("melspec/emodb: 2 utterance(s) this run would use failed extraction (the store was made with "
                      "--allow-failures, 2 failed in all): left out") == 1
    assert "manifest gained them" not in text

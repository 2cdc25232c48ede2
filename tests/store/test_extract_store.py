"""The store contract: round trips, laziness, resumability after kill -9, one writer, verify, manifest changes."""

import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import zarr

import sergen
from sergen.audio import load_audio
from sergen.corpora import load_manifest, read_corpus, write_manifest
from sergen.errors import SergenError
from sergen.extract import extract, plan_frames
from sergen.extractors import get_extractor
from sergen.store.layout import FAILED, PADDED, WRITTEN, store_path
from sergen.store.lock import StoreLock
from sergen.store.reader import select, utterance_frames
from sergen.store.verify import verify_store
from tests.conftest import write_wav
from sergen.config import data_dir
from tests.chunk_files import chunk_file, chunk_files


@pytest.fixture
def emodb_copy(demo_root, tmp_path):
    """A private copy of the demo EmoDB with its manifest in the test's workspace."""
    root = tmp_path / "emodb"
    shutil.copytree(demo_root / "emodb", root)
    write_manifest(read_corpus("emodb", root))
    return root


def test_round_trip_and_metadata(emodb_copy):
    report = extract("melspec", "emodb")
    assert report.complete and report.written == 190 and not report.failures  # 160 of the four, 30 outside
    ds = sergen.open_store("melspec", "emodb")
    manifest, _ = load_manifest("emodb")
    assert list(ds.utt_id.values) == list(manifest.utt_id)
    assert list(ds.label.values) == list(manifest.label) and list(ds.split.values) == list(manifest.split)
    ex = get_extractor("melspec")
    for i in (0, 57, 159):
        direct = ex.embed_one(load_audio(emodb_copy / manifest.path[i], 16000))
        stored = utterance_frames(ds, manifest.utt_id[i])
        np.testing.assert_allclose(stored, direct, rtol=2e-3, atol=2e-3)  # float16 precision
        np.testing.assert_allclose(ds["mean"].values[i], direct.mean(0), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(ds["std"].values[i], direct.std(0), rtol=1e-5, atol=1e-5)
    assert int(ds.n_frames.sum()) == ds.sizes["frame"]
    assert ds.attrs["synthetic"] is True and ds.attrs["dim"] == 128 and ds.attrs["frame_rate"] == 100.0
    assert select(ds, split="test").sizes["utt"] == (manifest.split == "test").sum()
    assert set(select(ds, label=["ang", "sad"]).label.values) == {"ang", "sad"}
    second = extract("melspec", "emodb")
    assert second.skipped and second.complete


def test_open_is_lazy(emodb_copy):
    extract("melspec", "emodb")
    path = store_path("melspec", "emodb", data_dir("stores"))
    for chunk in chunk_files(path, "frames"):
        chunk.unlink()  # no frame data left: opening must still work when asked, not read zeros by default
    with pytest.raises(SergenError, match="lost chunk files.*190 utterance"):
        sergen.open_store("melspec", "emodb")
    ds = sergen.open_store("melspec", "emodb", check_chunks=False)
    assert ds["frames"].shape[1] == 128 and ds.sizes["utt"] == 190
    report = verify_store(path)
    assert not report.ok and len(report.affected) == 190


def test_verify_names_utterances_of_a_deleted_chunk(emodb_copy):
    extract("melspec", "emodb")
    path = store_path("melspec", "emodb", data_dir("stores"))
    assert verify_store(path).ok
    chunk_file(path, "frames", 1).unlink()
    report = verify_store(path)
    offsets = zarr.open_group(str(path))["offsets"][:]
    rows = 4096  # 1 MiB chunks of 128-d float16
    first = np.searchsorted(offsets, rows, side="right") - 1
    last = np.searchsorted(offsets, 2 * rows, side="left")
    ids = zarr.open_group(str(path))["utt"]["utt_id"][:].tolist()
    assert report.affected == set(ids[first:last])
    assert report.problems[0].startswith("frame chunk 1 (frames 4096–8192) is missing")


def test_changed_manifest_is_explained(emodb_copy):
    extract("melspec", "emodb", window_utts=8)
    manifest, meta = load_manifest("emodb")
    manifest.loc[0, "label"] = "sad" if manifest.loc[0, "label"] != "sad" else "hap"
    manifest = manifest.drop(index=[1, 2])
    manifest.to_csv(emodb_copy.parent / "manifests/emodb.csv", index=False)
    with pytest.raises(SergenError) as exc:
        extract("melspec", "emodb")
    assert ("manifest changed since this store was made: 0 utterance(s) added, 2 removed (1 relabelled too: labels are "
            "applied at probe time, and alone need no extraction)") in exc.value.message
    assert "--overwrite" in exc.value.message
    assert extract("melspec", "emodb", overwrite=True).written == 188


def test_relabelling_a_manifest_needs_no_new_extraction(emodb_copy):
    """Labels and splits are joined at probe time: extraction depends only on which utterances and which
    audio, so a relabelled or resplit manifest finds the store complete (an audio change still refuses)."""
    extract("melspec", "emodb", window_utts=8)
    manifest, _ = load_manifest("emodb")
    manifest.loc[0, "label"] = "sad" if manifest.loc[0, "label"] != "sad" else "hap"
    manifest.loc[1, "split"] = "test" if manifest.loc[1, "split"] != "test" else "train"
    manifest.to_csv(emodb_copy.parent / "manifests/emodb.csv", index=False)
    report = extract("melspec", "emodb")
    assert report.skipped and report.written == 0
    manifest.loc[2, "num_samples"] = int(manifest.loc[2, "num_samples"]) + 1
    manifest.to_csv(emodb_copy.parent / "manifests/emodb.csv", index=False)
    with pytest.raises(SergenError, match="manifest changed since this store was made"):
        extract("melspec", "emodb")


def test_second_writer_is_refused(emodb_copy):
    with StoreLock(store_path("melspec", "emodb", data_dir("stores"))):
        with pytest.raises(SergenError, match=r"another sergen process \(pid \d+\) is writing this store"):
            extract("melspec", "emodb")


def test_failures_are_listed_and_block_completion(emodb_copy):
    manifest, _ = load_manifest("emodb")
    victim = emodb_copy / manifest.path[3]
    victim.write_bytes(victim.read_bytes()[:44] + b"\x00" * 10)  # header intact, audio truncated
    report = extract("melspec", "emodb")
    assert not report.complete and list(report.failures) == [manifest.utt_id[3]]
    # the audio it reports embedded (and its real-time factor) leaves the failed utterance out (hostile pass 36)
    embedded = plan_frames(manifest.drop(index=3), get_extractor("melspec"))["n_view"].sum() / 16000
    assert report.audio_s == pytest.approx(embedded, abs=1e-9) and report.written == 189
    assert "audio file cut short: its header declares 31,592 samples, the file holds 5 (truncated" \
        in report.failures[manifest.utt_id[3]]  # was "decoded length 5 differs from the header's 31592"
    with pytest.raises(SergenError, match="is incomplete"):
        sergen.open_store("melspec", "emodb")
    ds = sergen.open_store("melspec", "emodb", allow_incomplete=True, include_failed=True)
    assert int(ds.status.values[3]) == FAILED
    # allowed failures: complete, failed utterance hidden from readers, reason kept
    report = extract("melspec", "emodb", allow_failures=True)
    assert report.complete
    ds = sergen.open_store("melspec", "emodb")
    assert ds.sizes["utt"] == 189 and manifest.utt_id[3] not in set(ds.utt_id.values)


def test_short_audio_is_padded_and_recorded(tmp_path):
    write_wav(tmp_path / "c/wav/03a01Fa.wav", seconds=0.01)
    write_wav(tmp_path / "c/wav/03a02Fa.wav", seconds=0.5)
    write_manifest(read_corpus("emodb", tmp_path / "c"))
    report = extract("egemaps", "emodb")
    assert report.padded == 1
    ds = sergen.open_store("egemaps", "emodb")
    assert list(ds.status.values) == [PADDED, WRITTEN]
    assert list(ds.n_frames.values) == [2, (8000 - 960) // 160 + 2]


def _run_extract(env):
    code = "from sergen.extract import extract; extract('egemaps', 'emodb', window_utts=3, show_progress=False)"
    return subprocess.Popen([sys.executable, "-c", code], env=env)


def _written(path) -> int:
    """Utterances a store marks written so far (read while another process writes it), -1 before it exists."""
    try:
        return int((zarr.open_group(str(path), mode="r")["status"][:] == WRITTEN).sum())
    except Exception:  # noqa: BLE001 - not there yet, or its metadata being written
        return -1


def test_kill9_then_rerun_equals_uninterrupted(emodb_copy, tmp_path):
    env = dict(os.environ)
    clean = extract("egemaps", "emodb", stores_root=tmp_path / "clean")
    assert clean.complete
    path = store_path("egemaps", "emodb", data_dir("stores"))
    rng = np.random.default_rng(0)
    interrupted = 0
    for delay in rng.uniform(0.0, 0.2, 3):
        before = _written(path)
        proc = _run_extract(env)
        while proc.poll() is None and _written(path) <= before:  # kill once this run has written something
            time.sleep(0.02)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # a kill while the store was being created can leave its group without sergen's attributes yet
        attrs = zarr.open_group(str(path)).attrs.get("sergen", {}) if (path / "zarr.json").exists() else {}
        interrupted += not attrs.get("complete", False)
    assert interrupted >= 1  # at least one kill landed mid-extraction
    final = extract("egemaps", "emodb")
    assert final.complete
    a, b = zarr.open_group(str(path)), zarr.open_group(str(store_path("egemaps", "emodb", tmp_path / "clean")))
    for name in ("frames", "offsets", "mean", "std", "status"):
        np.testing.assert_array_equal(a[name][:], b[name][:], err_msg=name)
    assert verify_store(path).ok


def test_full_disk_is_explained_and_a_rerun_completes(emodb_copy, tmp_path, monkeypatch):
    import errno

    from sergen.store.writer import StoreWriter

    clean = extract("melspec", "emodb", stores_root=tmp_path / "clean")
    real = StoreWriter.write_frames
    calls = {"n": 0, "utts": 0}

    def filling_disk(self, first, prepared, codes):
        calls["n"] += 1
        if calls["n"] > 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        calls["utts"] += len(prepared.mean)
        return real(self, first, prepared, codes)

    monkeypatch.setattr(StoreWriter, "write_frames", filling_disk)
    with pytest.raises(SergenError) as exc:
        extract("melspec", "emodb", window_utts=20)
    kept = calls["utts"]
    from sergen.extract import _windows

    first_two = sum(int(b - a) for a, b in _windows(np.arange(190), 20)[:2])  # 16 + 20: the ramp's first window
    assert kept == first_two  # two windows written, marked when the third failed
    assert "disk full while writing the melspec store (No space left on device)" in exc.value.message
    assert f"the {kept} utterances already written are kept" in exc.value.message
    monkeypatch.setattr(StoreWriter, "write_frames", real)
    final = extract("melspec", "emodb", window_utts=20)
    assert final.complete and final.done_before == kept and final.written == 190 - kept
    a = zarr.open_group(str(store_path("melspec", "emodb", data_dir("stores"))))
    b = zarr.open_group(str(clean.path))
    np.testing.assert_array_equal(a["frames"][:], b["frames"][:])


def test_nan_in_a_store_is_found_and_named(emodb_copy):
    extract("melspec", "emodb")
    path = store_path("melspec", "emodb", data_dir("stores"))
    group = zarr.open_group(str(path), mode="r+")
    offsets = group["offsets"][:]
    group["frames"][offsets[5] + 2] = np.nan
    from sergen.store.digests import record_chunk_bytes

    record_chunk_bytes(group)  # as if the model had written the NaN: the chunk sizes recorded agree
    report = verify_store(path)
    ids = group["utt"]["utt_id"][:].tolist()
    assert report.affected == {ids[5]} and report.problems[0].startswith("NaN or Inf frames in frames 0–")


def test_stereo_and_other_rates_are_mixed_down_and_resampled(tmp_path):
    write_wav(tmp_path / "c/wav/03a01Fa.wav", seconds=0.5, sr=44100, channels=2, freq=500)
    write_wav(tmp_path / "c/wav/03a02Fa.wav", seconds=0.5, sr=16000, channels=1, freq=500)
    write_manifest(read_corpus("emodb", tmp_path / "c"))
    assert extract("melspec", "emodb").complete
    ds = sergen.open_store("melspec", "emodb")
    assert list(ds.n_frames.values) == [51, 51]  # both 0.5 s at 16 kHz → 1 + 8000 // 160
    a, b = utterance_frames(ds, 0), utterance_frames(ds, 1)
    # the same tone, whatever its container: same peak band, same peak level
    assert (a[5:-5].argmax(1) == b[5:-5].argmax(1)).all()
    np.testing.assert_allclose(a[5:-5].max(1), b[5:-5].max(1), atol=0.05)


def test_truncated_chunk_is_found_and_named(emodb_copy):
    extract("melspec", "emodb")
    path = store_path("melspec", "emodb", data_dir("stores"))
    chunk = chunk_file(path, "frames", 2)
    chunk.write_bytes(chunk.read_bytes()[:100])  # a torn file, as a crash of another tool might leave
    report = verify_store(path)
    assert report.problems[0].startswith("frame chunk 2 (frames 8192–") and "is cut short" in report.problems[0]
    offsets = zarr.open_group(str(path))["offsets"][:]
    ids = zarr.open_group(str(path))["utt"]["utt_id"][:].tolist()
    first = np.searchsorted(offsets, 2 * 4096, side="right") - 1
    assert ids[first] in report.affected


def _tiny_store(path, n_frames: list[int], dim: int = 4):
    import pandas as pd

    from sergen.store.writer import StoreWriter, create_store

    n = len(n_frames)
    plan = pd.DataFrame({"utt_id": [f"u{i}" for i in range(n)], "label": "hap", "split": "train",
                         "duration_s": 1.0, "n_frames": n_frames})
    group = create_store(path, plan, {"model": "m", "corpus": "c"}, dim)
    frames = [np.full((k, dim), 0.5, np.float32) for k in n_frames]  # constant frames: std is all zeros
    StoreWriter(group).write_window(0, frames, [WRITTEN] * n)
    return group


def test_every_chunk_is_stored_so_an_absent_one_is_a_loss(tmp_path):
    from sergen.store.verify import chunk_damage, stored_keys

    group = _tiny_store(tmp_path / "s.zarr", [1, 2, 3])
    keys = stored_keys(group)
    assert {"frames/c.0.0", "mean/c.0.0", "std/c.0.0", "status/c.0", "offsets/c.0"} <= keys  # std chunk all zeros, kept
    assert not chunk_damage(group)
    chunk_file(tmp_path / "s.zarr", "std").unlink()
    damage = chunk_damage(group)
    assert list(damage.utts) == [1, 2]  # the one-frame utterance's std is 0 whether or not the chunk is there
    assert damage.problems == ["std chunk 0 (utterances 0–3) is missing"]


def test_absent_chunks_of_failed_or_one_frame_utterances_are_not_losses(tmp_path):
    from sergen.store.verify import chunk_damage

    group = _tiny_store(tmp_path / "s.zarr", [1, 1])
    chunk_file(tmp_path / "s.zarr", "std").unlink()  # as an older writer that skipped all-zero chunks left it
    assert not chunk_damage(group)
    group["status"][:] = np.array([FAILED, FAILED], np.uint8)
    chunk_file(tmp_path / "s.zarr", "frames").unlink()
    assert not chunk_damage(group)
    chunk_file(tmp_path / "s.zarr", "offsets").unlink()
    assert chunk_damage(group).structural == ["offsets"]


def test_removal_killed_halfway_never_leaves_a_complete_looking_store(emodb_copy, monkeypatch):
    """`extract --overwrite` removes the old store before laying out the new one. Killed in the middle of
    that removal (after a few arrays went), the store must not still say "complete" over missing arrays:
    the root metadata goes first, so what is left reads as no store and the next extract rebuilds it."""
    from sergen.store import location
    from sergen.store.reader import store_attrs

    extract("melspec", "emodb", show_progress=False)
    path = store_path("melspec", "emodb", data_dir("stores"))
    assert store_attrs(path).get("complete")

    def killed(tree, *args, **kwargs):  # the removal dies after the root metadata, with the arrays still there
        raise KeyboardInterrupt

    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(shutil, "rmtree", killed)
        location.remove(path)
    assert (path / "frames").is_dir() and not (path / "zarr.json").exists()
    assert store_attrs(path) == {}  # not "complete": no store at all
    report = extract("melspec", "emodb", show_progress=False)
    assert report.complete and not report.skipped and report.written == report.n_utts
    assert verify_store(path).ok


def test_a_failed_file_fixed_is_redone_by_a_rerun_never_called_changed_audio(emodb_copy, tmp_path):
    """The failure message says "fix the files and rerun (only they are redone)": the fixed file's new bytes
    are what it asked for, not audio that changed under the store's frames (hostile pass 5)."""
    manifest, _ = load_manifest("emodb")
    victim = emodb_copy / manifest.path[3]
    good = victim.read_bytes()
    victim.write_bytes(good[:30])
    assert list(extract("melspec", "emodb").failures) == [manifest.utt_id[3]]
    victim.write_bytes(good)
    report = extract("melspec", "emodb")
    assert report.complete and not report.failures and report.done_before == 189
    reference = extract("melspec", "emodb", stores_root=tmp_path / "reference")
    fixed, ref = sergen.open_store("melspec", "emodb"), sergen.open_store("melspec", "emodb", root=tmp_path / "reference")
    np.testing.assert_array_equal(fixed.frames.values, ref.frames.values)
    np.testing.assert_array_equal(fixed.n_frames.values, ref.n_frames.values)
    assert reference.complete


def test_a_manifest_cut_at_a_rows_end_is_noted_and_followed(emodb_copy):
    # hostile pass 36: two rows gone from a sergen-written manifest (a copy cut at a row's end) were extracted
    # without a word, though the sidecar records how many rows `sergen manifest` wrote
    from sergen.corpora.manifest import manifest_path

    path = manifest_path("emodb")
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-2]))
    report = extract("melspec", "emodb")
    assert report.complete and report.written == 188
    assert report.notes == ["the emodb manifest holds 188 rows, but `sergen manifest` wrote 190: rows were removed "
                            "since (a copy cut at a row's end, or an edit); this run follows the manifest as it is. "
                            "To list the corpus again: `sergen manifest emodb --root DIR`"]
    path.write_text("".join(lines))  # whole again: no note
    assert extract("melspec", "emodb", overwrite=True).notes == []

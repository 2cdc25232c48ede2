"""Store banks above the size threshold live in memory-mapped files: one per store (not per training set),
identical to the in-RAM bank, built once and mapped by later processes without reading the store, rebuilt
after an interrupted build, replaced when the store changes."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sergen.experiments import data
from sergen.experiments.probe import probe_run, resolve_spec, run_probe
from sergen.train.framebank import BANK_STEP, build_framebank
from sergen.train.loop import TrainConfig
from sergen.train.sampler import SamplerConfig, WindowSampler
from sergen.config import data_dir
from tests.chunk_files import chunk_files


def fresh_process():
    data._training_bank.cache_clear()
    data._store_bank.cache_clear()
    data._load_corpus.cache_clear()


@pytest.fixture
def cached(in_demo_workspace, tmp_path, monkeypatch):
    """Every bank goes through the file cache (threshold 0), in this test's own cache folder."""
    monkeypatch.setenv("SERGEN_BANK_CACHE_MIB", "0")
    monkeypatch.setenv("SERGEN_CACHE", str(tmp_path / "banks"))
    fresh_process()
    yield tmp_path / "banks"
    fresh_process()


def store_frames(model, corpus):
    """A store's frames, read directly (the reference a bank must equal)."""
    import zarr

    from sergen.store.layout import store_path

    return zarr.open_array(str(store_path(model, corpus, data_dir("stores"))) + "/frames", mode="r")[:]


def test_one_bank_per_store_shared_by_training_sets(cached):
    both = data.training_bank("melspec", ("emodb", "ravdess"), None)
    alone = data.training_bank("melspec", ("emodb",), None)
    metas = sorted(p.name.split(".")[0] for p in cached.glob("*.meta.npz"))
    assert metas == ["melspec-emodb-layerlast", "melspec-ravdess-layerlast"]  # no training-set bank
    assert alone.banks[0] is both.banks[0]  # the same mapped store bank, not a copy
    bank = both.banks[0]
    assert isinstance(bank.prefix, np.memmap) and not bank.prefix.flags.writeable
    frames = store_frames("melspec", "emodb")
    start = data.store_index("melspec", "emodb", None).start
    # the size of the float16 frames it holds: one float32 row per two frames, plus half a row per
    # odd-length utterance (its last row holds one frame) and the shared zero row
    odd = int((bank.length % 2).sum())
    assert bank.prefix.nbytes == frames.nbytes + (odd + 2) * 2 * frames.shape[1]
    # the bank covers every utterance of the store, whatever its split; the run picks the train rows
    corpus = data.load_corpus("melspec", "emodb", None)
    assert len(bank.length) == len(corpus.split) and set(corpus.split) == {"train", "valid", "test"}
    # label >= 0: the four classes (the store also holds classes outside them, for --labels native)
    four_train = (corpus.split == "train") & (corpus.label >= 0)
    assert (corpus.split[alone.utt] == "train").all() and len(alone.utt) == four_train.sum()
    # exact prefix rows: P[k] = sum of the first min(2k, T) frames, in float64 then rounded to float32
    for u in (0, 7, len(bank.length) - 1):
        s, n = start[u], bank.length[u]
        for k in range(1, (n + BANK_STEP - 1) // BANK_STEP + 1):
            want = frames[s:s + min(k * BANK_STEP, n)].astype(np.float64).sum(0).astype(np.float32)
            np.testing.assert_array_equal(bank.prefix[bank.base[u] + k], want)
    from typer.testing import CliRunner

    from sergen.cli import app

    listing = CliRunner().invoke(app, ["stores", "ls"]).output
    # folded at the console's width (80 when piped); the words are the same
    assert f"store-bank cache: 2 bank(s), 0.0 GiB in {cached} (safe to delete)" in " ".join(listing.split())


def test_a_second_process_maps_the_bank_without_reading_the_store(cached, tmp_path):
    data.training_bank("melspec", ("emodb",), None)
    from sergen.store.layout import store_path

    chunks = chunk_files(store_path("melspec", "emodb", data_dir("stores")), "frames")
    saved = {p: p.read_bytes() for p in chunks}
    for p in chunks:  # garbage after every frame chunk's header: a read would fail its checksum; only the bank
        p.write_bytes(saved[p][:16] + b"\0" * (len(saved[p]) - 16))  # holds the frames (a cut header is refused)
    try:
        script = ("from sergen.experiments import data; import numpy as np; "
                  "b = data.training_bank('melspec', ('emodb',), None); "
                  "print(type(b.banks[0].prefix).__name__, float(b.window_mean(np.array([0]), np.array([0]), "
                  "np.array([6]))[0, 0]))")
        run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        out = run.stdout
    finally:
        for p, content in saved.items():
            p.write_bytes(content)
    frames = store_frames("melspec", "emodb")
    bank = data.training_bank("melspec", ("emodb",), None)
    s = data.store_index("melspec", "emodb", None).start[bank.utt[0]]
    kind, value = out.split()
    assert kind == "memmap" and float(value) == pytest.approx(frames[s:s + 6, 0].astype(np.float64).mean(), abs=1e-5)


def test_several_banks_draw_exactly_what_one_concatenated_bank_drew(cached):
    """A training set over two store banks against the old design's single concatenated bank: the same
    entries in the same order, so the same seed gives the same class/corpus draws and windows."""
    multi = data.training_bank("melspec", ("emodb", "ravdess"), None)
    parts = []
    for b, store in enumerate(multi.banks):
        frames = store_frames("melspec", ("emodb", "ravdess")[b])
        start = data.store_index("melspec", ("emodb", "ravdess")[b], None).start
        utts = multi.utt[multi.bank_index == b]
        parts += [frames[start[u]:start[u] + store.length[u]] for u in utts]
    concatenated = build_framebank(parts, multi.label, multi.corpus, multi.utt_key, multi.is_clean)
    np.testing.assert_allclose(concatenated.feature_mean, multi.feature_mean, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(concatenated.feature_std, multi.feature_std, rtol=1e-3, atol=1e-4)
    cfg = SamplerConfig(noise_std=0.0)
    a, b = WindowSampler(multi, 100.0, cfg, seed=4), WindowSampler(concatenated, 100.0, cfg, seed=4)
    for _ in range(5):
        classes = a.draw_classes(5000)
        np.testing.assert_array_equal(classes, b.draw_classes(5000))
        drawn = a.draw_utterances(classes)
        np.testing.assert_array_equal(drawn, b.draw_utterances(classes))
        k0, k1 = a.draw_windows(drawn)
        np.testing.assert_array_equal(k1, b.draw_windows(drawn)[1])
        start, stop = multi.frames_before(drawn, k0), multi.frames_before(drawn, k1)
        np.testing.assert_allclose(multi.window_mean(drawn, start, stop),
                                   concatenated.window_mean(drawn, start, stop), rtol=1e-5, atol=1e-5)
    assert abs(np.mean(multi.corpus[drawn] == 1) - 0.5) < 0.03  # corpus first: both corpora equally
    # window means against direct means of the store's float16 frames
    direct = np.stack([parts[e][s:t].astype(np.float64).mean(0) for e, s, t in zip(drawn[:300], start, stop)])
    np.testing.assert_allclose(multi.window_mean(drawn[:300], start[:300], stop[:300]), direct,
                               rtol=1e-5, atol=1e-5 * np.abs(direct).max())
    xa, ya = a.sample(256)
    xb, yb = b.sample(256)
    np.testing.assert_array_equal(ya, yb)
    np.testing.assert_allclose(xa, xb, rtol=1e-5, atol=1e-5)


def test_probe_results_do_not_depend_on_where_the_bank_lives(cached, monkeypatch):
    spec = resolve_spec("melspec", "emodb", "emodb", head="mlp", training=TrainConfig(max_steps=300))
    mapped = run_probe(spec)
    monkeypatch.setenv("SERGEN_BANK_CACHE_MIB", "100000")
    fresh_process()
    in_ram = run_probe(spec)
    pd.testing.assert_frame_equal(mapped.drop(columns="seconds"), in_ram.drop(columns="seconds"))


def test_interrupted_build_is_redone_and_old_versions_are_removed(cached, monkeypatch):
    real = data._stream_blocks

    def dies_midway(part, *args):
        for i, block in enumerate(real(part, 256)):
            if i == 3:
                raise KeyboardInterrupt
            yield block

    monkeypatch.setattr(data, "_stream_blocks", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        data.training_bank("melspec", ("emodb",), None)
    assert not list(cached.glob("*.meta.npz"))  # no complete bank was recorded
    monkeypatch.setattr(data, "_stream_blocks", real)
    fresh_process()
    bank = data.training_bank("melspec", ("emodb",), None)
    assert np.isfinite(bank.banks[0].prefix).all() and len(list(cached.glob("*.meta.npz"))) == 1
    # the store is rebuilt (new creation time): a new bank file replaces the old one
    monkeypatch.setattr(data.StoreRef, "version", property(lambda store: (store.name, "rebuilt", "later")))
    fresh_process()
    data.training_bank("melspec", ("emodb",), None)
    metas = list(cached.glob("*.meta.npz"))
    assert len(metas) == 1 and not list(cached.glob("*.partial.*"))
    assert len({p.name.split(".")[1] for p in cached.iterdir()}) == 1


def test_full_disk_falls_back_to_ram_with_a_warning(cached, monkeypatch, capsys):
    import errno
    import os

    def no_room(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", no_room)
    bank = data.training_bank("melspec", ("emodb",), None)
    assert not bank.banks[0].mapped and np.isfinite(bank.banks[0].prefix).all()
    err = capsys.readouterr().err
    assert "no room for the 0.0 GiB store-bank file in" in err and "building it in memory instead" in err
    assert not list(cached.glob("*.npy")) and not list(cached.glob("*.npz"))


def test_probe_on_a_bank_larger_than_the_ram_budget(cached, monkeypatch):
    """The bank file is 'too large': windows come from rotating resident subsets, and the probe still learns."""
    from sergen.experiments import probe
    from sergen.train import resident

    used = []
    real = probe.make_sampler
    monkeypatch.setattr(probe, "make_sampler", lambda *a, **k: used.append(real(*a, **k)) or used[-1])
    resident.set_ram_budget(2**20)
    try:
        spec = resolve_spec("melspec", "cremad", "cremad", head="linear", training=TrainConfig(max_steps=1200))
        auroc = run_probe(spec).query("metric == 'auroc'").value.iloc[0]
    finally:
        resident.set_ram_budget(None)
    assert type(used[0]).__name__ == "ResidentSampler" and used[0].rotations >= 2
    assert len(used[0].resident) < 0.5 * len(used[0].bank.length)
    assert auroc > 0.85


def test_read_only_cache_folder_uses_a_sound_bank_there_else_builds_in_memory(cached, monkeypatch, capsys):
    import errno

    from sergen.experiments import bank_cache

    built = data.training_bank("melspec", ("emodb",), None).banks[0]
    assert built.mapped
    fresh_process()

    def read_only(path, mode="r", *args, **kwargs):
        if "a" in mode or "w" in mode:
            raise OSError(errno.EROFS, "Read-only file system")
        return open(path, mode, *args, **kwargs)

    monkeypatch.setattr(bank_cache, "open", read_only, raising=False)
    again = data.training_bank("melspec", ("emodb",), None).banks[0]
    assert again.mapped and np.array_equal(again.prefix, built.prefix)  # the sound bank there is used
    assert capsys.readouterr().err == ""
    fresh_process()
    for npy in cached.glob("*.npz"):
        npy.unlink()  # no complete bank there now: the read-only folder cannot hold a new one
    in_ram = data.training_bank("melspec", ("emodb",), None).banks[0]
    assert not in_ram.mapped and np.array_equal(in_ram.prefix, built.prefix)
    err = capsys.readouterr().err
    assert "cannot write the store-bank cache in" in err and "(Read-only file system): building it in memory" in err


def test_a_run_records_when_it_sampled_resident_subsets(cached, monkeypatch, capsys):
    """The RAM budget can change a run's numbers (resident subsets) without changing its id: the record says
    how the windows were drawn, and a probe says so on the console."""
    from sergen.train import resident

    spec = resolve_spec("melspec", "emodb", "emodb", head="linear", training=TrainConfig(max_steps=250))
    assert probe_run(spec).record.sampling is None
    bank = data.training_bank("melspec", ("emodb",), None)
    rows_bytes = int(resident.entry_bytes(bank).sum())
    monkeypatch.setattr(resident, "ram_budget_mib", lambda: max(1, rows_bytes // 3 // 2**20))
    monkeypatch.setattr(resident, "ram_budget_bytes", lambda: rows_bytes // 3)
    fresh_process()
    capsys.readouterr()
    sampling = probe_run(spec).record.sampling
    assert sampling["mode"] == "resident subsets"
    assert sampling["training_rows_mib"] == round(rows_bytes / 2**20, 1)
    assert sampling["share"] == round((rows_bytes // 3) / rows_bytes, 4)
    assert sampling["rotations"] == 1 + 250 // resident.ROTATE_EVERY - (250 % resident.ROTATE_EVERY == 0)
    assert "windows were drawn from rotating resident subsets (33% at a time" in capsys.readouterr().err

"""Training banks above the size threshold live in memory-mapped files: identical to the in-RAM bank,
built once, rebuilt after an interrupted build, replaced when a store changes."""

from dataclasses import fields

import numpy as np
import pandas as pd
import pytest

from sergen.experiments import data
from sergen.experiments.probe import resolve_spec, run_probe
from sergen.train.loop import TrainConfig


def fresh_process():
    data._training_bank.cache_clear()
    data._load_corpus.cache_clear()


@pytest.fixture
def cached(in_demo_workspace, tmp_path, monkeypatch):
    """Every bank goes through the file cache (threshold 0), in this test's own cache folder."""
    monkeypatch.setenv("SERGEN_BANK_CACHE_MIB", "0")
    monkeypatch.setenv("SERGEN_CACHE", str(tmp_path / "banks"))
    fresh_process()
    yield tmp_path / "banks"
    fresh_process()


def test_mapped_bank_equals_the_in_ram_bank_and_is_reused(cached, monkeypatch):
    mapped = data.training_bank("melspec", ("emodb", "ravdess"), None)
    assert isinstance(mapped.prefix, np.memmap) and not mapped.prefix.flags.writeable
    names = sorted(p.name for p in cached.iterdir())
    assert [n.split(".", 2)[-1] for n in names] == ["lock", "meta.npz", "prefix.npy"]
    assert names[0].startswith("melspec-emodb+ravdess-layerlast.")
    monkeypatch.setenv("SERGEN_BANK_CACHE_MIB", "100000")
    fresh_process()
    in_ram = data.training_bank("melspec", ("emodb", "ravdess"), None)
    assert not isinstance(in_ram.prefix, np.memmap)
    for field in fields(in_ram):
        np.testing.assert_array_equal(getattr(mapped, field.name), getattr(in_ram, field.name), err_msg=field.name)
    # a later process maps the file: the store is not read again
    monkeypatch.setenv("SERGEN_BANK_CACHE_MIB", "0")
    fresh_process()
    monkeypatch.setattr(data, "_stream_frames", lambda *a: (_ for _ in ()).throw(AssertionError("store read")))
    again = data.training_bank("melspec", ("emodb", "ravdess"), None)
    np.testing.assert_array_equal(again.prefix, in_ram.prefix)
    from typer.testing import CliRunner

    from sergen.cli import app

    listing = CliRunner().invoke(app, ["stores", "ls"]).output
    assert f"training-bank cache: 1 bank(s), 0.0 GiB in {cached} (safe to delete)" in listing


def test_probe_results_do_not_depend_on_where_the_bank_lives(cached, monkeypatch):
    spec = resolve_spec("melspec", "emodb", "emodb", head="mlp", training=TrainConfig(max_steps=300))
    mapped = run_probe(spec)
    monkeypatch.setenv("SERGEN_BANK_CACHE_MIB", "100000")
    fresh_process()
    in_ram = run_probe(spec)
    pd.testing.assert_frame_equal(mapped.drop(columns="seconds"), in_ram.drop(columns="seconds"))


def test_interrupted_build_is_redone_and_old_versions_are_removed(cached, monkeypatch):
    real = data._stream_frames

    def dies_midway(part, rows):
        for i, frames in enumerate(real(part, rows)):
            if i == 50:
                raise KeyboardInterrupt
            yield frames

    monkeypatch.setattr(data, "_stream_frames", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        data.training_bank("melspec", ("emodb",), None)
    assert not list(cached.glob("*.meta.npz"))  # no complete bank was recorded
    monkeypatch.setattr(data, "_stream_frames", real)
    fresh_process()
    bank = data.training_bank("melspec", ("emodb",), None)
    assert np.isfinite(bank.prefix).all() and len(list(cached.glob("*.meta.npz"))) == 1
    # the store is rebuilt (new creation time): a new bank file replaces the old one
    monkeypatch.setattr(data, "store_version", lambda model, name, root: (name, "rebuilt", "later"))
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
    assert not isinstance(bank.prefix, np.memmap) and np.isfinite(bank.prefix).all()
    err = capsys.readouterr().err
    assert "no room for the 0.0 GiB training-bank file in" in err and "building it in memory instead" in err
    assert not list(cached.glob("*.npy")) and not list(cached.glob("*.npz"))


def test_probe_on_a_bank_larger_than_the_ram_budget(cached, monkeypatch):
    """The bank file is 'too large': windows come from rotating resident subsets, and the probe still learns."""
    from sergen.experiments import probe

    used = []
    real = probe.make_sampler
    monkeypatch.setattr(probe, "make_sampler", lambda *a, **k: used.append(real(*a, **k)) or used[-1])
    monkeypatch.setenv("SERGEN_BANK_RAM_MIB", "1")
    spec = resolve_spec("melspec", "cremad", "cremad", head="linear", training=TrainConfig(max_steps=1200))
    auroc = run_probe(spec).query("metric == 'auroc'").value.iloc[0]
    assert type(used[0]).__name__ == "ResidentSampler" and used[0].rotations >= 2
    assert len(used[0].resident) < 0.5 * len(used[0].bank.length)
    assert auroc > 0.85

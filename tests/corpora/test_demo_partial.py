"""A demo corpus is written into ``<corpus>.sergen-partial`` and renamed into place once whole (stop-32
hostile pass: a run killed while synthesising left a corpus whose marker listed no files, and every rerun
into that folder was refused). What a killed run leaves is removed by the next run, which then writes the
same files as a clean run; a partial folder that is not sergen's is refused before anything is written."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import time

import pytest

from sergen.corpora.demo import PARTIAL_SUFFIX, make_demo
from sergen.corpora.demo.marker import write_marker
from sergen.errors import SergenError


def _digests(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_what_a_killed_synthesis_leaves_is_replaced_by_the_rerun(tmp_path):
    clean = make_demo(tmp_path / "clean", seed=3, scale=0.05, corpora=["emodb"])["emodb"]
    partial = tmp_path / "out" / f"emodb{PARTIAL_SUFFIX}"
    partial.mkdir(parents=True)
    write_marker(partial, "emodb", 3, 0.05, None)  # as a kill -9 leaves it: the marker lists no files
    (partial / "wav").mkdir()
    (partial / "wav" / "03a01Fa.wav").write_bytes(b"RIFF half")
    root = make_demo(tmp_path / "out", seed=3, scale=0.05, corpora=["emodb"])["emodb"]
    assert not partial.exists()
    assert _digests(root) == _digests(clean)


def test_a_kill_during_synthesis_then_a_rerun_gives_the_clean_files(tmp_path):
    """The user's case: ``sergen demo-data`` killed with SIGKILL while writing, then run again."""
    clean = make_demo(tmp_path / "clean", seed=0, scale=0.3, corpora=["ravdess"])["ravdess"]
    code = ("from sergen.corpora.demo import make_demo; "
            f"make_demo({str(tmp_path / 'out')!r}, seed=0, scale=0.3, corpora=['ravdess'])")
    proc = subprocess.Popen([sys.executable, "-c", code])
    partial = tmp_path / "out" / f"ravdess{PARTIAL_SUFFIX}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(partial.rglob("*.wav")):
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "out" / "ravdess").exists() or proc.returncode == 0  # never a half corpus in place
    root = make_demo(tmp_path / "out", seed=0, scale=0.3, corpora=["ravdess"])["ravdess"]
    assert not partial.exists() and _digests(root) == _digests(clean)


def test_a_partial_folder_that_is_not_sergens_is_refused_before_writing(tmp_path):
    partial = tmp_path / "out" / f"emodb{PARTIAL_SUFFIX}"
    partial.mkdir(parents=True)
    (partial / "notes.txt").write_text("mine")
    with pytest.raises(SergenError, match="is not a partial demo corpus sergen left"):
        make_demo(tmp_path / "out", seed=0, scale=0.05, corpora=["emodb"])
    assert [p.name for p in (tmp_path / "out").iterdir()] == [partial.name]
    assert (partial / "notes.txt").read_text() == "mine"


def test_a_users_file_inside_a_killed_runs_partial_folder_is_kept(tmp_path, capsys):
    clean = make_demo(tmp_path / "clean", seed=3, scale=0.05, corpora=["emodb"])["emodb"]
    partial = tmp_path / "out" / f"emodb{PARTIAL_SUFFIX}"
    partial.mkdir(parents=True)
    write_marker(partial, "emodb", 3, 0.05, None)
    (partial / "wav").mkdir()
    (partial / "wav" / "03a01Fa.wav").write_bytes(b"RIFF half")  # sergen's name: removed
    (partial / "mynotes.txt").write_text("mine")
    root = make_demo(tmp_path / "out", seed=3, scale=0.05, corpora=["emodb"])["emodb"]
    assert _digests(root) == _digests(clean)
    kept = [p for p in (tmp_path / "out").iterdir() if p.name.startswith(f"emodb{PARTIAL_SUFFIX}-")]
    assert len(kept) == 1 and (kept[0] / "mynotes.txt").read_text() == "mine"
    assert sorted(p.relative_to(kept[0]).as_posix() for p in kept[0].rglob("*") if p.is_file()) == ["mynotes.txt"]
    assert "holds files sergen did not write (mynotes.txt); they are kept there" in " ".join(capsys.readouterr().err.split())

"""A disk that fills up during ``sergen extract`` — while the store's layout is made, while its audio is recorded,
while frames are written, or while it is marked complete — is said as such ("disk full", "nothing written was
lost", free space and rerun), never a traceback; the rerun resumes and never calls the unwritten utterances
"lost or damaged"; the finished store equals one made without the interruption, value for value.

No small filesystem can be mounted without root: Zarr's one write of a file (a temporary file, then renamed)
raises ENOSPC from the first write whose key matches, as a full disk would."""

import contextlib
import errno
import shutil

import numpy as np
import pytest
import zarr
import zarr.storage._local as local

from tests.store.test_repair import ARRAYS, arrays
from tests.test_bad_input import cli  # noqa: F401 - the in-process CLI fixture


@pytest.fixture(scope="module")
def reference(demo_root, tmp_path_factory):
    from sergen.corpora import read_corpus, write_manifest
    from sergen.extract import extract

    ws = tmp_path_factory.mktemp("uninterrupted")
    write_manifest(read_corpus("emodb", demo_root / "emodb"), ws / "emodb.csv")
    extract("melspec", "emodb", stores_root=ws / "stores", manifest_file=ws / "emodb.csv", show_progress=False)
    return arrays(ws / "stores" / "melspec" / "emodb.zarr")


def fill_the_disk_at(monkeypatch, part: str) -> dict:
    """From the first write of a file whose path holds ``part`` on, every write fails as on a full disk."""
    real = local._atomic_write
    state = {"full": False, "real": real}

    @contextlib.contextmanager
    def write(path, mode, exclusive=False):
        state["full"] = state["full"] or part in str(path)
        if state["full"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        with real(path, mode, exclusive) as f:
            yield f

    monkeypatch.setattr(local, "_atomic_write", write)
    return state


PHASES = {  # where the disk fills up: the first file of that phase whose path holds this
    "making the layout": "emodb.zarr/zarr.json",
    "writing the metadata": "utt/utt_id/c.",
    "recording the audio": "audio/sha256/c.",
    "writing frames": "frames/c.1.",
    "marking it complete": "chunk_bytes/",
}


@pytest.mark.parametrize("phase", PHASES)
def test_a_full_disk_is_said_and_the_rerun_resumes_to_the_same_store(cli, demo_root, tmp_path, monkeypatch,
                                                                     reference, phase):
    from sergen.config import data_dir

    root = tmp_path / "emodb"
    shutil.copytree(demo_root / "emodb", root)
    assert cli("manifest", "emodb", "--root", root)[0] == 0
    store = data_dir("stores") / "melspec" / "emodb.zarr"

    state = fill_the_disk_at(monkeypatch, PHASES[phase])
    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert state["full"], f"no write matched {PHASES[phase]!r}"
    assert code == 2, text
    assert "disk full while writing the melspec store" in text or "the disk is full" in text
    assert "nothing written was lost" in text and "rerun" in text and str(store) in text
    monkeypatch.setattr(local, "_atomic_write", state["real"])  # space freed

    code, text = cli("extract", "--model", "melspec", "--corpus", "emodb")
    assert code == 0, text
    assert "lost or damaged" not in text and "190 utterances" not in text
    written, before = (int(n) for n in text.split(" written this run, ")[0].split()[-1:]
                       + text.split(" written this run, ")[1].split()[:1])
    assert written + before == 190 and (written > 0) == (phase != "marking it complete")
    assert zarr.open_group(str(store), mode="r").attrs["sergen"]["complete"]
    after = arrays(store)
    for name in ARRAYS:
        np.testing.assert_array_equal(after[name], reference[name], err_msg=name)
    assert cli("stores", "verify", "melspec", "emodb")[0] == 0


def test_the_message_of_a_full_disk_before_any_frame(cli, demo_root, tmp_path, monkeypatch):
    from sergen.config import data_dir

    root = tmp_path / "emodb"
    shutil.copytree(demo_root / "emodb", root)
    assert cli("manifest", "emodb", "--root", root)[0] == 0
    fill_the_disk_at(monkeypatch, "utt/utt_id/c.")
    code, text = cli("extract", "--model", "MelSpec", "--corpus", "EmoDB")
    store = data_dir("stores") / "melspec" / "emodb.zarr"
    assert code == 2
    # choice and list options say a respelling (test_usability_36, test_hostile_fixes_35)
    assert text == (f"note: --model MelSpec read as melspec note: --corpus EmoDB read as emodb "
                    f"error: the disk is full (No space left on device) while writing the melspec/emodb store "
                    f"where: {store} fix: nothing written was lost: free space on the disk of {store.parent}, then "
                    "rerun `sergen extract --model melspec --corpus emodb`, which goes on where this run stopped")

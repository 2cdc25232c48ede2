"""Extracting with a signal-processing model imports none of the heavy libraries it never uses (issue 22):
torch alone took 1.9 s, dask, xarray and audiomentations 1.5 s more, for extractions of a few seconds."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sergen.corpora import read_corpus, write_manifest

HEAVY = ("torch", "dask", "xarray", "audiomentations", "transformers", "distributed")


def loaded_after(code: str) -> dict:
    """Which of HEAVY a fresh interpreter has imported after running ``code`` (in this test's workspace)."""
    script = (f"import json, sys\ntry:\n    {code}\nfinally:\n"
              f"    print(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stderr.strip().splitlines()[-1])


@pytest.fixture
def emodb(demo_root):
    write_manifest(read_corpus("emodb", demo_root / "emodb"))


@pytest.mark.parametrize("model", ["melspec", "egemaps"])
def test_library_extraction_imports_nothing_heavy(emodb, workspace, model):
    code = (f"from sergen.extract import extract; r = extract({model!r}, 'emodb', show_progress=False); "
            "assert r.complete and r.written == 190, r")
    assert loaded_after(code) == dict.fromkeys(HEAVY, False)
    assert (workspace / "stores" / model / "emodb.zarr").is_dir()


def test_cli_extraction_imports_nothing_heavy(emodb, workspace):
    code = ("from sergen.cli import main; sys.argv = ['sergen', 'extract', '--model', 'melspec', '--corpus', "
            "'emodb']\n    try:\n        main()\n    except SystemExit as exit:\n"
            "        assert not exit.code, exit.code")
    assert loaded_after(code) == dict.fromkeys(HEAVY, False)
    assert (workspace / "stores" / "melspec" / "emodb.zarr").is_dir()


def test_opening_the_store_still_gives_dask_and_xarray(emodb):
    code = ("import sergen; from sergen.extract import extract; extract('melspec', 'emodb', show_progress=False); "
            "ds = sergen.open_store('melspec', 'emodb'); assert ds.frames.shape[1] == 128")
    loaded = loaded_after(code)
    assert loaded["dask"] and loaded["xarray"]

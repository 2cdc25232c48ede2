"""A cold `sergen extract` (issue 22): its heavy imports run without the cyclic garbage collector, which is on
again afterwards with the objects of those imports frozen out of its reach; a library call leaves the collector
as it found it."""

from __future__ import annotations

import json
import subprocess
import sys

from sergen.corpora import read_corpus, write_manifest


def gc_state_after(code: str) -> dict:
    script = (f"import gc, json, sys\n{code}\n"
              "print(json.dumps({'enabled': gc.isenabled(), 'frozen': gc.get_freeze_count()}), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stderr.strip().splitlines()[-1])


def test_cli_extract_freezes_its_imports_and_keeps_the_collector_on(demo_root, workspace):
    write_manifest(read_corpus("emodb", demo_root / "emodb"))
    state = gc_state_after("from sergen.cli import main\nsys.argv = ['sergen', 'extract', '--model', 'melspec', "
                           "'--corpus', 'emodb']\ntry:\n    main()\nexcept SystemExit as exit:\n"
                           "    assert not exit.code, exit.code")
    assert state["enabled"] is True
    assert state["frozen"] > 10_000  # typer, pandas, Zarr, sergen: all imported before the extraction began
    assert (workspace / "stores" / "melspec" / "emodb.zarr").is_dir()


def test_library_extract_leaves_the_collector_alone(demo_root, workspace):
    write_manifest(read_corpus("emodb", demo_root / "emodb"))
    state = gc_state_after("from sergen.extract import extract\n"
                           "assert extract('melspec', 'emodb', show_progress=False).complete")
    assert state == {"enabled": True, "frozen": 0}


def test_a_failing_extract_command_turns_the_collector_back_on(workspace):  # emodb has no manifest here
    state = gc_state_after("from sergen.cli import main\nsys.argv = ['sergen', 'extract', '--model', 'melspec', "
                           "'--corpus', 'emodb']\ntry:\n    main()\nexcept SystemExit as exit:\n"
                           "    assert exit.code == 2, exit.code")
    assert state["enabled"] is True and state["frozen"] > 0  # the error came after the imports

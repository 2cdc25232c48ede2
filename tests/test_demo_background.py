"""The demo's work beside the grid (``sergen.demo_background``): its value, its errors and a cancel come back
to the demo as they would have in its own process; the fragmentation it writes equals that written in-line."""

from __future__ import annotations

import os

import pytest

from sergen.demo_background import NICENESS, Background
from sergen.errors import SergenError


def niceness_and_sum(values):
    return os.nice(0), sum(values)


def refuse(what):
    raise SergenError(what, where="here", fix="that")


def crash():
    raise ValueError("a bug")


def test_value_comes_back_from_a_niced_process():
    mine = os.nice(0)
    nice, total = Background(niceness_and_sum, [1, 2, 3]).result()
    assert total == 6 and nice == min(mine + NICENESS, 19)


def test_a_sergen_error_comes_back_as_itself():
    with pytest.raises(SergenError) as caught:
        Background(refuse, "no stores").result()
    assert (caught.value.what, caught.value.where, caught.value.fix) == ("no stores", "here", "that")


def test_a_crash_names_the_error():
    with pytest.raises(RuntimeError, match="ValueError: a bug"):
        Background(crash).result()


def test_cancel_stops_the_work():
    work = Background(os.system, "sleep 30")
    work.cancel()
    assert work._proc.exitcode is not None


def test_fragmentation_beside_the_grid_equals_fragmentation_in_line(in_demo_workspace, tmp_path):
    from sergen.demo import fragmentation_of

    fragmentation_of(["melspec"], tmp_path / "inline")
    Background(fragmentation_of, ["melspec"], tmp_path / "beside").result()
    for name in ("fragmentation.csv", "centroid_similarity.csv"):
        inline = (tmp_path / "inline" / "fragmentation" / "melspec" / name).read_bytes()
        assert (tmp_path / "beside" / "fragmentation" / "melspec" / name).read_bytes() == inline


@pytest.mark.skipif(not os.path.exists("/proc/self"), reason="Linux's parent-death signal")
def test_the_background_process_dies_with_a_killed_demo(tmp_path):
    """A ``kill -9`` of the demo left its background process writing figures for ~40 s (hostile pass 5)."""
    import signal
    import subprocess
    import sys
    import time

    code = ("import sys, time\nfrom sergen.demo_background import Background\n"
            "b = Background(time.sleep, 120)\nprint(b._proc.pid, flush=True)\ntime.sleep(120)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    time.sleep(1.0)  # the child is past its start
    assert os.path.exists(f"/proc/{child}")
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    for _ in range(100):
        if not os.path.exists(f"/proc/{child}") or open(f"/proc/{child}/stat").read().split()[2] == "Z":
            break
        time.sleep(0.1)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail("the background process outlived the killed demo")

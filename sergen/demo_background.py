"""Work the demo runs beside its grid, at a low priority, so it takes only the CPU the grid leaves idle.

The grid's two workers leave a core idle at times (banks being built, the last long run alone); the demo's
fragmentation analysis needs only the stores, so it can use that time (issue 26) instead of running after
the grid. Niced, it yields to the grid's workers whenever both cores are busy. Its result, or its error
(a ``SergenError`` comes back as itself), is returned by ``result()``; nothing is printed by the child.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import traceback

from sergen.errors import SergenError

NICENESS = 10  # CFS weight ~1/10 of a normal process: the grid's workers come first


def die_with_parent(parent: int) -> None:
    """Ask Linux to end this process when the demo that started it dies (a ``kill -9`` of the demo left this one
    writing figures into its results folder for tens of seconds); elsewhere, nothing."""
    import ctypes
    import ctypes.util
    import signal

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the demo died before the request was made
        os._exit(1)


def _child(conn, fn, args, parent: int = 0) -> None:
    if parent:
        die_with_parent(parent)
    try:
        os.nice(NICENESS)
    except OSError:
        pass  # a priority we may not lower: the work still runs
    try:
        conn.send(("ok", fn(*args)))
    except SergenError as exc:
        conn.send(("sergen", (exc.what, exc.where, exc.fix)))
    except BaseException:  # noqa: BLE001 - sent to the parent, which raises it with the child's traceback
        conn.send(("crash", traceback.format_exc()))
    finally:
        conn.close()


class Background:
    """``fn(*args)`` in a spawned process (it inherits the workspace through the environment)."""

    def __init__(self, fn, *args):
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_child, args=(child, fn, args, os.getpid()), daemon=True)
        self._proc.start()
        child.close()

    def result(self):
        """Wait for the work; its return value, or its error raised here."""
        try:
            kind, value = self._conn.recv()
        except EOFError:
            self._proc.join()
            raise RuntimeError(f"the demo's background work died (exit code {self._proc.exitcode})") from None
        self._proc.join()
        if kind == "sergen":
            raise SergenError(value[0], where=value[1], fix=value[2])
        if kind == "crash":
            raise RuntimeError(f"the demo's background work failed:\n{value}")
        return value

    def cancel(self) -> None:
        """Stop the work (the demo failed before it needed the result)."""
        if self._proc.is_alive():
            self._proc.terminate()
        self._proc.join()

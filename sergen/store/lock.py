"""One writer per store: an advisory ``flock`` on ``<store>.lock`` that the OS releases on any exit,
kill -9 included, so a crashed run never leaves a stale lock behind."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from sergen.errors import SergenError


class StoreLock:
    """For stores at remote URLs there is no ``flock``: the lock is a no-op there, and a second writer is
    not detected (sergen's own parallel paths keep a single writer)."""

    def __init__(self, store):
        from sergen.store.location import is_remote

        self.remote = is_remote(store)
        self.path = Path(str(store) + ".lock")
        self._fh = None

    def __enter__(self) -> "StoreLock":
        if self.remote:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise SergenError(
                f"another sergen process ({holder}) is writing this store", where=str(self.path.with_suffix("")),
                fix="wait for it to finish (or stop it); rerunning afterwards resumes where it stopped",
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        self._fh = fh
        return self

    def __exit__(self, *exc) -> None:
        if self._fh:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

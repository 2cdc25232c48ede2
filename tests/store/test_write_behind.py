"""The background writer (issue 22): windows written in order by one thread, waiting consecutive windows
written as one, and a write error raised in the caller's thread with nothing written after it."""

import errno
import threading

import numpy as np
import pytest

from sergen.store.write_behind import WriteBehind
from sergen.store.writer import Prepared


class Recorder:
    """A ``StoreWriter`` stand-in: records each write; the first one waits until released."""

    def __init__(self, fail_at: int | None = None):
        self.writes: list[tuple[int, int, list[int]]] = []
        self.failures: list[dict] = []
        self.threads: set[str] = set()
        self.release, self.entered = threading.Event(), threading.Event()
        self.fail_at = fail_at
        self.held: list[int] = []  # windows written since the last flush
        self.flushes: list[list[int]] = []
        self.pending_failures = None

    def prepare(self, first, frames):
        n = len(frames)
        return Prepared(np.concatenate(frames), np.zeros((n, 3)), np.zeros((n, 3)), np.zeros(n), np.zeros((n, 2)))

    def write_frames(self, first, prepared, codes):
        self.threads.add(threading.current_thread().name)
        self.entered.set()
        if not self.writes and not self.release.is_set():
            self.release.wait(10)
        if self.fail_at is not None and first >= self.fail_at:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.writes.append((first, len(prepared.mean), list(codes)))
        self.held.append(first)

    def hold_failures(self, failures):
        self.pending_failures = failures

    def flush(self):
        if not self.held:
            return
        self.flushes.append(list(self.held))
        self.held = []
        self.failures.append(self.pending_failures)


def frames(n: int) -> list[np.ndarray]:
    return [np.zeros((2, 3), np.float32) for _ in range(n)]


def test_waiting_consecutive_windows_are_written_as_one_in_order():
    rec = Recorder()
    with WriteBehind(rec, depth=4) as behind:
        behind.put(0, frames(2), [1, 1], {})
        assert rec.entered.wait(10)  # the first window is being written: the next ones wait in the queue
        for first, n in ((2, 3), (5, 1), (9, 2)):  # queued while the first write waits; 6-8 are not in this run
            behind.put(first, frames(n), [1] * n, {"u": f"after {first}"})
        rec.release.set()
    assert rec.writes == [(0, 2, [1, 1]), (2, 4, [1, 1, 1, 1]), (9, 2, [1, 1])]
    assert rec.flushes == [[0], [2, 9]]  # status and failures after the first write, then at the end
    assert rec.failures == [{}, {"u": "after 9"}]  # the last window's failures
    assert rec.threads == {"sergen-store-writer"}


def test_a_write_error_reaches_the_caller_and_nothing_is_written_after_it():
    rec = Recorder(fail_at=2)
    rec.release.set()
    with pytest.raises(OSError) as err:
        with WriteBehind(rec, depth=1, merge_bytes=0) as behind:  # one write per window
            for first in range(0, 12, 2):
                behind.put(first, frames(2), [1, 1], {})
    assert err.value.errno == errno.ENOSPC
    assert rec.writes == [(0, 2, [1, 1])]
    assert rec.flushes == [[0]]  # the window written before the failure is marked, nothing after it


def test_status_is_flushed_after_the_first_window_every_flush_s_and_at_the_end():
    rec = Recorder()
    rec.release.set()
    with WriteBehind(rec, depth=1, merge_bytes=0, flush_s=0.0) as behind:  # flush after every write
        for first in range(0, 6, 2):
            behind.put(first, frames(2), [1, 1], {"n": str(first)})
    assert rec.flushes == [[0], [2], [4]]
    assert rec.failures == [{"n": "0"}, {"n": "2"}, {"n": "4"}]
    rec = Recorder()
    rec.release.set()
    with WriteBehind(rec, depth=1, merge_bytes=0, flush_s=3600) as behind:
        for first in range(0, 6, 2):
            behind.put(first, frames(2), [1, 1], {})
    assert rec.flushes == [[0], [2, 4]]  # the first window at once, the rest at the end


def test_the_failures_handed_over_are_a_copy():
    rec = Recorder()
    failures = {"a": "unreadable"}
    with WriteBehind(rec) as behind:
        behind.put(0, frames(1), [3], failures)
        failures["b"] = "later"
        rec.release.set()
    assert rec.failures == [{"a": "unreadable"}]

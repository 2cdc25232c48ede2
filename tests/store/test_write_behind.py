"""The background writer (issue 22): windows written in order by one thread, each from its own block, and
a write error raised in the caller's thread with nothing written after it."""

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


def test_waiting_windows_are_written_one_by_one_in_order_and_marked_together():
    rec = Recorder()
    with WriteBehind(rec, depth=4) as behind:
        behind.put(0, frames(2), [1, 1], {})
        assert rec.entered.wait(10)  # the first window is being written: the next ones wait in the queue
        for first, n in ((2, 3), (5, 1), (9, 2)):  # queued while the first write waits; 6-8 are not in this run
            behind.put(first, frames(n), [1] * n, {"u": f"after {first}"})
        rec.release.set()
    # each window from its own block: never joined into one (a copy of every frame on the one writer)
    assert rec.writes == [(0, 2, [1, 1]), (2, 3, [1, 1, 1]), (5, 1, [1]), (9, 2, [1, 1])]
    assert rec.flushes == [[0], [2, 5, 9]]  # status and failures after the first write, then at the end
    assert rec.failures == [{}, {"u": "after 9"}]  # the last window's failures
    assert rec.threads == {"sergen-store-writer"}


def test_a_write_error_reaches_the_caller_and_nothing_is_written_after_it():
    rec = Recorder(fail_at=2)
    rec.release.set()
    with pytest.raises(OSError) as err:
        with WriteBehind(rec, depth=1) as behind:
            for first in range(0, 12, 2):
                behind.put(first, frames(2), [1, 1], {})
    assert err.value.errno == errno.ENOSPC
    assert rec.writes == [(0, 2, [1, 1])]
    assert rec.flushes == [[0]]  # the window written before the failure is marked, nothing after it


def test_status_is_flushed_after_the_first_window_every_flush_s_and_at_the_end():
    rec = Recorder()
    rec.release.set()
    with WriteBehind(rec, depth=1, flush_s=0.0) as behind:  # flush after every write
        for first in range(0, 6, 2):
            behind.put(first, frames(2), [1, 1], {"n": str(first)})
    assert rec.flushes == [[0], [2], [4]]
    assert rec.failures == [{"n": "0"}, {"n": "2"}, {"n": "4"}]
    rec = Recorder()
    rec.release.set()
    with WriteBehind(rec, depth=1, flush_s=3600) as behind:
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


def _store(path, n_utts: int, dim: int = 4):
    import pandas as pd

    from sergen.store.writer import StoreWriter, create_store

    plan = pd.DataFrame({"utt_id": [f"u{i}" for i in range(n_utts)], "label": "hap", "split": "train",
                         "duration_s": 1.0, "n_frames": 3})
    return StoreWriter(create_store(path, plan, {}, dim))


def test_held_windows_have_frames_and_no_status_until_flushed_then_equal_an_immediate_write(tmp_path):
    from sergen.store.digests import DIGEST_ARRAY, STATS_ARRAY

    rng = np.random.default_rng(0)
    frames = [rng.standard_normal((3, 4)).astype(np.float32) for _ in range(8)]
    held = _store(tmp_path / "held.zarr", 8)
    for first, n in ((0, 2), (2, 3), (6, 2)):  # 5 is not in this run: it stays pending
        held.write_frames(first, held.prepare(first, frames[first:first + n]), [1] * (n - 1) + [3])
    held.hold_failures({"u4": "unreadable"})
    np.testing.assert_array_equal(held.group["frames"][:6], np.concatenate(frames[:2]).astype(np.float16))
    assert held.status.tolist() == [0] * 8 and held.attrs["failures"] == {}  # frames written, nothing marked
    held.flush()
    assert held.status.tolist() == [1, 3, 1, 1, 3, 0, 1, 3]
    assert held.group.attrs["sergen"]["failures"] == {"u4": "unreadable"}
    now = _store(tmp_path / "now.zarr", 8)
    for first, n in ((0, 2), (2, 3), (6, 2)):
        now.write_window(first, frames[first:first + n], [1] * (n - 1) + [3])
    for name in ("frames", "mean", "std", "status", DIGEST_ARRAY, STATS_ARRAY):
        np.testing.assert_array_equal(held.group[name][:], now.group[name][:], err_msg=name)
    assert held.group[DIGEST_ARRAY][5] == -1  # the pending utterance has no digest
    held.flush()  # nothing held: nothing written
    assert held.status.tolist() == [1, 3, 1, 1, 3, 0, 1, 3]

"""Ctrl-C during openSMILE: raised once opensmile returns (never swallowed inside its ctypes callback, where
extraction went on and the cut-short utterance was marked failed)."""

import os
import signal
import threading

import numpy as np
import pytest

from sergen.extractors import get_extractor


@pytest.fixture
def interactive_sigint():
    """Ctrl-C as in a terminal: a process started in the background (``cmd &``) inherits SIGINT ignored."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_ctrl_c_inside_opensmile_is_raised_after_it_not_swallowed(interactive_sigint):
    ex = get_extractor("egemaps").load()
    # ~2 s of openSMILE's work on the LLD-only config (60 s of audio was done before the Ctrl-C came)
    wav = np.random.default_rng(0).normal(0, 0.1, 16000 * 300).astype(np.float32)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            ex.embed_one(wav)
    finally:
        timer.cancel()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is restored
    assert ex.embed_one(wav[:16000]).shape == (ex.num_frames(16000), 25)  # and it works after


def test_no_ctrl_c_leaves_results_unchanged():
    ex = get_extractor("egemaps").load()
    wav = np.random.default_rng(1).normal(0, 0.1, 16000).astype(np.float32)
    direct = ex._smile.process_signal(wav, 16000).to_numpy(dtype=np.float32)
    np.testing.assert_array_equal(ex.embed_one(wav), direct)

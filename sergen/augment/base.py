"""Waveform augmentation *views*: each view is one transform whose parameters are drawn from a generator
seeded by (utterance, view, seed), so a view of an utterance is the same in every run and on every
machine, and its output length is known before any audio is decoded (the store needs it).

Following audiomentations' split: ``draw(rng, n_samples)`` draws the parameters, ``apply`` is
deterministic given them, ``out_length`` says how long the result is.
"""

from __future__ import annotations

import random
import threading
import zlib

import numpy as np

from sergen.registry import Registry

VIEWS: Registry[type["View"]] = Registry("view", hint="`sergen views` lists them")
_GLOBAL_RNG_LOCK = threading.Lock()


def view_rng(utt_id: str, view: str, seed: int) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(utt_id.encode()), zlib.crc32(view.encode()), seed])


class View:
    name = ""
    description = ""

    def draw(self, rng: np.random.Generator, n_samples: int, sample_rate: int) -> dict:
        raise NotImplementedError

    def out_length(self, n_samples: int, params: dict) -> int:
        return n_samples

    def apply(self, wave: np.ndarray, sample_rate: int, params: dict) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, wave: np.ndarray, sample_rate: int, utt_id: str, seed: int = 0) -> np.ndarray:
        params = self.draw(view_rng(utt_id, self.name, seed), len(wave), sample_rate)
        return self.apply(wave, sample_rate, params)


def with_seeded_global_rng(seed: int, fn):
    """audiomentations draws from NumPy's and Python's global generators: seed both, under a lock so
    that decoding threads never interleave their draws, and restore them afterwards."""
    with _GLOBAL_RNG_LOCK:
        np_state, py_state = np.random.get_state(), random.getstate()
        np.random.seed(seed)
        random.seed(seed)
        try:
            return fn()
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)

"""A scikit-learn-style probe on plain arrays, for notebooks: ``Probe(head="mlp").fit(X, y).predict_proba(X2)``.

``X`` is either utterance vectors ``[N, D]`` (each one utterance of one frame: the mean heads see it, with
the stream's same-label mixing and noise) or a list of frame arrays ``[T_i, D]`` (whole utterances: windows,
masking, joining and noise as in a probe run; the sequence heads ``attn`` and ``cnn`` need these). The head,
stream and training loop are sergen's own (``train_head``); a stratified share of the training utterances
is held out for its validation (early stopping). Values are stored as float16 in the stream's bank, as
store frames are.

>>> import numpy as np
>>> X = np.random.default_rng(0).standard_normal((80, 5)); y = (X[:, 0] > 0).astype(int)
>>> Probe(head="linear", max_steps=200).fit(X, y).predict_proba(X).shape
(80, 2)
"""

from __future__ import annotations

import numpy as np

from sergen.errors import SergenError
from sergen.train.frame_stream import FrameSampler, UtteranceFrames
from sergen.train.framebank import build_framebank
from sergen.train.head_base import HEADS, canonical_head_options
from sergen.train.loop import TrainConfig, predict_proba, train_head
from sergen.train.sampler import SamplerConfig, WindowSampler

FLOAT16_MAX = 65504.0


class Probe:
    """Hyper-parameters as constructor arguments; learned state in attributes ending in ``_``."""

    def __init__(self, head: str = "mlp", head_opt: str = "", seed: int = 0, max_steps: int = 3000,
                 valid_share: float = 0.2, frame_rate: float = 100.0, sampler: SamplerConfig = SamplerConfig()):
        self.head, self.head_opt, self.seed, self.max_steps = head, head_opt, seed, max_steps
        self.valid_share, self.frame_rate, self.sampler = valid_share, frame_rate, sampler

    def _frames(self, X) -> tuple[list[np.ndarray], bool]:
        """X as per-utterance frame arrays, and whether it was given as frames (not vectors)."""
        if isinstance(X, np.ndarray) and X.ndim == 2:
            frames, given_frames = list(X[:, None, :]), False
        elif isinstance(X, (list, tuple)) and all(np.ndim(f) == 2 for f in X) and len(X):
            frames, given_frames = [np.asarray(f) for f in X], True
        else:
            raise SergenError(f"X must be utterance vectors [N, D] or a list of frame arrays [T, D], got "
                              f"{type(X).__name__} of shape {np.shape(X) if isinstance(X, np.ndarray) else '?'}",
                              fix="pass a 2-D array, or a list of 2-D arrays (one per utterance)")
        if any(not np.all(np.isfinite(f)) or np.abs(f).max(initial=0) > FLOAT16_MAX for f in frames):
            raise SergenError(f"X holds values that are not finite or beyond float16's ±{FLOAT16_MAX:g}",
                              fix="scale the features (e.g. divide by their largest magnitude) first")
        if HEADS.get(self.head).sequence and not given_frames:
            raise SergenError(f"head {self.head} sees frames: X must be a list of frame arrays [T, D]",
                              fix="pass each utterance's frames, or use a mean head (linear, mlp)")
        return frames, given_frames

    def fit(self, X, y) -> "Probe":
        from sklearn.model_selection import train_test_split

        frames, self.frames_ = self._frames(X)
        self.classes_, labels = np.unique(np.asarray(y), return_inverse=True)
        if len(self.classes_) < 2 or len(frames) != len(labels):
            raise SergenError(f"fit needs one label per utterance and two or more classes; got {len(labels)} "
                              f"labels of {len(self.classes_)} class(es) for {len(frames)} utterances")
        self.head_opt_ = canonical_head_options(self.head, self.head_opt)
        train, valid = train_test_split(np.arange(len(frames)), test_size=self.valid_share, random_state=self.seed,
                                        stratify=labels)
        bank = build_framebank([frames[i] for i in train], labels[train], np.zeros(len(train)), np.arange(len(train)),
                               np.ones(len(train), bool))
        stream = FrameSampler if HEADS.get(self.head).sequence else WindowSampler
        config = TrainConfig(max_steps=self.max_steps, min_steps=min(500, self.max_steps))
        result = train_head(stream(bank, self.frame_rate, self.sampler, seed=self.seed),
                            self._inputs([frames[i] for i in valid]), labels[valid], len(self.classes_), self.head,
                            config, seed=self.seed, head_options=self.head_opt_)
        self.model_, self.best_step_, self.history_ = result.model, result.best_step, result.history
        return self

    def _inputs(self, frames: list[np.ndarray]):
        """Evaluation inputs: whole-utterance means (mean heads) or whole utterances (sequence heads)."""
        if HEADS.get(self.head).sequence:
            bank = build_framebank(frames, np.zeros(len(frames)), np.zeros(len(frames)), np.arange(len(frames)),
                                   np.ones(len(frames), bool))
            return UtteranceFrames(bank.banks[0], np.arange(len(frames)))
        return np.stack([np.asarray(f, np.float16).astype(np.float32).mean(0) for f in frames])

    def predict_proba(self, X) -> np.ndarray:
        if not hasattr(self, "model_"):
            raise SergenError("this Probe is not fitted yet", fix="call fit(X, y) first")
        frames, _ = self._frames(X)
        return predict_proba(self.model_, self._inputs(frames))

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(1)]

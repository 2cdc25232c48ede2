"""``--norm coral``: correlation alignment (Sun, Feng and Saenko 2016, "Return of frustratingly easy domain
adaptation"). Each corpus, training or test, is whitened with its own covariance and re-coloured with the
training pool's, so every corpus reaches the head with the training pool's second-order statistics.

Per corpus g, with x an utterance's (or window's) mean vector:

    x' = μ_T + (x − μ_g) · diag(1/s_g) · C_g^{-1/2} · C_T^{1/2} · diag(s_T)

- μ_g, s_g: the mean and per-feature std of g's utterance means; C_g their correlation matrix estimated with
  Ledoit–Wolf shrinkage (scikit-learn), the paper's "+ identity" chosen from the data rather than fixed at 1
  (features are put in units of their std first, so the identity target means the same on every feature).
  Eigenvalues are floored at 1e-6 of their mean, so a constant feature whitens to 0 instead of dividing by 0.
  T is the training pool (every training corpus's training utterances together); one training corpus maps
  onto itself (the identity, to rounding).
- Unlike the paper's CORAL, the mean is aligned as well (μ_g → μ_T), as ``--norm corpus`` does.
- Statistics are those of *utterance means*, from the stores' per-utterance summaries (no pass over the frames);
  the map is affine, so applied to a window's mean it is applied to each of its frames.
- A training corpus by its training utterances; a test corpus outside training by *all* its clean utterances,
  read without labels: transductive, as the report says.
- The std half of ``--pool mean+std`` is refused: a full-covariance map of the frames changes a window's
  per-feature std in a way its per-feature stds cannot give.

Costs: float64 ``eigh`` of a D×D matrix per corpus (1024 features: about a second), cached per process by the
store's version and protocol; each map is D×D float32 (4 MiB at 1024) held with the training bank.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from sergen.errors import SergenError
from sergen.train.norms.base import Normalisation, register
from sergen.train.pooling import POOLS

FLOOR = 1e-6  # eigenvalues below this share of their mean are raised to it
MAX_FEATURES = 4096  # D×D float64 matrices: 128 MiB each and minutes of eigh beyond this (a concatenated stack)
CACHED = 8  # corpora whose whitening a process keeps (D×D float64 each)
_WHITENING: OrderedDict = OrderedDict()


@dataclass(frozen=True)
class Moments:
    """A corpus's (or the training pool's) mean, per-feature std and the square roots of its shrunk
    correlation matrix (``half``: C^{1/2}; ``inverse_half``: C^{-1/2}), float64."""

    mean: np.ndarray
    scale: np.ndarray
    half: np.ndarray
    inverse_half: np.ndarray


def moments(x: np.ndarray, what: str) -> Moments:
    """``x``'s (utterance means, N × D) moments; ``what`` names them in errors. scikit-learn is imported here:
    only a coral run pays for it."""
    from sklearn.covariance import ledoit_wolf

    x = np.asarray(x, np.float64)
    if x.shape[1] > MAX_FEATURES:
        raise SergenError(f"--norm coral: {x.shape[1]} features; its covariances are D×D, so at most {MAX_FEATURES}",
                          fix="pick one layer (--layer N, not weighted), or use --norm corpus")
    if len(x) < 2:
        raise SergenError(f"--norm coral: {what} has {len(x)} utterance(s); a covariance needs two or more",
                          fix="use --norm corpus, or a corpus with more utterances")
    mean, scale = x.mean(0), x.std(0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    shrunk, _ = ledoit_wolf((x - mean) / scale)
    values, vectors = np.linalg.eigh(shrunk)
    values = np.maximum(values, FLOOR * max(float(values.mean()), 1e-12))
    return Moments(mean, scale, (vectors * np.sqrt(values)) @ vectors.T, (vectors / np.sqrt(values)) @ vectors.T)


def cached_moments(x: np.ndarray, what: str, key: tuple) -> Moments:
    """``moments`` once per process for rows named by ``key`` (store version, protocol, which rows)."""
    if not key:
        return moments(x, what)
    if key not in _WHITENING:
        _WHITENING[key] = moments(x, what)
        while len(_WHITENING) > CACHED:
            _WHITENING.popitem(last=False)
    _WHITENING.move_to_end(key)
    return _WHITENING[key]


@dataclass(frozen=True)
class Recolour:
    """Per group g: ``x' = offset + (x − shift_g) · matrix_g``; ``target`` kept to map test corpora later."""

    names: np.ndarray  # (G,) corpora, sorted
    shift: np.ndarray  # (G, D) float32, as the windows: a float64 product would cost twice as much
    matrix: np.ndarray  # (G, D, D) float32
    offset: np.ndarray  # (D,) float32
    target: Moments

    def apply(self, x, group):
        x = np.asarray(x, np.float32)
        out = np.empty(x.shape, np.float32)
        for g in np.unique(group):
            rows = np.flatnonzero(group == g)
            out[rows] = (x[rows] - self.shift[g]) @ self.matrix[g] + self.offset
        return out

    def apply_std(self, std, group):
        raise SergenError("--norm coral maps no std half", fix="use --pool mean with --norm coral")

    def head_statistics(self, mean, std):
        return mean, std  # mapped into the training pool's units: the head standardises as for ``global``


def recolour(names: list[str], sources: list[Moments], target: Moments) -> Recolour:
    """Each source whitened in its own std units and re-coloured in the target's: one D×D matrix per source."""
    matrices = [(s.inverse_half / s.scale[:, None]) @ (target.half * target.scale[None, :]) for s in sources]
    return Recolour(np.asarray(names), np.stack([s.mean for s in sources]).astype(np.float32),
                    np.stack(matrices).astype(np.float32), target.mean.astype(np.float32), target)


@register("coral")
class Coral(Normalisation):
    help = "each corpus whitened by its own covariance and re-coloured with the training pool's (CORAL)"
    transductive = True

    def check(self, pool):
        if POOLS.get(pool).halves > 1:  # a std half: what a full-covariance map does to it is not in the bank
            raise SergenError(f"--norm coral with --pool {pool}: CORAL maps window means, not their stds",
                              fix="use --pool mean with --norm coral, or --norm corpus with --pool mean+std")

    def fit(self, keys, mean, std, length):
        names = sorted(set(np.asarray(keys).astype(str)))
        keys = np.asarray(keys).astype(str)
        target = moments(mean, "the training pool")
        return recolour(names, [moments(mean[keys == n], n) for n in names], target)

    def evaluation_map(self, fitted, rows, every, in_training):
        if in_training:
            return fitted
        utts = every()
        return recolour([utts.corpus], [cached_moments(utts.mean, utts.corpus, utts.key)], fitted.target)

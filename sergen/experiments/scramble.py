"""Scrambled labels: each training corpus gets its own fixed, non-identity permutation of the four
classes, applied to its train, valid and test splits alike. If performance hardly changes, the model
has learnt per-corpus clusters rather than emotions shared across corpora (the poster's evidence of
class fragmentation)."""

from __future__ import annotations

import itertools

import numpy as np

from sergen import CORPORA, LABELS

_NON_IDENTITY = [p for p in itertools.permutations(range(len(LABELS))) if list(p) != list(range(len(LABELS)))]


def scramble_permutations(corpora, n_classes: int = len(LABELS), seed: int = 0) -> dict[str, np.ndarray]:
    """Distinct permutations for every corpus, fixed by name: the five poster corpora come first in a
    fixed order, others after them sorted, so a corpus's permutation does not depend on which other
    corpora are trained with it. Other label sets than the four draw a non-identity permutation of their
    ``n_classes`` per corpus, in the same order."""
    order = list(CORPORA) + sorted(set(corpora) - set(CORPORA))
    rng = np.random.default_rng(seed)
    if n_classes != len(LABELS):
        table = {}
        for name in order:
            perm = rng.permutation(n_classes)
            while n_classes > 1 and np.array_equal(perm, np.arange(n_classes)):
                perm = rng.permutation(n_classes)
            table[name] = perm
        return {c: table[c] for c in corpora}
    picks = rng.choice(len(_NON_IDENTITY), size=len(order), replace=len(order) > len(_NON_IDENTITY))
    table = {name: np.array(_NON_IDENTITY[i]) for name, i in zip(order, picks)}
    return {c: table[c] for c in corpora}

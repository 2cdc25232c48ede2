"""The one interface of a feature normalisation (``--norm``) and their registry, so the probe, the sampler, the
checks and the report ask a strategy rather than branch on its name.

A normalisation is fitted on the training corpora's clean training utterances and maps each utterance (or
window) of a *group* (a corpus, a speaker, …) by that group's map. What it needs from the bank is each
utterance's frame mean, std and length (the stores' per-utterance summaries), never a pass over the frames.
A window is mapped by its own utterance's group; a mixed window's partner comes from the same class *and
group* (``sampler.draw_partners``), so the whole window shares one group's map. Every map is affine in the
frames, so mapping a window's mean is mapping each of its frames, exactly.

Adding one: a module under ``sergen/train/norms/`` with a ``Normalisation`` subclass decorated
``@register("name")``, and one import line in ``sergen/train/norms/__init__.py`` (docs/coral.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar, Protocol

import numpy as np

from sergen.errors import SergenError
from sergen.registry import Registry

NORMS: Registry[type["Normalisation"]] = Registry("normalisation")


@dataclass(frozen=True)
class Utterances:
    """Per-utterance summaries of some clean utterances of one corpus, from its store: what a normalisation
    is fitted on and maps. ``key`` names these rows within the process (store version, protocol, which rows)
    so a strategy may cache what it derives from them; ``()``: not cached."""

    corpus: str
    speaker: np.ndarray  # (N,)
    mean: np.ndarray  # (N, D) each utterance's frame mean
    std: np.ndarray  # (N, D) the std of its frames
    length: np.ndarray  # (N,) its frames
    key: tuple = ()


class GroupMap(Protocol):
    """A fitted normalisation: one map per group, applied row by row (``group``: each row's index in ``names``)."""

    names: np.ndarray  # (G,) the groups, sorted

    def apply(self, x: np.ndarray, group: np.ndarray) -> np.ndarray:
        """Window or utterance means (the mean half of the head's input), row ``i`` by group ``group[i]``."""

    def apply_std(self, std: np.ndarray, group: np.ndarray) -> np.ndarray:
        """The std half (``--pool mean+std``): what the map does to the std of a window's frames."""

    def head_statistics(self, mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The head's own standardisation of the mapped mean half, given the training pool's ``mean`` and
        ``std`` (zeros and ones where the map already standardises)."""


def group_index(names: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Each key's index in the sorted ``names``; a key the map was not fitted on is refused, not misread."""
    keys = np.asarray(keys).astype(str)
    index = np.minimum(np.searchsorted(names, keys), max(len(names) - 1, 0))
    missing = sorted(set(keys[names[index] != keys])) if len(names) else sorted(set(keys))
    if missing:
        raise SergenError(f"no normalisation statistics for {', '.join(missing[:5])}",
                          fix="report this: the evaluation rows name a group the training bank has no map for")
    return index


class Normalisation:
    """One strategy. ``transductive``: a test corpus (or test speaker) is mapped by statistics of its own
    unlabelled utterances, which the report says beside its figures. ``grouped`` False: no map at all, the
    head's standardisation by the training pool is the whole normalisation (``global``)."""

    name: ClassVar[str] = ""
    help: ClassVar[str] = ""  # one line: the CLI's help and the docs
    transductive: ClassVar[bool] = False
    grouped: ClassVar[bool] = True

    def transductive_note(self, train: tuple[str, ...], test: tuple[str, ...]) -> str | None:
        """The console's line on what was read from test data; None where nothing was (by default: the test
        corpora outside the training set, when the strategy is transductive)."""
        outside = [c for c in test if c not in train]
        if not (self.transductive and outside):
            return None
        return (f"--norm {self.name}: {', '.join(outside)} standardised by the statistics of their own unlabelled "
                "utterances (transductive)")

    def check(self, pool: str) -> None:
        """Refuse a pooling this normalisation cannot map exactly, before anything runs."""

    def keys(self, corpus: str, speakers: np.ndarray) -> np.ndarray:
        """The group of each utterance of ``corpus`` (by default the corpus)."""
        return np.full(len(speakers), corpus, dtype=object)

    def fit(self, keys: np.ndarray, mean: np.ndarray, std: np.ndarray, length: np.ndarray) -> GroupMap | None:
        """The maps of the training groups, from their clean training utterances (``keys`` from ``keys``)."""
        raise NotImplementedError

    def evaluation_map(self, fitted: GroupMap, rows: Utterances, every: Callable[[], Utterances],
                       in_training: bool) -> GroupMap:
        """The map of evaluation ``rows`` (a valid or test split): ``fitted`` for a training corpus's own
        groups, else fitted anew on ``rows`` or on ``every()`` (all the corpus's clean utterances)."""
        raise NotImplementedError

    def rows_map(self, fitted: GroupMap, rows: Utterances, every: Callable[[], Utterances],
                 in_training: bool) -> tuple[GroupMap, np.ndarray]:
        """The map of evaluation ``rows`` and each row's group in it: what maps their utterance means here,
        and their frames wherever a head reads frames (apply each frame with its utterance's group)."""
        mapping = self.evaluation_map(fitted, rows, every, in_training)
        return mapping, group_index(mapping.names, self.keys(rows.corpus, rows.speaker))

    def vectors(self, fitted: GroupMap, rows: Utterances, every: Callable[[], Utterances], in_training: bool,
                std_half: bool = False) -> np.ndarray:
        """``rows``' utterance means mapped as the training windows were; with ``std_half``, ``[mean, std]``."""
        mapping, group = self.rows_map(fitted, rows, every, in_training)
        x = mapping.apply(rows.mean, group)
        return np.concatenate([x, mapping.apply_std(rows.std, group)], axis=1) if std_half else x


def register(name: str):
    """Class decorator: a ``Normalisation`` subclass registered (and named) as ``--norm name``."""
    def decorate(cls: type[Normalisation]) -> type[Normalisation]:
        cls.name = name
        return NORMS.register(name)(cls)

    return decorate


def check_norm(norm: str) -> str:
    """``norm`` when it is a registered normalisation's name (exactly: a name is part of the run id)."""
    if norm not in NORMS.names():
        raise SergenError(f"unknown --norm {norm!r}; known: {', '.join(NORMS.names())}",
                          fix="; ".join(f"{n}: {NORMS.get(n).help}" for n in NORMS.names()))
    return norm


def norm_strategy(norm: str) -> Normalisation:
    return NORMS.get(check_norm(norm))()


def transductive_norms() -> tuple[str, ...]:
    """The normalisations that map a test corpus (or speaker) by its own unlabelled statistics."""
    return tuple(n for n in NORMS.names() if NORMS.get(n).transductive)


def choices_text(names=None, form: str = '"{}"') -> str:
    """Names (the registered ones by default) as a sentence lists them: ``"global", "corpus" or "speaker"``."""
    names = [form.format(n) for n in (NORMS.names() if names is None else names)]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"

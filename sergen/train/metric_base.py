"""What a metric is and the one registry of them (``sergen.train.metrics`` registers sergen's own), so the
bootstrap, the results rows, the probe's table, ``sergen compare --metric`` and the report's columns read one
list rather than each keeping its own.

A metric is declared once, as a ``Metric``: its name, heading and help, its direction, its scikit-learn
value on a test set (``point``), optionally an exact numpy twin without scikit-learn's per-call checks
(``fast``, for the paired tests that score thousands of resamples), and its value over many bootstrap
resamples at once (``resampled``, weighted sums over the test set; without one, each resample is scored on
its own with ``fast``). The quantities several metrics share (the predicted classes, the classes present,
each resample's confusion counts) are computed once per test set by ``TestSet`` and ``Resamples``.

Importing this module imports numpy only: the CLI reads the registry for its help, and scikit-learn alone
takes seconds to import.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Iterator

import numpy as np

from sergen.errors import SergenError
from sergen.registry import Registry


class TestSet:
    """One test set's labels and class probabilities, and what several metrics derive from them."""

    __test__ = False  # not a pytest class

    def __init__(self, y: np.ndarray, proba: np.ndarray):
        self.y, self.proba = np.asarray(y), np.asarray(proba)

    @cached_property
    def present(self) -> np.ndarray:
        """The classes the test set holds (macro averages run over these only)."""
        return np.unique(self.y)

    @cached_property
    def pred(self) -> np.ndarray:
        return self.proba.argmax(1)

    @property
    def several_classes(self) -> bool:
        """AUROC and average precision are undefined on a single class."""
        return len(self.present) > 1

    @cached_property
    def recalls(self) -> list:
        """Each present class's recall, in class order."""
        return [np.sum((self.pred == k) & (self.y == k)) / np.sum(self.y == k) for k in self.present]

    @cached_property
    def f1s(self) -> list:
        """Each present class's F1 (0 where the class is neither true nor predicted, which cannot happen here)."""
        out = []
        for k in self.present:
            tp = np.sum((self.pred == k) & (self.y == k))
            n_true, n_pred = np.sum(self.y == k), np.sum(self.pred == k)
            out.append(2 * tp / (n_true + n_pred) if n_true + n_pred else 0.0)
        return out

    def per_class_mean(self, score: Callable[[np.ndarray, np.ndarray], float]) -> float:
        """The mean over present classes of ``score(is that class, its probability)``; NaN on one class."""
        if not self.several_classes:
            return float("nan")
        return float(np.mean([score(self.y == k, self.proba[:, k]) for k in self.present]))


class Resamples:
    """Many bootstrap resamples of one test set, each given as how often it draws every utterance
    (``weights``: resamples × utterances, whole counts), and each resample's weighted confusion counts."""

    def __init__(self, y: np.ndarray, proba: np.ndarray, weights: np.ndarray):
        self.y, self.proba, self.weights = np.asarray(y), np.asarray(proba), np.asarray(weights)

    @cached_property
    def confusion(self) -> np.ndarray:
        """resamples × true class × predicted class."""
        k = self.proba.shape[1]
        codes = self.y * k + self.proba.argmax(1)
        return (self.weights @ np.eye(k * k)[codes]).reshape(-1, k, k)

    @cached_property
    def n_true(self) -> np.ndarray:
        return self.confusion.sum(2)

    @cached_property
    def n_pred(self) -> np.ndarray:
        return self.confusion.sum(1)

    @cached_property
    def tp(self) -> np.ndarray:
        return np.diagonal(self.confusion, axis1=1, axis2=2)

    @cached_property
    def present(self) -> np.ndarray:
        """resamples × classes: the class is drawn at least once."""
        return self.n_true > 0

    @cached_property
    def n_present(self) -> np.ndarray:
        return self.present.sum(1)

    @cached_property
    def f1(self) -> np.ndarray:
        """resamples × classes: F1 of each present class, 0 elsewhere."""
        return np.where(self.present, 2 * self.tp / (self.n_true + self.n_pred), 0.0)

    def shared(self, make: Callable[["Resamples"], object]):
        """``make(self)``, computed once for these resamples: work several metrics share (AUROC and average
        precision sort each class's scores once for both)."""
        memo = self.__dict__.setdefault("_shared", {})
        if make not in memo:
            memo[make] = make(self)
        return memo[make]

    def each(self, metric: "Metric") -> np.ndarray:
        """``metric``'s value on every resample scored on its own (its resampled arrays): the slow way, for
        a metric that declares no weighted form."""
        rows = np.arange(len(self.y))
        out = np.empty(len(self.weights))
        for b, counts in enumerate(self.weights):
            idx = np.repeat(rows, counts.astype(np.int64))
            out[b] = metric.fast_value(self.y[idx], self.proba[idx])
        return out


@dataclass(frozen=True)
class Metric:
    """One metric of a test set. ``point`` and ``fast`` take a ``TestSet``, ``resampled`` a ``Resamples``
    (NaN where it is undefined; resamples holding a single class are skipped by the caller)."""

    name: str  # results rows' ``metric``, ``sergen compare --metric``
    title: str  # column heading in the probe's and the report's tables
    help: str  # what it is, in one line (``--metric``'s help, the registries page)
    point: Callable[[TestSet], float]  # scikit-learn's value
    fast: Callable[[TestSet], float] | None = None  # the same value without scikit-learn (None: ``point``)
    resampled: Callable[[Resamples], np.ndarray] | None = None  # every resample at once (None: one by one)
    higher_is_better: bool = True
    needs_proba: bool = False  # reads the class probabilities, not only the predicted class
    # reads each class's scores only through their order (AUROC, AP): unchanged when each class's column is
    # replaced by its ranks, which ``sergen compare`` does before swapping scores between two runs, so runs
    # whose scores have other scales (a linear and an MLP head) stay exchangeable under its null
    per_class_ranks: bool = False
    poster: bool = False  # one of the poster's four: a column of the report's intra-corpus table
    report: bool = True  # a column of the report's tables under the poster's classes

    def value(self, y: np.ndarray, proba: np.ndarray) -> float:
        return float(self.point(TestSet(y, proba)))

    def fast_value(self, y: np.ndarray, proba: np.ndarray) -> float:
        return float((self.fast or self.point)(TestSet(y, proba)))

    def over_resamples(self, resamples: Resamples) -> np.ndarray:
        return self.resampled(resamples) if self.resampled else resamples.each(self)


class MetricRegistry(Registry[Metric]):
    """The registry, iterated and counted by name in registration order (``for m in METRICS``)."""

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def all(self) -> list[Metric]:
        return [self.get(name) for name in self.names()]


METRICS = MetricRegistry("metric")


def register(metric: Metric) -> Metric:
    """Add ``metric``: from then on it is scored in every run, bootstrapped, and a choice of ``--metric``."""
    return METRICS.register(metric.name)(metric)


def metric_choices() -> str:
    """The metrics as ``--metric``'s help lists them: ``name (help)``, the direction where lower is better."""
    return "; ".join(f"{m.name}: {m.help}" + ("" if m.higher_is_better else " (lower is better)")
                     for m in METRICS.all())


def check_metric(name: str, flag: str = "metric") -> str:
    """The canonical name of a registered metric; any other name is refused, naming them."""
    if name not in METRICS:
        raise SergenError(f"unknown {flag} {name!r}", fix=f"use one of {', '.join(METRICS.names())}")
    return METRICS.canonical(name)

"""Exclusive timing of nested stages, shared by the profilers in bench/: a stage entered inside another
pauses the outer one, so no second is counted twice. A subclass says what it reads (``now``) and how it adds a
span to a stage (``_charge``)."""

from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager


class ExclusiveStages:
    def __init__(self):
        self.calls: dict[str, int] = defaultdict(int)
        self.stack: list[list] = []

    def now(self) -> tuple:
        raise NotImplementedError

    def _charge(self, name: str, since: tuple, now: tuple) -> None:
        raise NotImplementedError

    @contextmanager
    def stage(self, name: str):
        now = self.now()
        if self.stack:
            self._charge(self.stack[-1][0], self.stack[-1][1], now)
        self.stack.append([name, now])
        self.calls[name] += 1
        try:
            yield
        finally:
            now = self.now()
            self._charge(name, self.stack.pop()[1], now)
            if self.stack:
                self.stack[-1][1] = now

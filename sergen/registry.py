"""Name → class registries with aliases (corpora, extractors), so nothing dispatches on if/elif chains."""

from __future__ import annotations

from typing import Callable, Generic, TypeVar

from sergen.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps canonical names and aliases (case-insensitive) to registered objects."""

    def __init__(self, kind: str, hint: str = ""):
        self.kind, self.hint = kind, hint
        self._items: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

    def register(self, name: str, *aliases: str) -> Callable[[T], T]:
        def decorate(obj: T) -> T:
            for key in (name, *aliases):
                key = key.lower()
                if key in self._aliases:
                    raise ValueError(f"{self.kind} name {key!r} registered twice")
                self._aliases[key] = name
            self._items[name] = obj
            return obj

        return decorate

    def canonical(self, name: str) -> str:
        key = str(name).strip().lower()
        if key not in self._aliases:
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}",
                fix=(self.hint() if callable(self.hint) else self.hint) or None,
            )
        return self._aliases[key]

    def resolve(self, name: str) -> str:
        """The canonical name of a registered name or alias; any other name as given (a corpus read by
        ``folder`` under its own name, a store made by another tool)."""
        return self.canonical(name) if name in self else name

    def get(self, name: str) -> T:
        return self._items[self.canonical(name)]

    def names(self) -> list[str]:
        return list(self._items)

    def aliases(self, name: str) -> list[str]:
        canon = self.canonical(name)
        return [a for a, c in self._aliases.items() if c == canon and a != canon]

    def __contains__(self, name: str) -> bool:
        return str(name).strip().lower() in self._aliases

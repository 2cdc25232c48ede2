"""Experiments written as TOML files (``sergen grid --config FILE``, ``sergen probe --config FILE``) and single
knobs set on the command line (``--set sampler.mix_prob=0.3``): every setting that shapes a run, checked
against the same dataclasses the runs use, so a file and the equivalent command line make the same specs and
the same run ids. An unknown key or an out-of-range value is an error naming the key, the file and its line.

    models = ["melspec"]            # grid; probe takes model = "melspec"
    train = "each,all"
    test = "all"
    heads = ["linear", "mlp"]       # probe: head = "mlp"
    seeds = [0, 1, 2]
    scramble = [false, true]
    aug_share = [0.0, 0.5]
    norm = ["global", "corpus"]
    pool = ["mean", "mean+std"]     # probe: pool = "mean+std"
    labels = "4"
    folds = ""
    protocol = ""
    layer = "-"

    [sampler]                       # sergen.train.sampler.SamplerConfig
    window_s = [1.0, 3.0]
    mix_prob = 0.2

    [training]                      # sergen.train.loop.TrainConfig
    lr = 0.001
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import fields, replace
from pathlib import Path

from sergen.errors import SergenError
from sergen.spec import run_keys
from sergen.train.loop import TrainConfig
from sergen.train.sampler import SamplerConfig

RUN_KEYS = run_keys()  # key → the TOML kinds it takes, from the run-option table (``sergen.spec``)
TABLES = {"sampler": SamplerConfig, "training": TrainConfig}
KIND_NAMES = {str: ("a string", "strings"), int: ("a whole number", "whole numbers"), float: ("a number", "numbers"),
              bool: ("true or false", "true/false values")}
"""How a TOML value of each Python type is named to a user (never by the Python class)."""


def toml_value(value, compact: bool = False) -> str:
    """A value as TOML writes it (``true``, ``"text"``, ``[1.0, 3.0]``): what the user typed, not Python's repr
    (``compact``: without spaces, to paste after ``--set KEY=``)."""
    return json.dumps(list(value) if isinstance(value, tuple) else value, ensure_ascii=False,
                      separators=(",", ":") if compact else None)


def describe(kinds: tuple) -> str:
    """``(list, str)`` → "a string or a list of strings"; a number that may be whole or not is "a number"."""
    scalar = [k for k in kinds if k is not list and not (k is int and float in kinds)]
    text = " or ".join(KIND_NAMES[k][0] for k in scalar)
    if list in kinds:
        text += f" or a list of {' or '.join(KIND_NAMES[k][1] for k in scalar)}"
    return text


def line_of(text: str, table: str | None, key: str) -> int | None:
    """The line of ``key`` in ``[table]`` (None: top level) of a TOML text, for error messages; a key written
    dotted (``sampler.mix_prob = 0.3``) or in an inline table (``sampler = {mix_prob = 0.3}``) at the top level
    is found by its line too."""
    current, fallback = None, None
    for number, line in enumerate(text.splitlines(), 1):
        header = re.match(r"^\s*\[([^\]]+)\]\s*(#.*)?$", line)
        if header:
            current = header.group(1).strip()
        elif current == table and re.match(rf"^\s*{re.escape(key)}\s*=", line):
            return number
        elif table is not None and current is None and fallback is None:
            if re.match(rf"^\s*{re.escape(table)}\s*\.\s*{re.escape(key)}\s*=", line):
                return number
            if re.match(rf"^\s*{re.escape(table)}\s*=", line):
                fallback = number
    return fallback


def line_of_table(text: str, table: str) -> int | None:
    """The line of a table's header ``[table]``, or of ``table = {…}`` / ``table.key = …`` at the top level."""
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(rf"^\s*\[\s*{re.escape(table)}\s*\]", line) or re.match(rf"^\s*{re.escape(table)}\s*[.=]", line):
            return number
    return None


class Experiment:
    """Run keys and the sampler and training configs of one experiment file (plus ``--set`` values)."""

    def __init__(self, path: Path | None = None):
        self.path, self.text = path, ""
        self.run: dict = {}
        self.sampler, self.training = SamplerConfig(), TrainConfig()
        self.origins: dict[tuple[str | None, str], str] = {}  # (table, key) → where its value was set
        self._setting: str | None = None  # the --set KEY=VALUE being applied, None while reading the file
        if path is not None:
            self._load(Path(path))

    @property
    def source(self) -> str:
        return "the experiment file" if self._setting is None else "--set KEY=VALUE"

    def where(self, table: str | None, key: str) -> str:
        """Where a value was set: ``FILE, line N`` or ``--set KEY=VALUE`` (a value set before names its origin)."""
        if self._setting is not None:
            return f"--set {self._setting}"
        if (table, key) in self.origins:
            return self.origins[table, key]
        if self.path is None:
            return "--set"
        line = line_of(self.text, table, key)
        return f"{self.path}, line {line}" if line else str(self.path)

    def _where_table(self, table: str) -> str:
        if self._setting is not None:
            return f"--set {self._setting}"
        line = line_of_table(self.text, table)
        return f"{self.path}, line {line}" if line else str(self.path)

    def _load(self, path: Path) -> None:
        fix = "give the path of a UTF-8 TOML file (see experiments/ for examples)"
        try:
            self.text = path.read_text(encoding="utf-8")
            data = tomllib.loads(self.text)
        except FileNotFoundError:
            raise SergenError("the experiment file does not exist", where=str(path), fix=fix) from None
        except IsADirectoryError:
            raise SergenError("the experiment file is a folder, not a file", where=str(path), fix=fix) from None
        except UnicodeDecodeError as exc:
            raise SergenError(f"the experiment file is not UTF-8 text (byte {exc.start} cannot be read as text): "
                              "it is not a TOML file", where=str(path), fix=fix) from None
        except PermissionError:
            raise SergenError("the experiment file cannot be read: no permission to read it", where=str(path),
                              fix="give a file you may read (check its permissions)") from None
        except tomllib.TOMLDecodeError as exc:
            raise SergenError(f"the experiment file is not valid TOML: {exc}", where=str(path),
                              fix="fix the line named (strings in quotes, lists in [ ], true/false in lower case)"
                              ) from None
        for key, value in data.items():
            if isinstance(value, dict):
                self.set_value(key, None, value)
            else:
                self.set_value(None, key, value)

    def set_value(self, table: str | None, key: str | None, value) -> None:
        if key is None:  # a whole table
            if table not in TABLES:
                raise self._unknown_table(table)
            for k, v in value.items():
                self.set_value(table, k, v)
            return
        if table is None:
            self._set_run(key, value)
        else:
            self._set_config(table, key, value)
        if self._setting is None:
            self.origins[table, key] = self.where(table, key)
        else:
            self.origins[table, key] = f"--set {self._setting}"

    def _unknown_table(self, table: str) -> SergenError:
        known = ", ".join(f"[{t}]" for t in TABLES)
        close = [t for t in TABLES if t.lower() == str(table).strip().lower()]
        if self._setting is not None:
            return SergenError(f"unknown section {table!r} in --set KEY=VALUE; known: {', '.join(TABLES)}",
                               where=f"--set {self._setting}",
                               fix=f"write {close[0]}.KEY (names are case-sensitive)" if close else
                               "e.g. --set sampler.mix_prob=0.3 or --set training.lr=0.0005")
        return SergenError(f"unknown table [{table}] in the experiment file; known: {known}",
                           where=self._where_table(table),
                           fix=f"write [{close[0]}] (table names are case-sensitive)" if close else
                           "rename it to one of them, or delete it")

    def _set_run(self, key: str, value) -> None:
        if key in TABLES:  # ``sampler = 3``: a table's name given a value
            known = ", ".join(f.name for f in fields(TABLES[key]))
            first = fields(TABLES[key])[0].name
            default = getattr(TABLES[key](), first)
            example = f"{first} = {toml_value(default)}"
            if self._setting is not None:
                raise SergenError(f"{key} is a section of settings, not a value; its keys: {known}",
                                  where=self.where(None, key),
                                  fix=f"set one key, e.g. --set {key}.{first}={toml_value(default, compact=True)}")
            raise SergenError(f"{key} = {toml_value(value)}: [{key}] is a table of settings, not a value; "
                              f"its keys: {known}", where=self.where(None, key),
                              fix=f"write the table header [{key}] on its own line, then KEY = VALUE lines "
                                  f"below it, e.g. {example}")
        if key not in RUN_KEYS:
            raise SergenError(f"unknown key {key!r} in {self.source}; known: {', '.join(RUN_KEYS)}, and "
                              f"the tables {', '.join(f'[{t}]' for t in TABLES)}", where=self.where(None, key),
                              fix="rename or delete it" if self._setting is None else
                              "use a known key, e.g. --set seeds=[0,1] or --set sampler.mix_prob=0.3")
        kinds = RUN_KEYS[key]
        items = value if isinstance(value, list) and list in kinds else [value]
        scalar = tuple(k for k in kinds if k is not list)
        bad = [v for v in items if not isinstance(v, scalar) or (isinstance(v, bool) and bool not in scalar)]
        if bad or (isinstance(value, list) and list not in kinds):
            want = describe(kinds)
            raise SergenError(f"{key} = {toml_value(value)}: expected {want}", where=self.where(None, key),
                              fix=f"give {key} as {want}")
        self.run[key] = value

    def _set_config(self, table: str, key: str, value) -> None:
        cls = TABLES[table]
        known = {f.name for f in fields(cls)}
        if key not in known:
            raise SergenError(f"unknown key {key!r} in [{table}]; known: {', '.join(sorted(known))}",
                              where=self.where(table, key), fix="rename or delete it" if self._setting is None else
                              f"e.g. --set {table}.{sorted(known)[0]}=…")
        default = getattr(cls(), key)
        example = (f"{key} = {toml_value(default)}" if self._setting is None else
                   f"--set {table}.{key}={toml_value(default, compact=True)}")
        want = self._expected(default)
        if want is not None and not self._fits(default, value):
            raise SergenError(f"[{table}] {key} = {toml_value(value)}: expected {want}", where=self.where(table, key),
                              fix=f"e.g. {example} (the default)")
        if isinstance(value, list):
            value = tuple(value)
        try:
            setattr(self, table, replace(getattr(self, table), **{key: value}))
        except ValueError as exc:
            other = {"min_steps": "max_steps", "max_steps": "min_steps"}.get(key) if table == "training" else None
            if other and "must not exceed max_steps" in str(exc):
                steps = {key: value, other: getattr(self.training, other)}
                origin = self.origins.get((table, other))
                raise SergenError(f"[training] min_steps = {steps['min_steps']} is above max_steps = "
                                  f"{steps['max_steps']}: the warm-up, before which no head is kept, would outlast "
                                  "the run", where=self.where(table, key) + (f"; {other}: {origin}" if origin else ""),
                                  fix="give min_steps at most max_steps, or leave min_steps out (its default, 500, "
                                      "is cut to max_steps)") from None
            raise SergenError(f"[{table}] {key} = {toml_value(value)} is out of range: {exc}",
                              where=self.where(table, key), fix=f"e.g. {example} (the default)") from None

    @staticmethod
    def _expected(default) -> str | None:
        if isinstance(default, bool):
            return "true or false"
        if isinstance(default, int):
            return "a whole number"
        if isinstance(default, float):
            return "a number"
        if isinstance(default, tuple):
            return f"a list of {len(default)} numbers [min, max]" if len(default) == 2 else f"a list of {len(default)} numbers"
        return None

    @staticmethod
    def _fits(default, value) -> bool:
        def number(v):
            return isinstance(v, (int, float)) and not isinstance(v, bool)

        if isinstance(default, bool):
            return isinstance(value, bool)
        if isinstance(default, int):
            return isinstance(value, int) and not isinstance(value, bool)
        if isinstance(default, float):
            return number(value)
        if isinstance(default, tuple):
            return isinstance(value, list) and len(value) == len(default) and all(number(v) for v in value)
        return True

    def apply_sets(self, assignments: list[str]) -> "Experiment":
        """``section.key=value`` (a run key without a section), the value in TOML syntax (``0.3``, ``[1, 3]``,
        ``"native"``; a bare word is taken as a string)."""
        for item in assignments:
            self._setting = item
            try:
                self._apply_set(item)
            finally:
                self._setting = None
        return self

    def _apply_set(self, item: str) -> None:
        if "=" not in item or not item.split("=", 1)[0].strip():
            raise SergenError(f"--set {item!r}: expected KEY=VALUE", where=f"--set {item}",
                              fix="e.g. --set sampler.mix_prob=0.3, --set training.lr=0.0005 or --set seeds=[0,1]")
        name, raw = (part.strip() for part in item.split("=", 1))
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        table, _, key = name.rpartition(".")
        if table and table not in TABLES:
            raise self._unknown_table(table)
        self.set_value(table or None, key, value)

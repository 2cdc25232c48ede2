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

import re
import tomllib
from dataclasses import fields, replace
from pathlib import Path

from sergen.errors import SergenError
from sergen.train.loop import TrainConfig
from sergen.train.sampler import SamplerConfig

RUN_KEYS = {"models": (list, str), "model": (str,), "train": (str,), "test": (str,), "heads": (list, str),
            "head": (str,), "seeds": (list, int), "seed": (int,), "scramble": (list, bool), "aug_share": (list, float, int),
            "norm": (list, str), "pool": (list, str), "labels": (str,), "folds": (str,), "protocol": (str,), "layer": (str, int),
            "n_boot": (int,)}
TABLES = {"sampler": SamplerConfig, "training": TrainConfig}


def line_of(text: str, table: str | None, key: str) -> int | None:
    """The line of ``key`` in ``[table]`` (None: top level) of a TOML text, for error messages."""
    current = None
    for number, line in enumerate(text.splitlines(), 1):
        header = re.match(r"^\s*\[([^\]]+)\]\s*(#.*)?$", line)
        if header:
            current = header.group(1).strip()
        elif current == table and re.match(rf"^\s*{re.escape(key)}\s*=", line):
            return number
    return None


class Experiment:
    """Run keys and the sampler and training configs of one experiment file (plus ``--set`` values)."""

    def __init__(self, path: Path | None = None):
        self.path, self.text = path, ""
        self.run: dict = {}
        self.sampler, self.training = SamplerConfig(), TrainConfig()
        if path is not None:
            self._load(Path(path))

    def where(self, table: str | None, key: str) -> str:
        if self.path is None:
            return "--set"
        line = line_of(self.text, table, key)
        return f"{self.path}, line {line}" if line else str(self.path)

    def _load(self, path: Path) -> None:
        try:
            self.text = path.read_text(encoding="utf-8")
            data = tomllib.loads(self.text)
        except FileNotFoundError:
            raise SergenError("the experiment file does not exist", where=str(path),
                              fix="give the path of a TOML file (see experiments/ for examples)") from None
        except (UnicodeDecodeError, IsADirectoryError, PermissionError) as exc:
            raise SergenError(f"the experiment file cannot be read ({type(exc).__name__})", where=str(path),
                              fix="give a readable UTF-8 TOML file") from None
        except tomllib.TOMLDecodeError as exc:
            raise SergenError(f"the experiment file is not valid TOML: {exc}", where=str(path),
                              fix="fix the line named (strings in quotes, lists in [ ])") from None
        for key, value in data.items():
            if isinstance(value, dict):
                self.set_value(key, None, value)
            else:
                self.set_value(None, key, value)

    def set_value(self, table: str | None, key: str | None, value) -> None:
        if key is None:  # a whole table
            if table not in TABLES:
                raise SergenError(f"unknown table [{table}] in the experiment file; known: "
                                  f"{', '.join(f'[{t}]' for t in TABLES)}", where=self.where(None, f"[{table}]"),
                                  fix="rename or delete it")
            for k, v in value.items():
                self.set_value(table, k, v)
            return
        if table is None:
            self._set_run(key, value)
        else:
            self._set_config(table, key, value)

    def _set_run(self, key: str, value) -> None:
        if key not in RUN_KEYS:
            raise SergenError(f"unknown key {key!r} in the experiment file; known: {', '.join(RUN_KEYS)}, and "
                              f"the tables {', '.join(f'[{t}]' for t in TABLES)}", where=self.where(None, key),
                              fix="rename or delete it")
        kinds = RUN_KEYS[key]
        items = value if isinstance(value, list) and list in kinds else [value]
        scalar = tuple(k for k in kinds if k is not list)
        bad = [v for v in items if not isinstance(v, scalar) or (isinstance(v, bool) and bool not in scalar)]
        if bad or (isinstance(value, list) and list not in kinds):
            want = " or ".join(k.__name__ for k in scalar) + (" (or a list of them)" if list in kinds else "")
            raise SergenError(f"{key} = {value!r}: expected {want}", where=self.where(None, key),
                              fix=f"give {key} as {want}")
        self.run[key] = value

    def _set_config(self, table: str, key: str, value) -> None:
        cls = TABLES[table]
        known = {f.name for f in fields(cls)}
        if key not in known:
            raise SergenError(f"unknown key {key!r} in [{table}]; known: {', '.join(sorted(known))}",
                              where=self.where(table, key), fix="rename or delete it")
        if isinstance(value, list):
            value = tuple(value)
        current = getattr(self, table)
        default = getattr(cls(), key)
        if isinstance(default, bool) != isinstance(value, bool) or (
                isinstance(default, (int, float)) and not isinstance(value, (int, float))):
            raise SergenError(f"[{table}] {key} = {value!r}: expected a {type(default).__name__} like {default!r}",
                              where=self.where(table, key), fix=f"e.g. {key} = {default!r}")
        if isinstance(default, int) and not isinstance(default, bool) and isinstance(value, float):
            raise SergenError(f"[{table}] {key} = {value!r}: expected a whole number", where=self.where(table, key),
                              fix=f"e.g. {key} = {default!r}")
        try:
            setattr(self, table, replace(current, **{key: value}))
        except (ValueError, TypeError) as exc:
            raise SergenError(f"[{table}] {key} = {value!r} is out of range: {exc}", where=self.where(table, key),
                              fix="see the defaults in `sergen.train.sampler.SamplerConfig` / "
                                  "`sergen.train.loop.TrainConfig`") from None

    def apply_sets(self, assignments: list[str]) -> "Experiment":
        """``section.key=value`` (a run key without a section), the value in TOML syntax (``0.3``, ``[1, 3]``,
        ``"native"``; a bare word is taken as a string)."""
        saved = self.path
        self.path = None  # errors name --set
        for item in assignments:
            if "=" not in item:
                raise SergenError(f"--set {item!r}: expected KEY=VALUE, e.g. sampler.mix_prob=0.3")
            name, raw = (part.strip() for part in item.split("=", 1))
            try:
                value = tomllib.loads(f"v = {raw}")["v"]
            except tomllib.TOMLDecodeError:
                value = raw
            table, _, key = name.rpartition(".")
            if table and table not in TABLES:
                raise SergenError(f"--set {item!r}: unknown section {table!r}; known: {', '.join(TABLES)}")
            self.set_value(table or None, key, value)
        self.path = saved
        return self

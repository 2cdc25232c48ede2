"""What every head shares: the registry of head classes, their keyword hyper-parameters and how those are
written in a run (``--head-opt hidden=64x128,dropout=0.3``). The input modules (standardisation, the learned
weighted sum of layers) and the MLP body are torch code, in ``head_modules``.

A head is a small frozen dataclass: its fields are its hyper-parameters, checked in the constructor, and
``build`` makes the torch module for a given input. This module and the heads' declarations import no torch
(``build`` imports it, with the shared blocks of ``head_modules``), so the CLI reads the registry for its
choices and help at start-up without it. Why a class and not a factory function: the
hyper-parameters become data a run spec can hold, and a head's defaults are declared once (its fields), so a
run at today's defaults writes no option and keeps today's run id."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

from sergen.errors import SergenError
from sergen.registry import Registry

HEADS: Registry = Registry("head", hint=lambda: f"heads: {head_choices()[1]}")


def head_choices() -> tuple[str, str]:
    """The registered heads as the CLI's help names them (each with its ``summary``) and as an error lists them
    (each with its ``note``), so a head registered is a choice everywhere with no other edit."""
    def listed(attribute: str) -> str:
        parts = [f"{name} ({getattr(HEADS.get(name), attribute)})" if getattr(HEADS.get(name), attribute) else name
                 for name in HEADS.names()]
        return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} or {parts[-1]}"

    return listed("summary"), listed("note")


@dataclass(frozen=True)
class Head:
    """A head's hyper-parameters; subclasses add fields (their defaults are the poster's settings)."""

    adversarial: ClassVar[bool] = False  # learns against the corpus of each training window (mlp-dann)
    sequence: ClassVar[bool] = False  # sees windows of frames, not their mean (attn, cnn)
    note: ClassVar[str] = ""  # what a user must know when choosing it, in the list of heads an error gives
    summary: ClassVar[str] = ""  # what it is, in the CLI's help

    def build(self, dim: int, n_classes: int, mean, std, n_corpora: int = 1, n_layers: int = 1,
              layer_width: int | None = None) -> "torch.nn.Module":
        raise NotImplementedError

    def changed(self) -> dict:
        """The hyper-parameters that differ from the class's defaults (what a run spec records)."""
        default = type(self)()
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != getattr(default, f.name)}


MAX_WIDTH = 16384
"""Most units in one layer of a head: wider layers only exhaust memory (a width typed with extra digits, say,
asked torch for 51 GB and ended in its traceback)."""
MAX_LAYERS = 8


def check_width(name: str, value, most: int = MAX_WIDTH) -> None:
    """A whole number of units from 1 to ``most``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise ValueError(f"{name} must be a whole number of units from 1 to {most:,}, got {value!r}")


def check_hidden(hidden: tuple, dropout: float) -> None:
    """Constructor checks shared by the heads with an MLP."""
    if not hidden or any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden):
        raise ValueError(f"hidden must be one or more layer widths of 1 or more units, got {hidden!r}")
    if len(hidden) > MAX_LAYERS or max(hidden) > MAX_WIDTH:
        raise ValueError(f"hidden: at most {MAX_LAYERS} layers of at most {MAX_WIDTH:,} units each, got "
                         f"{'x'.join(map(str, hidden))}")
    check_dropout(dropout)


def check_dropout(dropout: float) -> None:
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must lie from 0 up to (not including) 1, got {dropout}")


# ------------------------------------------------------------------ hyper-parameters as run options
def _value_text(value) -> str:
    if isinstance(value, tuple):
        return "x".join(str(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _parse_value(text: str, default):
    """The text of one ``--head-opt`` value, read as the type of its default; a ValueError says what was wanted
    in words (not Python's ``int()`` wording)."""
    if isinstance(default, bool):
        if text.lower() not in ("true", "false", "yes", "no", "1", "0"):
            raise ValueError(f"{text!r} is not true or false")
        return text.lower() in ("true", "yes", "1")
    if isinstance(default, tuple):
        parts = text.split("x")
        if not all(p.strip().isdigit() for p in parts):
            raise ValueError(f"{text!r} is not whole numbers joined by x")
        return tuple(int(p) for p in parts)
    if isinstance(default, int):
        if not text.strip().lstrip("+-").isdigit():
            raise ValueError(f"{text!r} is not a whole number")
        return int(text)
    if isinstance(default, float):
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
    return type(default)(text)


def head_options_text(values: dict) -> str:
    """``{"hidden": (64, 128), "dropout": 0.3}`` → ``dropout=0.3,hidden=64x128`` (sorted: one spelling, one id)."""
    return ",".join(f"{k}={_value_text(values[k])}" for k in sorted(values))


def parse_head_options(text: str) -> dict[str, str]:
    """``key=value,key=value`` → {key: value text}; refused when a pair has no ``=`` or a key repeats."""
    out: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in (text or "").split(","))):
        key, eq, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not eq or not key or not value.strip():
            raise SergenError(f"--head-opt {text!r}: {pair!r} is not key=value",
                              fix="write the options as key=value pairs, comma-separated, e.g. "
                                  "--head-opt hidden=64x128,dropout=0.3")
        if key in out:
            raise SergenError(f"--head-opt {text!r} sets {key} twice", fix=f"give {key} once")
        out[key] = value.strip()
    return out


def head_keys(name: str) -> tuple[str, ...]:
    return tuple(f.name for f in fields(HEADS.get(name)))


def make_head_object(name: str, options: str = "") -> Head:
    """The head ``name`` with the hyper-parameters of ``options`` (``--head-opt``), checked: an unknown key
    or a bad value is a SergenError naming the head's keys and defaults."""
    cls = HEADS.get(name)
    canon = HEADS.canonical(name)
    default = cls()
    known = {f.name: getattr(default, f.name) for f in fields(cls)}
    shown = head_options_text(known) or "none"
    values = {}
    for key, text in parse_head_options(options).items():
        if key not in known:
            raise SergenError(f"--head-opt {key}: head {canon} has no such hyper-parameter; its hyper-parameters "
                              f"(defaults): {shown}", fix=f"give one of them, or leave --head-opt out")
        try:
            values[key] = _parse_value(text, known[key])
        except ValueError as exc:
            raise SergenError(f"--head-opt {key}={text}: not a value of {key} ({exc})",
                              fix=f"write it like the default: {key}={_value_text(known[key])}") from None
    try:
        return cls(**values)
    except ValueError as exc:
        raise SergenError(f"--head-opt {options!r} for head {canon}: {exc}",
                          fix=f"its hyper-parameters (defaults): {shown}") from None


def canonical_head_options(name: str, options: str) -> str:
    """``options`` as a run spec records them: checked, sorted, defaults dropped ("" at every default)."""
    return head_options_text(make_head_object(name, options).changed())


def options_for(name: str, options: str) -> str:
    """Of a grid's ``--head-opt``, the pairs head ``name`` takes (a grid of several heads shares one list)."""
    keys = head_keys(name)
    return ",".join(f"{k}={v}" for k, v in parse_head_options(options).items() if k in keys)


def shown_head(name: str, options: str = "") -> str:
    """A head as tables name it: ``mlp``, or ``mlp[dropout=0.3]`` away from its defaults."""
    return f"{name}[{options}]" if options else name

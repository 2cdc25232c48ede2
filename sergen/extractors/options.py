"""An extractor's own options, typed and declared once: a frozen dataclass per extractor (its ``Options``),
each field made with :func:`option` (default, help, how a string from ``--opt key=value`` or the Makefile
becomes a value, and what values are allowed).

Validation, ``sergen models ls``, the preflight check and ``--opt`` all read the declaration, so an extractor
gains an option by adding one field to its ``Options`` and reading ``self.config.<name>`` — no CLI flag, no
Makefile variable, no list of names elsewhere."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from sergen.errors import SergenError


def option(default: Any, help: str, parse: Callable[[Any], Any] = str, choices: tuple = (),
           flag: str | None = None) -> Any:
    """A field of an ``Options`` dataclass. ``parse`` turns the value given (a string from the command line, or
    a typed value from Python) into the field's type and raises ``ValueError`` on a bad one; ``choices`` limit
    it; ``flag`` names an older dedicated flag (``--layers``) that sets the same option."""
    return dataclasses.field(default=default, metadata={"help": help, "parse": parse, "choices": tuple(choices),
                                                        "flag": flag})


@dataclasses.dataclass(frozen=True)
class NoOptions:
    """The options of an extractor that takes none."""


def fields(options_class: type) -> list[dataclasses.Field]:
    return list(dataclasses.fields(options_class))


def flag_of(name: str, options_class: type | None = None) -> str:
    """How the user gives option ``name``: its dedicated flag where it has one, else ``--opt name=…``."""
    for field in fields(options_class) if options_class else []:
        if field.name == name and field.metadata["flag"]:
            return field.metadata["flag"]
    return f"--opt {name}=…"


def describe(options_class: type) -> str:
    """``name=default (help)`` per option, for ``models ls`` and error messages."""
    parts = []
    for field in fields(options_class):
        default = field.default
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else ("default" if default is None else default)
        choices = f"; one of {', '.join(map(str, field.metadata['choices']))}" if field.metadata["choices"] else ""
        parts.append(f"{field.name}={shown} ({field.metadata['help']}{choices})")
    return "; ".join(parts) or "none"


def build(options_class: type, given: dict, model: str) -> Any:
    """The typed options of ``model`` from ``given`` (name → value, strings allowed): an unknown name or a value
    its field cannot take is a :class:`SergenError` naming the option, the model and what it takes."""
    known = {field.name: field for field in fields(options_class)}
    values = {}
    for name, value in given.items():
        if name not in known:
            declared = _declaring(name)
            flag = flag_of(name, declared) if declared else ""
            raise SergenError(f"{model} takes no {flag} option" if flag.startswith("--") and "=" not in flag
                              else f"{model} takes no option {name!r}",
                              fix=_unknown_fix(name, model, options_class))
        field = known[name]
        if value is None:
            continue
        try:
            parsed = field.metadata["parse"](value)
        except (TypeError, ValueError) as exc:
            raise SergenError(f"{model}: {name}={value!r} is not valid" + (f" ({exc})" if str(exc) else ""),
                              fix=f"{name}: {field.metadata['help']}") from None
        choices = field.metadata["choices"]
        if choices and parsed not in choices:
            raise SergenError(f"{model}: {name}={parsed!r} is not one of its choices",
                              fix=f"choose one of {', '.join(map(str, choices))} ({field.metadata['help']})")
        values[name] = parsed
    return options_class(**values)


def key_values(pairs: list[str]) -> dict[str, str]:
    """``["hop_seconds=0.5", "layers=6,12"]`` (repeated ``--opt``) → a dict; a pair without ``=``, an empty name
    or a name given twice is refused."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise SergenError(f"--opt {pair!r} is not of the form key=value",
                              fix="write e.g. --opt hop_seconds=0.5 (`sergen models ls` lists each model's options)")
        if name in out:
            raise SergenError(f"--opt {name} is given twice ({out[name]!r} and {value!r})", fix="give it once")
        out[name] = value.strip()
    return out


def _declaring(name: str) -> type | None:
    """Some extractor's options class that declares ``name`` (for its flag's spelling), else None."""
    for _, options_class in _every_options():
        if name in {field.name for field in fields(options_class)}:
            return options_class
    return None


def _unknown_fix(name: str, model: str, options_class: type) -> str:
    users = [who for who, declared in _every_options() if name in {f.name for f in fields(declared)}]
    takes = describe(options_class)
    where = f" ({flag_of(name, _declaring(name))} is for {', '.join(users)})" if users else ""
    return f"leave it out{where}; " + (f"{model} takes: {takes}" if takes != "none" else f"{model} takes no options")


DECLARED: dict[str, type] = {}
"""Model name → its options class, for every extractor class that declares options (filled as the classes are
defined: ``Extractor.__init_subclass__``), so an error can say which models take an option."""


def _every_options() -> list[tuple[str, type]]:
    return list(DECLARED.items())

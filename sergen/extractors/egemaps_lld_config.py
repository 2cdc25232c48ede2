"""The eGeMAPSv02 openSMILE config cut down to what its frame-level LLDs need.

The bundled ``eGeMAPSv02.conf`` builds one graph for both levels: the 25 LLDs (level ``lld``) and the 88
functionals, with the GeMAPSv01b LLD sets, voiced/unvoiced selections and their smoothers that only the
functionals read. openSMILE runs every component whatever the sink reads, so sergen, which stores the LLDs
only, paid for all of it: 71 components, of which 30 make the LLDs. Dropping the other 41 cut eGeMAPS's
CPU seconds by ~18 % on the demo's audio, with the frames unchanged bit for bit (they are computed by the
same components from the same inputs; ``tests/test_egemaps_lld_config.py``).

The cut config is derived from the installed opensmile's own files (includes inlined, components kept by
walking back from the ``lld`` level's readers), not copied: it follows the opensmile version in use.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

LLD_LEVEL = "lld"
_INCLUDE = re.compile(r"^\\\{([^\\}]+)\}\s*$")  # \{relative/path.inc}; \{\cm[...]} are options, kept as text
_SECTION = re.compile(r"^\[([^:\]]+):(\w+)\]")
_INSTANCE = re.compile(r"^\s*instance\[(\w+)\]\.type")
_READER = re.compile(r"^\s*\w*[Rr]eader\d*\.dmLevel\s*=\s*(.*)$")
_WRITER = re.compile(r"^\s*writer\.dmLevel\s*=\s*(\S+)")
_KEPT_WITH_ANY_SECTION = ("\\{\\cm[sink", "\\{\\cm[source")  # the external source/sink includes
_MANAGER = "componentInstances"
_ALWAYS_KEPT = {"dataMemory"}


@dataclass
class _Section:
    header: str
    lines: list[str] = field(default_factory=list)

    @property
    def component(self) -> str | None:
        match = _SECTION.match(self.header)
        return match.group(1) if match and match.group(1) != _MANAGER else None

    def levels(self) -> tuple[set[str], set[str]]:
        """(levels read, levels written)."""
        read, written = set(), set()
        for line in self.lines:
            if match := _READER.match(line):
                read |= {level.strip() for level in match.group(1).split(";") if level.strip()}
            elif match := _WRITER.match(line):
                written.add(match.group(1))
        return read, written


def lld_only_config(config_path: str) -> str:
    """The text of ``config_path`` (inlined) with only the components that the ``lld`` level depends on.
    Relative ``\\cm[...]`` defaults are resolved against the original file's folder, so the text works
    wherever it is written."""
    sections = _sections(_inlined(config_path))
    needed = _components_for(LLD_LEVEL, sections)
    if not needed:
        raise ValueError(f"no component of {config_path} writes the level {LLD_LEVEL!r}")
    out: list[str] = []
    for section in sections:
        name = section.component
        if name is not None and name not in needed:
            out += [line for line in section.lines if line.strip().startswith(_KEPT_WITH_ANY_SECTION)]
            continue
        if section.header:
            out.append(section.header)
        for line in section.lines:
            instance = _INSTANCE.match(line)
            if instance and instance.group(1) not in needed | _ALWAYS_KEPT:
                continue
            out.append(line)
    return "\n".join(out) + "\n"


def _inlined(path: str) -> list[str]:
    folder = os.path.dirname(path)
    lines: list[str] = []
    with open(path, encoding="utf-8") as handle:
        for raw in handle:
            line = raw.rstrip("\n")
            match = _INCLUDE.match(line.strip())
            if match and not match.group(1).startswith("\\cm"):
                lines += _inlined(os.path.normpath(os.path.join(folder, match.group(1))))
            else:
                lines.append(_absolute_defaults(line, folder))
    return lines


def _absolute_defaults(line: str, folder: str) -> str:
    """``\\cm[name{../x.inc}:help]``: the default path made absolute (it was relative to ``folder``)."""
    def absolute(match: re.Match) -> str:
        default = match.group(2)
        if default.endswith(".inc") and not os.path.isabs(default):
            default = os.path.normpath(os.path.join(folder, default))
        return f"\\cm[{match.group(1)}{{{default}}}"

    return re.sub(r"\\cm\[(\w+)\{([^}]*)\}", absolute, line)


def _sections(lines: list[str]) -> list[_Section]:
    sections = [_Section("")]
    for line in lines:
        if _SECTION.match(line.strip()):
            sections.append(_Section(line.strip()))
        else:
            sections[-1].lines.append(line)
    return sections


def _components_for(level: str, sections: list[_Section]) -> set[str]:
    """Every component on a path to ``level``: its writers, their readers' writers, and so on."""
    graph = {s.component: s.levels() for s in sections if s.component is not None}
    needed: set[str] = set()
    wanted = {level}
    grew = True
    while grew:
        grew = False
        for name, (read, written) in graph.items():
            if name not in needed and written & wanted:
                needed.add(name)
                wanted |= read
                grew = True
    return needed

"""Pages made from the code: committed (so they read on GitHub too) and compared with a fresh regeneration on
every build, as an mkdocs hook, so a stale page fails ``mkdocs build --strict`` and so ``make test``.

- ``reference/cli.md``: every command and option, from the typer app (``sergen.cli.reference``);
- ``reference/run-options.md``: every run option, from the run-option schema (``sergen.spec.OPTIONS``);
- ``reference/registries.md``: the names each registry knows (corpora, extractors, views, heads).

Regenerate them with ``.venv/bin/python docs/hooks/reference.py``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
REGENERATE = ".venv/bin/python docs/hooks/reference.py"
log = logging.getLogger("mkdocs.plugins.sergen_reference")


def pages() -> dict[str, str]:
    """Page path under docs/ → its text, made from the code now."""
    from sergen.cli.reference import cli_reference

    return {"reference/cli.md": cli_reference(), "reference/run-options.md": run_options(),
            "reference/registries.md": registries()}


def stale_pages(docs: Path = DOCS) -> list[str]:
    """The generated pages whose committed text differs from a regeneration (or that are missing)."""
    stale = []
    for path, text in pages().items():
        page = docs / path
        if not page.is_file() or page.read_text(encoding="utf-8") != text:
            stale.append(path)
    return stale


def on_pre_build(config):
    for path in stale_pages(Path(config["docs_dir"])):
        log.warning(f"docs/{path} is stale: it differs from what the code gives now; regenerate it with "
                    f"`{REGENERATE}` and commit it")


def write_pages(docs: Path = DOCS) -> list[str]:
    written = []
    for path, text in pages().items():
        page = docs / path
        if not page.is_file() or page.read_text(encoding="utf-8") != text:
            page.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def _cell(value) -> str:
    text = " ".join(str(value).split())
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;") or "–"


def _code(value) -> str:
    return f"`{value!r}`" if not isinstance(value, str) else f'`"{value}"`'


def run_options() -> str:
    from sergen.spec import OPTIONS, REPORT_ROLES, UNSET

    lines = ["# Run options", "",
             "Every option of a probe or grid run, generated from its one declaration in `sergen/spec.py` (a site",
             "build fails when this page differs from it). The same name is the `ProbeSpec` field, the results column and the experiment-file key;",
             "the flag is the probe's, the plural the grid's (a comma list there). How to add one:",
             "[Extending sergen](../extending.md#a-run-option).", "",
             "| option | probe flag | grid flag | default | allowed | in the run id | report | remedy baseline | help |",
             "|---|---|---|---|---|---|---|---|---|"]
    for o in OPTIONS:
        in_id = "no" if not o.in_id else ("yes" if o.id_default is UNSET else f"yes, except at {_code(o.id_default)}")
        baseline = "–" if o.baseline is UNSET else _code(o.baseline)
        grid = f"`{o.grid_flag}`" if o.cli else "–"
        lines.append(f"| `{o.name}` | {f'`{o.flag}`' if o.cli else '–'} | {grid} | "
                     f"{'required' if o.default is None else _code(o.default)} | {_cell(o.allowed)} | {in_id} | "
                     f"{o.report} | {baseline} | {_cell(o.help)} |")
    lines += ["", "The report's roles:", ""]
    lines += [f"- `{role}`: {text}" for role, text in REPORT_ROLES.items()]
    return "\n".join(lines) + "\n"


def registries() -> str:
    from sergen.augment.base import VIEWS
    from sergen.corpora.base import CORPUS_READERS
    from sergen.extractors.base import EXTRACTORS
    from sergen.train.heads import HEADS
    import sergen.augment  # noqa: F401  (registers the views)
    import sergen.corpora  # noqa: F401  (registers the readers)
    import sergen.extractors  # noqa: F401  (registers the extractors)

    lines = ["# Registries", "",
             "The names sergen looks plug-ins up by, generated from the registries (a site build fails when this page",
             "differs from them). Each entry is",
             "registered with `@REGISTRY.register(name, *aliases)` (`sergen/registry.py`); nothing dispatches on",
             "if/elif chains over names. How to add one: [Extending sergen](../extending.md).", ""]
    for title, registry, module in (("Corpus readers", CORPUS_READERS, "sergen/corpora/"),
                                    ("Extractors", EXTRACTORS, "sergen/extractors/"),
                                    ("Augmentation views", VIEWS, "sergen/augment/views.py"),
                                    ("Heads", HEADS, "sergen/train/heads.py")):
        lines += [f"## {title}", "", f"Registry `{registry.kind}`, entries in `{module}`.", "",
                  "| name | aliases | defined in |", "|---|---|---|"]
        for name in registry.names():
            obj = registry.get(name)
            where = getattr(obj, "__module__", "") or ""
            lines.append(f"| `{name}` | {', '.join(f'`{a}`' for a in registry.aliases(name)) or '–'} | `{where}` |")
        lines.append("")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.path.insert(0, str(DOCS.parent))
    written = write_pages()
    print("\n".join(f"wrote docs/{p}" for p in written) or "every generated page is up to date")

"""mkdocs hook: pages made from the code when the site is built, so they can never go stale.

- ``reference/cli.md``: every command and option, from the typer app (``sergen.cli.reference``);
- ``reference/run-options.md``: every run option, from the run-option schema (``sergen.spec.OPTIONS``);
- ``reference/registries.md``: the names each registry knows (corpora, extractors, views, heads).
"""

from __future__ import annotations

from mkdocs.structure.files import File


def on_files(files, config):
    from sergen.cli.reference import cli_reference

    for path, text in (("reference/cli.md", cli_reference()), ("reference/run-options.md", run_options()),
                       ("reference/registries.md", registries())):
        files.append(File.generated(config, path, content=text))
    return files


def _cell(value) -> str:
    text = " ".join(str(value).split())
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;") or "–"


def _code(value) -> str:
    return f"`{value!r}`" if not isinstance(value, str) else f'`"{value}"`'


def run_options() -> str:
    from sergen.spec import OPTIONS, REPORT_ROLES, UNSET

    lines = ["# Run options", "",
             "Every option of a probe or grid run, read from its one declaration in `sergen/spec.py` when the site",
             "is built. The same name is the `ProbeSpec` field, the results column and the experiment-file key;",
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
             "The names sergen looks plug-ins up by, read from the registries when the site is built. Each entry is",
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

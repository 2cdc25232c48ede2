"""Pages made from the code: committed (so they read on GitHub too) and compared with a fresh regeneration on
every build, as an mkdocs hook, so a stale page fails ``mkdocs build --strict`` and so ``make test``.

- ``reference/cli.md``: every command and option, from the typer app (``sergen.cli.reference``);
- ``reference/run-options.md``: every run option, from the run-option schema (``sergen.spec.OPTIONS``);
- ``reference/registries.md``: the names each registry knows (corpora, extractors, views, heads, metrics); the
  heads' declarations import no torch, so listing them costs the build nothing.

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


def stale_pages(docs: Path = DOCS, made: dict[str, str] | None = None) -> list[str]:
    """The generated pages whose committed text differs from a regeneration (or that are missing)."""
    made = pages() if made is None else made
    return [path for path, text in made.items()
            if not (docs / path).is_file() or (docs / path).read_text(encoding="utf-8") != text]


def on_pre_build(config):
    for path in stale_pages(Path(config["docs_dir"])):
        log.warning(f"docs/{path} is stale: it differs from what the code gives now; regenerate it with "
                    f"`{REGENERATE}` and commit it")


def write_pages(docs: Path = DOCS) -> list[str]:
    """Rewrite the stale generated pages; returns their paths."""
    made = pages()
    stale = stale_pages(docs, made)
    for path in stale:
        (docs / path).write_text(made[path], encoding="utf-8")
    return stale


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
    lines += results_columns()
    return "\n".join(lines) + "\n"


RESULT_COLUMNS = {
    "n_train_corpora": "how many corpora the training set joins",
    "metric": None,  # the registered metrics, named in ``results_columns``
    "value": "the metric on the test corpus's test split",
    "ci_low": "the lower end of its seeded bootstrap 95 % interval (`n_boot` resamples)",
    "ci_high": "the upper end of that interval",
    "steps": "training steps taken",
    "best_step": "the step of the head that was kept (the best validation AUROC after the warm-up)",
    "val_auroc": "that head's validation AUROC",
    "n_test": "utterances in the test split",
    "absent_classes": "the run's classes the test split lacks, comma-separated",
    "in_training": "whether the test corpus is one of the training corpora (within) or not (across)",
    "synthetic": "whether the test corpus is a synthetic demo corpus",
    "sergen_version": "the sergen version that made the run",
    "run_id": "the run's id (`ProbeSpec.run_id`): the name of its files in `results/runs/`",
    "seconds": "wall-clock seconds of the run up to this row",
    "classes": "the head's outputs, in order, comma-separated",
    "corpus_id_acc": "how well the corpus can be read from the head's hidden features on held-out utterances "
                     "(multi-corpus runs with a hidden layer; chance 1/K)",
}


def results_columns() -> list[str]:
    """The columns of ``results/runs/<id>.csv`` in their saved order; one without a description is a warning,
    so a new column fails the strict build until it is described here."""
    from sergen.results import ROW_COLUMNS
    from sergen.spec import OPTIONS
    from sergen.train.metrics import METRICS

    options = {o.name for o in OPTIONS if o.row}
    lines = ["", "## Results columns", "",
             "The columns of a run's rows (`results/runs/<run_id>.csv`, `sergen.results.ROW_COLUMNS`) in their saved",
             "order: the run options above that are columns, and what the run measured.", "",
             "| column | what it holds |", "|---|---|"]
    for column in ROW_COLUMNS:
        if column in options:
            text = "the run option of that name (table above)"
        elif column == "metric":
            text = (f"one of the metrics ({', '.join(f'`{m}`' for m in METRICS)}): one row per test corpus and "
                    "metric ([Registries](registries.md#metrics))")
        elif column in RESULT_COLUMNS:
            text = RESULT_COLUMNS[column]
        else:
            log.warning(f"results column {column!r} has no description: add one to RESULT_COLUMNS in "
                        f"docs/hooks/reference.py")
            text = "–"
        lines.append(f"| `{column}` | {text} |")
    return lines


def registries() -> str:
    from sergen.augment.base import VIEWS
    from sergen.corpora.base import CORPUS_READERS
    from sergen.extractors.base import EXTRACTORS
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
                                    ("Augmentation views", VIEWS, "sergen/augment/views.py")):
        lines += [f"## {title}", "", f"Registry `{registry.kind}`, entries in `{module}`.", "",
                  "| name | aliases | defined in |", "|---|---|---|"]
        for name in registry.names():
            obj = registry.get(name)
            where = getattr(obj, "__module__", "") or ""
            lines.append(f"| `{name}` | {', '.join(f'`{a}`' for a in registry.aliases(name)) or '–'} | `{where}` |")
        lines.append("")
    lines += heads()
    lines += metrics()
    return "\n".join(lines) + "\n"


def heads() -> list[str]:
    from dataclasses import fields

    from sergen.train.head_base import head_options_text
    from sergen.train.heads import HEADS

    lines = ["## Heads", "", "Registry `head`, declared in `sergen/train/heads.py` and the modules it imports; the "
             "values of the `head` run option ([Run options](run-options.md)), their hyper-parameters set with "
             "`--head-opt`.", "",
             "| name | aliases | hyper-parameters (defaults) | what it is | defined in |", "|---|---|---|---|---|"]
    for name in HEADS.names():
        cls = HEADS.get(name)
        defaults = head_options_text({f.name: getattr(cls(), f.name) for f in fields(cls)})
        lines.append(f"| `{name}` | {', '.join(f'`{a}`' for a in HEADS.aliases(name)) or '–'} | "
                     f"{f'`{defaults}`' if defaults else '–'} | {_cell(cls.__doc__)} | "
                     f"`{cls.__module__}` |")
    return lines + [""]


def metrics() -> list[str]:
    from sergen.train.metrics import METRICS

    lines = ["## Metrics", "", "Registry `metric`, entries in `sergen/train/metrics.py` (`Metric`, "
             "`sergen/train/metric_base.py`). Every run scores each on every test corpus with its bootstrap interval;",
             "`sergen compare --metric` takes any of them.", "",
             "| name | heading | better | reads | poster's four | what it is |", "|---|---|---|---|---|---|"]
    for m in METRICS.all():
        lines.append(f"| `{m.name}` | {_cell(m.title)} | {'higher' if m.higher_is_better else 'lower'} | "
                     f"{'probabilities' if m.needs_proba else 'predicted class'} | {'yes' if m.poster else 'no'} | "
                     f"{_cell(m.help)} |")
    return lines + [""]


if __name__ == "__main__":
    sys.path.insert(0, str(DOCS.parent))
    written = write_pages()
    print("\n".join(f"wrote docs/{p}" for p in written) or "every generated page is up to date")

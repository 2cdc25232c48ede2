"""The package's layering, enforced: a module imports only its own layer or lower ones, and no two modules
import each other, directly or around a loop (imports inside functions count: they tie modules together
as surely, only later). Exemptions are few, named with a reason, and must stay needed."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import sergen
from tests.import_graph import describe, find_cycles, import_graph, layer_of, module_names, upward_imports

PACKAGE = Path(sergen.__file__).parent

LAYERS = [  # top first; a module belongs to the layer of its longest listed prefix
    ("cli", ("sergen.cli",)),
    ("demo", ("sergen.demo",)),
    ("experiments", ("sergen.experiments", "sergen.report")),
    ("records", ("sergen.results", "sergen.experiments.protocol_join", "sergen.experiments.store_index")),
    ("extraction", ("sergen.extract", "sergen.extract_window", "sergen.extract_pool", "sergen.extract_devices", "sergen.preflight", "sergen.scale",
                    "sergen.batch_check")),
    ("data", ("sergen.store", "sergen.protocols", "sergen.corpora", "sergen.train", "sergen.extractors",
              "sergen.augment", "sergen.audio_digest")),
    ("audio", ("sergen.audio", "sergen.audio_containers")),
    ("base", ("sergen", "sergen.config", "sergen.errors", "sergen.registry", "sergen.bounds", "sergen.console",
              "sergen.paths")),
]

ALLOWED = {  # (importer, imported): why this import may run against the layering
    ("sergen", "sergen.store.reader"): "the public `sergen.open_store` (README) is the store reader's; imported "
                                       "when called",
    ("sergen", "sergen.store.ref"): "the public `sergen.open_store` (README) makes or takes a store handle; "
                                    "imported when called",
}


@pytest.fixture(scope="module")
def edges():
    return import_graph(PACKAGE)


def enforced(edges):
    return [e for e in edges if (e.source, e.target) not in ALLOWED]


def test_every_module_lies_in_a_layer():
    assert [m for m in module_names(PACKAGE) if not _in_a_layer(m)] == []


def _in_a_layer(module: str) -> bool:
    try:
        layer_of(module, LAYERS)
    except KeyError:
        return False
    return True


def test_no_module_imports_a_higher_layer(edges):
    assert [describe(e, LAYERS) for e in upward_imports(enforced(edges), LAYERS)] == []


def test_no_import_cycles_between_modules(edges):
    assert find_cycles(enforced(edges)) == []


def test_every_exemption_is_still_needed(edges):
    """An exemption whose import is gone, or now runs down the layers outside any cycle, is stale."""
    upward = {(e.source, e.target) for e in upward_imports(edges, LAYERS)}
    cyclic = {m for component in find_cycles(edges) for m in component}
    present = {(e.source, e.target) for e in edges}
    stale = [pair for pair in ALLOWED if pair not in present
             or (pair not in upward and not {pair[0], pair[1]} <= cyclic)]
    assert stale == []


# self-tests: the checks catch what they are for, on a planted package


def plant(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


PLANTED_LAYERS = [("top", ("pkg.top",)), ("mid", ("pkg.mid",)), ("low", ("pkg", "pkg.low"))]


def test_an_upward_import_inside_a_function_is_caught(tmp_path):
    root = plant(tmp_path, {
        "__init__.py": "",
        "top.py": "from pkg.mid import helper\n",
        "mid/__init__.py": "def helper():\n    return 1\n",
        "mid/deep.py": "from . import helper\n\n\ndef later():\n    from ..top import x\n    return x\n",
        "low.py": "import os\n",
    })
    edges = import_graph(root)
    assert {(e.source, e.target, e.deferred) for e in edges} == {
        ("pkg.top", "pkg.mid", False), ("pkg.mid.deep", "pkg.mid", False), ("pkg.mid.deep", "pkg.top", True)}
    [bad] = upward_imports(edges, PLANTED_LAYERS)
    assert describe(bad, PLANTED_LAYERS) == "pkg.mid.deep:5 (mid) imports pkg.top (top) in a function"


def test_a_cycle_through_a_deferred_relative_import_is_caught(tmp_path):
    root = plant(tmp_path, {
        "__init__.py": "",
        "low.py": "from pkg import mid\n",
        "mid/__init__.py": "import pkg.top\n",
        "top.py": "def f():\n    from .low import g\n",
        "other.py": "import pkg.low\n",
    })
    edges = import_graph(root)
    assert find_cycles(edges) == [["pkg.low", "pkg.mid", "pkg.top"]]
    assert find_cycles([e for e in edges if e.source != "pkg.top"]) == []


def test_a_submodule_named_in_from_import_is_the_target(tmp_path):
    """``from pkg.mid import deep`` imports the module ``pkg.mid.deep``, not just the package."""
    root = plant(tmp_path, {"__init__.py": "", "mid/__init__.py": "", "mid/deep.py": "",
                            "top.py": "from pkg.mid import deep, missing\nfrom pkg import *\n"})
    assert sorted((e.target, e.line) for e in import_graph(root)) == [("pkg", 2), ("pkg.mid", 1), ("pkg.mid.deep", 1)]


def test_a_module_outside_every_layer_is_named():
    with pytest.raises(KeyError, match="elsewhere.mod lies in no layer"):
        layer_of("elsewhere.mod", PLANTED_LAYERS)


def test_the_store_layer_reads_no_configuration(edges):
    """``sergen.store`` is handed its folders (a ``StoreRef``'s root, ``sergen.paths.Dirs``) by the layers above;
    it never reads ``sergen.config`` itself, so a store can be opened in any workspace or none."""
    assert sorted({(e.source, e.target) for e in edges
                   if e.source.startswith("sergen.store") and e.target.startswith("sergen.config")}) == []

"""The package's import graph, read from source with ``ast``: what test_layers checks its layering and
cycles against. Reading source rather than ``sys.modules`` sees imports inside functions too, which only
run on some paths yet tie modules together just the same."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Edge:
    """One import statement: ``source`` imports ``target`` at ``line``; ``deferred`` when inside a function."""

    source: str
    target: str
    line: int
    deferred: bool


def module_names(package_dir: Path) -> dict[str, Path]:
    """Every module of the package under ``package_dir``, by dotted name (a package by its ``__init__``)."""
    package_dir = Path(package_dir)
    root = package_dir.name
    names = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = [root, *path.relative_to(package_dir).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _base_package(module: str, path: Path, level: int) -> str:
    """The package a relative import of ``level`` dots starts from."""
    parts = module.split(".")
    if path.name != "__init__.py":
        parts = parts[:-1]
    if level - 1 > len(parts) - 1:
        raise ValueError(f"{path}: relative import goes above the package")
    return ".".join(parts[: len(parts) - (level - 1)])


def _deferred_lines(tree: ast.Module) -> set[int]:
    """Line numbers of import statements inside a function (run only when it is called)."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    lines.add(inner.lineno)
    return lines


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest known module that ``name`` is or lies in (``a.b.func`` -> ``a.b``); None when outside."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def module_edges(module: str, path: Path, modules: dict[str, Path]) -> list[Edge]:
    """The imports of one module that land inside the package, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    deferred = _deferred_lines(tree)
    edges = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                start = _base_package(module, path, node.level)
                base = f"{start}.{base}" if base else start
            # ``from pkg import name``: name may be a submodule (then that is what is imported) or an attribute
            targets = [f"{base}.{alias.name}" if alias.name != "*" else base for alias in node.names]
        for name in targets:
            target = _resolve(name, modules)
            if target is not None and target != module:
                edges.append(Edge(module, target, node.lineno, node.lineno in deferred))
    return edges


def import_graph(package_dir: Path) -> list[Edge]:
    """Every import between the package's own modules, module-level and deferred alike."""
    modules = module_names(package_dir)
    edges = [edge for module, path in modules.items() for edge in module_edges(module, path, modules)]
    return list(dict.fromkeys(edges))  # ``from m import a, b``: one edge


def find_cycles(edges: list[Edge]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted: every cycle
    lies inside one of them."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node: str) -> None:
        # iterative: the graph is small but recursion depth should not depend on it
        work = [(node, iter(sorted(graph[node])))]
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        while work:
            current, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[current] = min(low[current], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[current])
            if low[current] == index[current]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == current:
                        break
                if len(component) > 1:
                    components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)


def layer_of(module: str, layers: list[tuple[str, tuple[str, ...]]]) -> int:
    """The index (0 = top) of the layer whose longest prefix holds ``module``: ``a.b.c`` lies in ``a.b``."""
    best, length = None, -1
    for index, (_, prefixes) in enumerate(layers):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                best, length = index, len(prefix)
    if best is None:
        raise KeyError(f"{module} lies in no layer")
    return best


def upward_imports(edges: list[Edge], layers: list[tuple[str, tuple[str, ...]]]) -> list[Edge]:
    """The imports of a module in a higher layer than the importer's own (a lower index)."""
    return [e for e in edges if layer_of(e.target, layers) < layer_of(e.source, layers)]


def describe(edge: Edge, layers: list[tuple[str, tuple[str, ...]]]) -> str:
    where = "in a function" if edge.deferred else "at module level"
    return (f"{edge.source}:{edge.line} ({layers[layer_of(edge.source, layers)][0]}) imports {edge.target} "
            f"({layers[layer_of(edge.target, layers)][0]}) {where}")

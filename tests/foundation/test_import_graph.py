"""The project's import graph: layers point down, no module cycles, no orchestration in the library.

Every ``.py`` under ``artic3d_core/``, ``tasks/``, ``flows/`` and ``artic3d_cli/`` is parsed (never
imported). Each ``import``/``from ... import`` counts wherever it appears — module level, inside
a function, inside ``try`` — relative imports resolved against the importing module's package,
plus ``importlib.import_module("literal")`` calls.

Rules for turning an import into an edge between the project's own modules:

* ``import a.b.c`` and ``from a.b.c import name`` give one edge, to the most specific project
  module named (``a.b.c``; or its longest prefix that is a module). ``from a.b import c`` where
  ``a.b.c`` is a module gives an edge to ``a.b.c``.
* Python also runs the ``__init__`` of every parent package on the way (``a``, ``a.b``); those
  implicit imports are *not* edges. So ``pkg/__init__.py`` re-exporting ``pkg.sub`` (an edge
  ``pkg → pkg.sub``) is fine while ``pkg.sub`` imports only siblings by their full names; it
  becomes a cycle when ``pkg.sub`` (directly or further down) imports a name *from* ``pkg``
  itself — exactly the case that fails at runtime with a partially initialised package.
* Imports under ``if TYPE_CHECKING:`` never run: they count for the layer rule and the
  forbidden-package rule, not for cycles.

The checks:

(a) layers, highest first ``artic3d_cli > flows > tasks > artic3d_core``: a module never imports
    a module of a higher layer;
(b) no cycle among runtime edges, inside a layer too (the failure lists the cycle's modules and
    the file:line of each import);
(c) ``artic3d_core`` imports neither Prefect nor DVC: the library runs without the orchestrator.

``ALLOWED`` lists the edges tolerated for now, each naming the file that must change; the
tests fail when an allowed edge disappears, so the list only shrinks.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("artic3d_core", "tasks", "flows", "artic3d_cli")  # lowest first
FORBIDDEN_IN_CORE = ("prefect", "dvc")  # top-level package names, and their ``prefect_*`` kin

# (importer, imported) -> the file to fix. Empty when the graph is clean.
ALLOWED: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Edge:
    """``src`` imports ``dst`` at ``path``:``line``; ``runtime`` is False under TYPE_CHECKING."""

    src: str
    dst: str
    path: Path
    line: int
    runtime: bool = True

    def where(self, root: Path) -> str:
        try:
            return f"{self.path.relative_to(root)}:{self.line}"
        except ValueError:
            return f"{self.path}:{self.line}"


@dataclass
class Graph:
    root: Path
    modules: dict[str, Path]
    edges: list[Edge] = field(default_factory=list)  # between project modules
    external: list[Edge] = field(default_factory=list)  # dst: an outside module's full name


def find_modules(root: Path, packages: Sequence[str]) -> dict[str, Path]:
    """Dotted module name -> file for every .py under ``root/<package>``."""
    out: dict[str, Path] = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _raw_imports(tree: ast.AST) -> Iterable[tuple[str, list[str], int, bool]]:
    """(module, names, line, runtime) per import; ``module`` keeps leading dots when relative,
    ``names`` are the ``from`` names (empty for a plain ``import``)."""

    def visit(node: ast.AST, runtime: bool) -> Iterable[tuple[str, list[str], int, bool]]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno, runtime
        elif isinstance(node, ast.ImportFrom):
            mod = "." * node.level + (node.module or "")
            yield mod, [a.name for a in node.names], node.lineno, runtime
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value, [], node.lineno, runtime
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from visit(child, False)
            for child in node.orelse:
                yield from visit(child, runtime)
            return
        for child in ast.iter_child_nodes(node):
            yield from visit(child, runtime)

    yield from visit(tree, True)


def _absolute(module: str, importer: str, is_pkg: bool) -> str:
    level = len(module) - len(module.lstrip("."))
    if not level:
        return module
    package = importer.split(".") if is_pkg else importer.split(".")[:-1]
    base = package[: len(package) - (level - 1)]
    rest = module[level:]
    return ".".join([*base, rest] if rest else base)


def _owner(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is a project module."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        cand = ".".join(parts[:i])
        if cand in modules:
            return cand
    return None


def build_graph(root: Path, packages: Sequence[str]) -> Graph:
    modules = find_modules(root, packages)
    graph = Graph(root, modules)
    for name, path in modules.items():
        is_pkg = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for module, names, line, runtime in _raw_imports(tree):
            target = _absolute(module, name, is_pkg)
            targets = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules]
            if len(targets) < len(names) or not names:
                targets.append(target)  # some name is an attribute of ``target`` itself
            for t in targets:
                owner = _owner(t, modules)
                if owner is None:
                    graph.external.append(Edge(name, t, path, line, runtime))
                elif owner != name:
                    graph.edges.append(Edge(name, owner, path, line, runtime))
    return graph


def layer_of(module: str, layers: Sequence[str]) -> int:
    top = module.split(".")[0]
    return layers.index(top) if top in layers else -1


def upward_imports(graph: Graph, layers: Sequence[str], allowed=ALLOWED) -> list[Edge]:
    """Edges from a module to a module of a higher layer (TYPE_CHECKING imports included)."""
    return [
        e
        for e in graph.edges
        if layer_of(e.dst, layers) > layer_of(e.src, layers) and (e.src, e.dst) not in allowed
    ]


def forbidden_imports(graph: Graph, package: str, forbidden: Sequence[str]) -> list[Edge]:
    def banned(name: str) -> bool:
        top = name.split(".")[0]
        return any(top == f or top.startswith(f + "_") for f in forbidden)

    return [
        e
        for e in graph.external
        if (e.src == package or e.src.startswith(package + ".")) and banned(e.dst)
    ]


def _strongly_connected(nodes: Iterable[str], succ: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for start in sorted(nodes):
        if start in index:
            continue
        work = [(start, iter(sorted(succ.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(succ.get(w, ())))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(sorted(comp))
    return out


def _shortest_cycle(start: str, succ: dict[str, set[str]], members: set[str]) -> list[str]:
    prev: dict[str, str] = {}
    queue = deque([start])
    while queue:
        v = queue.popleft()
        for w in sorted(succ.get(v, ())):
            if w not in members:
                continue
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                return [*reversed(path), start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return [start, start]


def find_cycles(graph: Graph, allowed=ALLOWED) -> list[str]:
    """One readable line per strongly connected group of modules (runtime edges only)."""
    succ: dict[str, set[str]] = {}
    where: dict[tuple[str, str], Edge] = {}
    for e in graph.edges:
        if e.runtime and (e.src, e.dst) not in allowed:
            succ.setdefault(e.src, set()).add(e.dst)
            where.setdefault((e.src, e.dst), e)
    reports = []
    for comp in _strongly_connected(graph.modules, succ):
        if len(comp) < 2:
            continue
        cycle = _shortest_cycle(comp[0], succ, set(comp))
        hops = ", ".join(f"{a} → {b} ({where[a, b].where(graph.root)})" for a, b in pairwise(cycle))
        reports.append(f"cycle among {{{', '.join(comp)}}}: {hops}")
    return reports


# ---------------------------------------------------------------------------------------------
# The project itself


@pytest.fixture(scope="module")
def project() -> Graph:
    return build_graph(ROOT, LAYERS)


def test_layers_only_import_downwards(project):
    bad = upward_imports(project, LAYERS)
    assert not bad, "imports from a lower layer into a higher one:\n" + "\n".join(
        f"  {e.src} → {e.dst} ({e.where(ROOT)})" for e in bad
    )


def test_no_import_cycles(project):
    cycles = find_cycles(project)
    assert not cycles, "import cycles:\n" + "\n".join(f"  {c}" for c in cycles)


def test_core_imports_no_orchestration(project):
    bad = forbidden_imports(project, "artic3d_core", FORBIDDEN_IN_CORE)
    assert not bad, "artic3d_core imports Prefect/DVC:\n" + "\n".join(
        f"  {e.src} → {e.dst} ({e.where(ROOT)})" for e in bad
    )


def test_allowed_edges_still_exist(project):
    """An allowed edge that is gone must leave ``ALLOWED`` too."""
    present = {(e.src, e.dst) for e in project.edges}
    stale = [f"{a} → {b}" for a, b in ALLOWED if (a, b) not in present]
    assert not stale, "remove from ALLOWED (fixed): " + ", ".join(stale)


def test_every_layer_was_parsed(project):
    for pkg in LAYERS:
        assert pkg in project.modules, pkg
    assert len(project.edges) > 100  # the parser sees the imports (not an empty graph)


# ---------------------------------------------------------------------------------------------
# The checker, on planted trees


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


LOW_HIGH = ("low", "high")


def test_checker_finds_a_cycle_through_a_function_level_import(tmp_path):
    root = _tree(
        tmp_path,
        {
            "low/__init__.py": "",
            "low/a.py": "from low.b import B\n",
            "low/b.py": "B = 1\n\ndef f():\n    from .c import C\n",
            "low/c.py": "import low.a\nC = 2\n",
            "high/__init__.py": "",
        },
    )
    cycles = find_cycles(build_graph(root, LOW_HIGH), allowed={})
    assert len(cycles) == 1
    assert "low.a → low.b (low/a.py:1), low.b → low.c (low/b.py:4)" in cycles[0]
    assert "low.c → low.a (low/c.py:1)" in cycles[0]
    # an allowed edge breaks it
    assert not find_cycles(build_graph(root, LOW_HIGH), allowed={("low.c", "low.a"): "x"})


def test_checker_finds_an_upward_import(tmp_path):
    root = _tree(
        tmp_path,
        {
            "low/__init__.py": "",
            "low/x.py": "def f():\n    from high.cli import main\n",
            "high/__init__.py": "from low import x\n",
            "high/cli.py": "import low\n",
        },
    )
    graph = build_graph(root, LOW_HIGH)
    bad = upward_imports(graph, LOW_HIGH, allowed={})
    assert [(e.src, e.dst, e.line) for e in bad] == [("low.x", "high.cli", 2)]
    assert not find_cycles(graph, allowed={})  # high → low.x → high.cli → low: no cycle


def test_checker_package_init_rule_and_type_checking(tmp_path):
    files = {
        "low/__init__.py": "from low.sub import S\n",
        "low/sub.py": "from low import other\nS = 1\n",  # sibling by full name: fine
        "low/other.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from low import S\n"  # never runs
            "import prefect\n"
        ),
        "high/__init__.py": "",
    }
    graph = build_graph(_tree(tmp_path / "ok", files), LOW_HIGH)
    assert not find_cycles(graph, allowed={})
    assert [(e.src, e.dst) for e in forbidden_imports(graph, "low", ("prefect",))] == [
        ("low.other", "prefect")
    ]
    # the same name imported at runtime from the package's __init__ is a real cycle
    files["low/other.py"] = "from low import S\n"
    graph = build_graph(_tree(tmp_path / "bad", files), LOW_HIGH)
    (cycle,) = find_cycles(graph, allowed={})
    assert "low, low.other, low.sub" in cycle

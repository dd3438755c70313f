"""Architecture rules of ``daisy_widgets``: small modules and no import cycles.

(a) No module under ``daisy_widgets/`` is over :data:`MAX_LINES` lines.

(b) The module import graph of ``daisy_widgets`` has no cycle. The graph is built
statically, with :mod:`ast`, from the source files (nothing is imported):

* every ``import`` and ``from ... import`` statement counts, wherever it is in the file:
  at module level, inside functions and methods, in ``try`` blocks and in
  ``if TYPE_CHECKING:`` blocks (a type-only import still couples the two modules);
* relative imports are resolved against the importing module's package (a package's
  ``__init__`` is its own package);
* ``import a.b.c`` is an edge to module ``a.b.c``;
* ``from pkg import name`` is an edge to the submodule ``pkg.name`` when ``name`` is a
  module or subpackage of ``pkg``, otherwise to ``pkg`` itself, i.e. ``pkg/__init__.py``;
  ``from pkg.mod import name`` is an edge to ``pkg.mod``;
* only modules of ``daisy_widgets`` are nodes; imports of other packages are ignored.

Package ``__init__`` modules that re-export their submodules:

* Importing ``pkg.mod`` makes Python run ``pkg/__init__.py`` first. That implicit step is
  *not* an edge (``pkg.mod`` does not depend on what ``__init__`` defines), so an
  ``__init__`` that imports its submodules to re-export them is not, by that alone, in a
  cycle with them.
* A submodule that explicitly imports its own package (``from . import name`` where
  ``name`` is not a submodule, ``from daisy_widgets.pkg import name``, ``import
  daisy_widgets.pkg``) depends on ``pkg/__init__``: when that ``__init__`` imports the
  submodule (directly or through others, in a function or not), it is a real cycle and
  is reported.
* A lazy re-export in ``__init__`` through a module-level ``__getattr__`` that calls
  ``importlib.import_module`` is not an import statement and makes no edge: it runs on
  first attribute access, after both modules are loaded, and couples nothing at import time.

(c) The tomography kernels are in layers (:data:`TOMOGRAPHY_KERNEL_LAYERS`): filters and
geometry, the CPU/GPU primitives side by side, the projector dispatch, the methods, centre
finding, ``reconstruct``; nothing below imports anything above, on the same graph.

A failure lists every offender: modules over the limit with their line counts, and
each cycle as a chain ``a -> b -> a`` with the file and line of every import in it.
"""

from __future__ import annotations

import ast
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "daisy_widgets"
MAX_LINES = 500


# -- the module graph ----------------------------------------------------------------------
@dataclass
class ImportGraph:
    """Modules of one top-level package and the imports between them.

    ``edges[a][b]`` is where module ``a`` first imports module ``b``: ``"path:line"``.
    """

    modules: dict[str, Path]
    edges: dict[str, dict[str, str]] = field(default_factory=dict)


def package_modules(src_root: Path, package: str) -> dict[str, Path]:
    """``{dotted module name: file}`` for every ``.py`` file of ``package`` under ``src_root``.

    A package's ``__init__.py`` is named after the package (``a.b`` for ``a/b/__init__.py``).
    """
    out: dict[str, Path] = {}
    for path in sorted((src_root / package).rglob("*.py")):
        parts = list(path.relative_to(src_root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_package(modules: dict[str, Path], name: str) -> bool:
    return modules[name].name == "__init__.py"


def _known(modules: dict[str, Path], name: str) -> str | None:
    """``name`` if it is a module of the graph, else its longest prefix that is, else None."""
    parts = name.split(".")
    while parts:
        cand = ".".join(parts)
        if cand in modules:
            return cand
        parts.pop()
    return None


def _imported_modules(modules: dict[str, Path], here: str, node: ast.AST) -> list[str]:
    """The modules of the graph that one import statement in module ``here`` imports."""
    if isinstance(node, ast.Import):
        found = [_known(modules, alias.name) for alias in node.names]
        return [m for m in found if m]
    assert isinstance(node, ast.ImportFrom)
    if node.level:
        package = here if _is_package(modules, here) else here.rpartition(".")[0]
        parts = package.split(".")
        if node.level - 1 >= len(parts):
            return []  # above the top-level package: not ours
        base_parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join(base_parts + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    out = []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        if alias.name != "*" and sub in modules:
            out.append(sub)  # a submodule (or subpackage): that module
        else:
            target = _known(modules, base)  # a name defined in the module (a package: its __init__)
            if target:
                out.append(target)
    return out


def build_graph(src_root: Path, package: str) -> ImportGraph:
    """The static import graph of ``package`` (see the module docstring for the rules)."""
    modules = package_modules(src_root, package)
    graph = ImportGraph(modules, {m: {} for m in modules})
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):  # every depth: functions, classes, TYPE_CHECKING, try
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for target in _imported_modules(modules, name, node):
                if target != name:
                    where = f"{path.relative_to(src_root)}:{node.lineno}"
                    graph.edges[name].setdefault(target, where)
    return graph


# -- cycles --------------------------------------------------------------------------------
def strongly_connected(edges: dict[str, dict[str, str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    comps: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(edges) + 100))
    try:
        for v in sorted(edges):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return sorted(comps)


def _shortest_cycle(edges: dict[str, dict[str, str]], start: str, members: set[str]) -> list[str]:
    """The shortest chain ``start -> ... -> start`` inside one strongly connected component."""
    prev: dict[str, str] = {}
    queue = deque([start])
    seen = {start}
    while queue:
        v = queue.popleft()
        for w in sorted(edges[v]):
            if w not in members:
                continue
            if w == start:
                chain = [v]
                while chain[-1] != start:
                    chain.append(prev[chain[-1]])
                return [*reversed(chain), start]
            if w not in seen:
                seen.add(w)
                prev[w] = v
                queue.append(w)
    raise AssertionError(f"{start} is in a strongly connected component but on no cycle")


def find_cycles(graph: ImportGraph) -> list[list[str]]:
    """Cycles of the import graph: for every module in a cycle, the shortest one through it.

    Each cycle is a chain ``[a, b, ..., a]``, rotated to start at its smallest name, and
    listed once.
    """
    cycles: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()
    for comp in strongly_connected(graph.edges):
        members = set(comp)
        for module in comp:
            chain = _shortest_cycle(graph.edges, module, members)[:-1]
            i = chain.index(min(chain))
            key = tuple(chain[i:] + chain[:i])
            if key not in seen:
                seen.add(key)
                cycles.append([*key, key[0]])
    return cycles


def describe_cycle(graph: ImportGraph, cycle: list[str]) -> str:
    """``a -> b -> a`` and, below it, where each of those imports is."""
    lines = [" -> ".join(cycle)]
    for a, b in zip(cycle, cycle[1:], strict=False):
        lines.append(f"      {graph.edges[a][b]}: {a} imports {b}")
    return "\n".join(lines)


def long_modules(src_root: Path, package: str, limit: int = MAX_LINES) -> list[tuple[str, int]]:
    """``[(path, lines)]`` of the modules over ``limit`` lines, longest first."""
    out = []
    for path in package_modules(src_root, package).values():
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > limit:
            out.append((str(path.relative_to(src_root)), n))
    return sorted(out, key=lambda x: (-x[1], x[0]))


# -- the rules on daisy_widgets --------------------------------------------------------------
def test_no_module_over_500_lines():
    offenders = long_modules(ROOT, PACKAGE)
    assert not offenders, (
        f"{len(offenders)} module(s) under {PACKAGE}/ over {MAX_LINES} lines "
        "(split them by concern):\n" + "\n".join(f"  {p}: {n} lines" for p, n in offenders)
    )


def test_no_import_cycles():
    graph = build_graph(ROOT, PACKAGE)
    assert len(graph.modules) > 50 and sum(map(len, graph.edges.values())) > 100  # the graph was read
    cycles = find_cycles(graph)
    assert not cycles, (
        f"{len(cycles)} import cycle(s) between modules of {PACKAGE} (imports inside functions and "
        "TYPE_CHECKING blocks count; see the rules at the top of tests/test_architecture.py):\n"
        + "\n".join("  " + describe_cycle(graph, c) for c in cycles)
    )


#: the tomography kernels from the bottom up; a module imports only modules of lower layers
#: (the twins of one layer, CPU and GPU, do not import each other)
TOMOGRAPHY_KERNEL_LAYERS = [
    ["filters", "geometry", "gridding", "_kernels", "_fbp_kernels"],
    ["primitives_cpu", "primitives_gpu"],
    ["projectors"],
    ["fbp", "fourier_cpu", "fourier_gpu"],
    ["fourier", "iterative"],
    ["center"],
    ["recon"],
]


def test_tomography_kernels_are_layered():
    graph = build_graph(ROOT, PACKAGE)
    rank = {f"{PACKAGE}.tomography.{m}": i for i, layer in enumerate(TOMOGRAPHY_KERNEL_LAYERS) for m in layer}
    assert set(rank) <= set(graph.modules), sorted(set(rank) - set(graph.modules))
    upward = [
        f"  {where}: {a} (layer {rank[a]}) imports {b} (layer {rank[b]})"
        for a in rank
        for b, where in graph.edges[a].items()
        if b in rank and rank[b] >= rank[a]
    ]
    assert not upward, "tomography kernels importing their own layer or one above:\n" + "\n".join(upward)


# -- the checker on a synthetic package ------------------------------------------------------
def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def test_checker_finds_cycles_through_functions_type_checking_and_init(tmp_path):
    _write(
        tmp_path,
        {
            # __init__ re-exports a and c; e only through a lazy importlib __getattr__
            "pkg/__init__.py": (
                "import importlib\n"
                "from .a import A\n"
                "from .c import C\n"
                "VERSION = 1\n"
                "def __getattr__(name):\n"
                "    return importlib.import_module(f'.{name}', __name__)\n"
            ),
            # a -> b inside a function; b -> a in a TYPE_CHECKING block: a cycle
            "pkg/a.py": "class A:\n    def run(self):\n        from .b import helper\n        return helper()\n",
            "pkg/b.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n"
                "    from pkg.a import A\n"
                "def helper():\n"
                "    return 1\n"
            ),
            # c imports a name of its own package, whose __init__ imports c: a cycle
            "pkg/c.py": "from . import VERSION\nC = VERSION\n",
            # d imports the submodule e (not the __init__): no cycle
            "pkg/d.py": "from . import e\n",
            # e imports the package, which reaches e only through the lazy __getattr__: no cycle
            "pkg/e.py": "import pkg\nfrom .sub.f import F\n",
            # subpackage: f imports g with two levels up and down; g -> f would close a cycle
            "pkg/sub/__init__.py": "",
            "pkg/sub/f.py": "from ..sub import g\nF = 1\n",
            "pkg/sub/g.py": "import os\nfrom pkg.sub.f import F\n",
        },
    )
    graph = build_graph(tmp_path, "pkg")
    assert set(graph.edges["pkg"]) == {"pkg.a", "pkg.c"}  # importlib makes no edge
    assert set(graph.edges["pkg.d"]) == {"pkg.e"}  # a submodule, not pkg/__init__
    assert set(graph.edges["pkg.e"]) == {"pkg", "pkg.sub.f"}
    assert graph.edges["pkg.b"] == {"pkg.a": "pkg/b.py:3"}
    cycles = find_cycles(graph)
    assert cycles == [
        ["pkg", "pkg.c", "pkg"],
        ["pkg.a", "pkg.b", "pkg.a"],
        ["pkg.sub.f", "pkg.sub.g", "pkg.sub.f"],
    ]
    text = describe_cycle(graph, cycles[1])
    assert text.splitlines()[0] == "pkg.a -> pkg.b -> pkg.a"
    assert "pkg/a.py:3: pkg.a imports pkg.b" in text and "pkg/b.py:3: pkg.b imports pkg.a" in text


def test_checker_is_quiet_on_a_layered_package_and_counts_lines(tmp_path):
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "from .top import run\n",
            "pkg/top.py": "from .mid import step\ndef run():\n    from . import low\n    return step(low)\n",
            "pkg/mid.py": "from .low import prim\ndef step(m):\n    return prim()\n",
            "pkg/low.py": "def prim():\n    return 0\n" + "# filler\n" * 499,
        },
    )
    graph = build_graph(tmp_path, "pkg")
    assert find_cycles(graph) == []
    assert set(graph.edges["pkg.top"]) == {"pkg.mid", "pkg.low"}
    assert long_modules(tmp_path, "pkg") == [("pkg/low.py", 501)]
    assert long_modules(tmp_path, "pkg", limit=501) == []

"""The package's shape, read from its imports with the standard library (issue 9).

Every ``import`` in ``coursekit/`` counts, including the ones inside functions (a lazy import
is still a dependency) and the package ``__init__`` a submodule import runs. The rules:

- no import circle anywhere;
- the wings (``setup/``, ``doctor/``, ``lab/``, ``grading/``) never import ``cli/`` or
  ``render/``: they hand values up, the command line draws them;
- the package is at most ``MAX_DEPTH`` import levels deep: the longest chain of imports
  (``a`` imports ``b`` imports ``c``: 2 levels; the measure that found issue 9's 14 levels);
- the package root holds only the core modules, ``__init__``/``__main__`` and the wing folders.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "coursekit"
CORE = {"constants", "errors", "host", "jsondata", "names", "probe", "probing", "proc", "resources",
        "shellquote", "wheelindex"}
WINGS = {"setup", "doctor", "lab", "grading", "instructor"}
OUTER = {"cli", "render"}
MAX_DEPTH = 8
"""Issue 9's goal, reached (13 before). The rules never import the planner: whoever builds a
report hands a planner down (``doctor/planning.py``; ``report``/``diagnose`` pass the course's,
``advice``, setup's verify step ``course.course_data()``), so the planner's levels sit beside
the doctor's instead of under them. The renderers import value modules only (``doctor/results``,
``instructor/triaged``, ``setup/plan/model``), and package ``__init__`` files import nothing.
A ratchet: lower it when levels go; never raise it."""


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under ``package``."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the coursekit modules importing it runs (directly, lazily or as a parent)."""
    mods = modules(package)
    root = package.name
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")[: len(here.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                targets.add(module)
                targets |= {f"{module}.{a.name}" for a in node.names}
        deps: set[str] = set()
        for target in targets:
            if target.split(".")[0] != root:
                continue
            while target not in mods:  # `from pkg.mod import name`: the module, not the name
                target = target.rpartition(".")[0]
            # Importing a.b.c runs a/__init__ and a/b/__init__ too (those not already running).
            deps |= {t for t in [*_ancestors(target), target]
                     if t != name and t not in _ancestors(name)}
        graph[name] = deps
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), plus self-imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1 or v in graph[v]:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def depth(graph: dict[str, set[str]]) -> tuple[int, list[str]]:
    """The longest import chain (graph must have no circle): its imports and its modules."""

    @functools.cache
    def chain(v: str) -> tuple[str, ...]:
        longest = max((chain(w) for w in graph[v]), key=len, default=())
        return (v, *longest)

    best = max((chain(v) for v in graph), key=len)
    return len(best) - 1, list(best)


def test_no_import_circle_anywhere() -> None:
    assert circles(import_graph()) == []


def test_wings_never_import_the_command_line_or_the_renderer() -> None:
    graph = import_graph()
    bad = sorted(f"{m} -> {d}" for m, deps in graph.items() if m.split(".")[1:2] and
                 m.split(".")[1] in WINGS for d in deps if d.split(".")[1:2] and
                 d.split(".")[1] in OUTER)
    assert bad == []


def test_the_package_is_shallow() -> None:
    levels, chain = depth(import_graph())
    print(f"import depth: {levels} ({' -> '.join(chain)})")
    assert levels <= MAX_DEPTH, " -> ".join(chain)


def test_the_package_root_holds_the_core_and_the_wings_only() -> None:
    files = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    # A folder left holding only __pycache__ (a module moved away since) is no package.
    folders = {p.name for p in PACKAGE.iterdir()
               if p.is_dir() and p.name != "__pycache__" and not p.name.startswith("_")
               and any(p.rglob("*.py"))}
    assert files == CORE
    assert folders == WINGS | OUTER


# The checker itself, on small made-up packages: it must see what it claims to see.

def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize("a_imports", [
    "from pkg import b",  # the submodule form
    "import pkg.b",
    "from .b import thing",  # relative
    "def f():\n    from pkg.b import thing\n",  # lazy, inside a function
])
def test_a_circle_of_any_import_form_is_seen(tmp_path: Path, a_imports: str) -> None:
    root = _package(tmp_path, {"__init__.py": "", "a.py": a_imports + "\n",
                               "b.py": "from pkg.a import x\n"})
    assert circles(import_graph(root)) == [["pkg.a", "pkg.b"]]


def test_a_circle_through_a_package_init_is_seen(tmp_path: Path) -> None:
    root = _package(tmp_path, {"__init__.py": "", "w/__init__.py": "from pkg.w import m\n",
                               "w/m.py": "", "core.py": "import pkg.w.m\n",
                               "x.py": "", "w/n.py": "from pkg import core\n"})
    graph = import_graph(root)
    assert "pkg.w" in graph["pkg.core"]  # importing pkg.w.m runs pkg/w/__init__
    assert circles(graph) == []
    (root / "w" / "__init__.py").write_text("from pkg.w import n\n")
    assert circles(import_graph(root)) == [["pkg.core", "pkg.w", "pkg.w.n"]]


def test_depth_counts_the_longest_chain(tmp_path: Path) -> None:
    root = _package(tmp_path, {"__init__.py": "", "a.py": "from pkg import b\n",
                               "b.py": "from pkg import c\n", "c.py": "import os\n",
                               "d.py": "from pkg import c\n"})
    assert depth(import_graph(root)) == (2, ["pkg.a", "pkg.b", "pkg.c"])

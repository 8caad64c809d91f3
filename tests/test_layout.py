"""The package's shape: no import cycle between modules of `weir`, no module over 500 lines,
and tests that mirror the package tree.

Layer rules (which package may import which) are import-linter contracts in pyproject.toml,
run by `make check` (`lint-imports`). Cycles are checked here, per module: an import inside a
function counts (it runs, and it is how a cycle hides), an import under `if TYPE_CHECKING:`
does not (it never runs).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
TESTS = Path(__file__).resolve().parent
MAX_LINES = 500


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted((SRC / "weir").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The `weir` modules that importing `name` (or calling its functions) imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    module = ".".join(base + ([child.module] if child.module else []))
                else:
                    module = child.module or ""
                found.add(module)
                found.update(f"{module}.{alias.name}" for alias in child.names)  # `from pkg import module`
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    out = set()
    for target in found:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if not target:
            continue
        parts = target.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ too
            prefix = ".".join(parts[:i])
            if prefix in known and prefix != name and not name.startswith(prefix + "."):
                out.add(prefix)
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_import_cycle_between_modules():
    known = modules()
    graph = {name: imported(name, path, known) for name, path in known.items()}
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import(tmp_path):
    """The check above must fail loudly on a cycle, a function-level one included."""
    pkg = tmp_path / "weir"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from weir import b\n")
    (pkg / "b.py").write_text("def f():\n    from weir.a import x\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from weir import a\n")
    known = {"weir": pkg / "__init__.py", "weir.a": pkg / "a.py", "weir.b": pkg / "b.py", "weir.c": pkg / "c.py"}
    graph = {name: imported(name, path, known) for name, path in known.items()}
    assert cycles(graph) == [["weir.a", "weir.b"]]
    assert graph["weir.c"] == set()  # TYPE_CHECKING imports never run


@pytest.mark.parametrize("name", sorted(modules()))
def test_module_is_at_most_500_lines(name):
    lines = len(modules()[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines; split it (docs/architecture.md, Layout)"


def test_tests_mirror_the_package_tree():
    """Every test module sits in the folder of what it tests: tests/a/b/test_*.py needs a
    package src/weir/a/b (or a module src/weir/a/b.py). Contract suites of a port live in the
    folder of its implementations (tests/backends)."""
    known = modules()
    strays = []
    for test in sorted(TESTS.rglob("test_*.py")):
        folder = test.parent.relative_to(TESTS).parts
        if folder and folder[0] in ("e2e", "infra", "scripts", "docs"):  # the system, infra/, scripts/, docs
            continue
        if folder and ".".join(("weir", *folder)) not in known:
            strays.append(str(test.relative_to(TESTS)))
    assert strays == []

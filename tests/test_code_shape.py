"""The shape the code keeps: no import cycle in app/ (an import inside a function counts), no module
of app/ over 300 lines, the sandbox and the product apart, and ruff and mypy clean (`make lint`)."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 300


def _modules(package: str, root: Path = ROOT) -> dict[str, Path]:
    """Dotted name -> file, for every module of `package` (a package is its __init__.py)."""
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import of a module, at any depth (in functions too), but those for type checkers only."""
    for node in ast.iter_child_nodes(tree):
        if _type_checking_only(node):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _imports(node)


def _edges(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of the same code base that `name` imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in _imports(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            targets.add(submodule if submodule in modules else base)
    # Importing a.b.c runs a and a.b first, but a cycle through a package's __init__ is the package's
    # own business only when it imports back: the edge to the module itself is what matters.
    return {target for target in targets if target in modules and target != name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _graph(package: str, root: Path = ROOT) -> dict[str, set[str]]:
    modules = _modules(package, root)
    return {name: _edges(name, path, modules) for name, path in modules.items()}


@pytest.mark.parametrize("package", ["app", "gesdent_sandbox"])
def test_no_import_cycle(package):
    assert _cycles(_graph(package)) == []


def test_the_cycle_finder_sees_a_late_import_and_skips_type_checking_ones(tmp_path):
    """The check above could pass by seeing nothing: it must see an import inside a function."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import thing\n")
    (package / "b.py").write_text("def late():\n    from pkg import a\n")
    (package / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import d\n"
    )
    (package / "d.py").write_text("from . import c\n")
    assert _cycles(_graph("pkg", tmp_path)) == [["pkg.a", "pkg.b"]]


def test_no_module_of_app_is_over_300_lines():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in _modules("app").values()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_product_and_the_sandbox_import_nothing_of_each_other():
    for package, other in (("app", "gesdent_sandbox"), ("gesdent_sandbox", "app")):
        for name, path in _modules(package).items():
            for node in _imports(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not any(n == other or n.startswith(other + ".") for n in names), name


LINTED = ["app", "gesdent_sandbox", "tests", "bench", "tools", "alembic"]
LINTERS = {
    "ruff check": ["-m", "ruff", "check", *LINTED],
    "ruff format": ["-m", "ruff", "format", "--check", *LINTED],
    "mypy": ["-m", "mypy", "app", "gesdent_sandbox", "tests", "bench"],
}


@pytest.mark.parametrize("linter", list(LINTERS))
def test_lint_is_clean(linter):
    """What `make lint` runs, so that CI holds the code to it."""
    done = subprocess.run(
        [sys.executable, *LINTERS[linter]], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]

"""The package graph of `opentier_explore/` and `seed/`: one way, no cycles, the generator free of database code;
and the size limits of design.md (no file over 400 lines, no function over 60)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("opentier_explore", "seed")
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60
DATABASE_MODULES = ("psycopg", "sqlalchemy", "adbc_driver_postgresql", "adbc_driver_manager")


def _modules() -> dict[str, Path]:
    """Every module of the two packages by dotted name (a package by its own name, for its __init__.py)."""
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST):
    """Every Import / ImportFrom node, function bodies included, `if TYPE_CHECKING:` blocks left out."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _imported_names(module: str, path: Path) -> set[str]:
    """The absolute names a module imports: `from pkg import name` is `pkg.name` when that is a module, else `pkg`."""
    is_package = path.name == "__init__.py"
    names: set[str] = set()
    for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        if node.level:
            base = module.split(".")
            base = base[: len(base) - node.level + (1 if is_package else 0)]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        for alias in node.names:
            sub = f"{source}.{alias.name}"
            names.add(sub if sub in MODULES else source)
    return names


def _graph() -> dict[str, set[str]]:
    return {m: {n for n in _imported_names(m, p) if n in MODULES and n != m} for m, p in MODULES.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return path[path.index(n) :] + [n]
            if n not in state:
                found = visit(n)
                if found:
                    return found
        path.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def test_the_graph_sees_imports_inside_functions_and_resolves_relative_ones():
    graph = _graph()
    assert "seed.generate.people" in graph["seed.generate"]  # `from . import people` in a package
    assert "seed.profile" in graph["opentier_explore.calibrate"]  # `from seed import profile` inside a function
    assert "seed.generate.common" in graph["seed.generate.people"]  # `from .common import DAY`


def test_no_import_cycle_between_any_two_modules():
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_generator_imports_no_database_code_and_nothing_of_the_kit():
    forbidden = (*DATABASE_MODULES, "opentier_explore")
    offenders = {
        (m, name)
        for m, p in MODULES.items()
        if m.split(".")[0] == "seed"
        for name in _imported_names(m, p)
        if name.split(".")[0] in forbidden
    }
    assert offenders == set()


def test_the_kit_depends_on_the_generator_only_one_way():
    graph = _graph()
    assert any(n.startswith("seed") for m in graph if m.startswith("opentier_explore") for n in graph[m])
    assert not any(n.startswith("opentier_explore") for m in graph if m.startswith("seed") for n in graph[m])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_file_over_400_lines(module):
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_FILE_LINES, f"{MODULES[module].relative_to(ROOT)} has {lines} lines"


def test_no_function_over_60_lines():
    long = []
    for p in MODULES.values():
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{p.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    assert long == []


def test_the_commands_that_write_start_without_pandas_sqlalchemy_or_pyarrow():
    """`opentier-explore seed` and `migrate` import neither (about a second of start-up): the package's public
    names are imported on first use."""
    code = (
        "import sys, opentier_explore.cli, opentier_explore.seeding, opentier_explore.migrate; "
        "print(sorted(m for m in ('pandas', 'sqlalchemy', 'pyarrow', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_the_public_names_are_the_functions_whichever_module_is_imported_first():
    code = (
        "import opentier_explore.metrics, opentier_explore.loading, opentier_explore as ox; "
        "from opentier_explore import load; "
        "print(load is ox.load is opentier_explore.loading.load, callable(ox.connect), ox.Snapshot.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["True", "True", "Snapshot"]

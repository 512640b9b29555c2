"""The import direction is the architecture: events <- store <- actors, and nothing imports tests."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIRST_PARTY = {"actors", "events", "store", "tests", "benchmarks"}
ALLOWED = {
    "events": set(),
    "store": {"events"},
    "actors": {"events", "store"},
}
PYDANTIC = {"pydantic", "pydantic_core", "annotated_types"}  # pydantic and the packages it is built on
THIRD_PARTY = {
    "events": PYDANTIC,
    "store": PYDANTIC,
    "actors": PYDANTIC | {"pykka"},
}


def imported_top_level_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_the_layers_below_it_and_its_declared_dependencies(package):
    stdlib = set(sys.stdlib_module_names)
    allowed = ALLOWED[package] | THIRD_PARTY[package] | {package} | stdlib | {"__future__"}

    offenders = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in imported_top_level_modules(path)
        if name not in allowed
    }

    assert not offenders


def private_imports(path: Path, package: str) -> list[ast.ImportFrom]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.level == 0
        and node.module
        and node.module.startswith(f"{package}.")
        and any(part.startswith("_") for part in node.module.split("."))
    ]


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_other_packages_and_benchmarks_never_import_a_packages_private_modules(package):
    roots = [ROOT / name for name in (*ALLOWED, "benchmarks") if name != package]

    offenders = [
        f"{path.relative_to(ROOT)}: from {node.module} import ..."
        for root in roots
        for path in sorted(root.rglob("*.py"))
        for node in private_imports(path, package)
    ]

    assert not offenders


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_tests_reach_into_private_modules_only_for_names_the_package_does_not_export(package):
    public = set(importlib.import_module(package).__all__)
    public |= set(importlib.import_module("actors.simulation").__all__) if package == "actors" else set()

    offenders = [
        f"{path.relative_to(ROOT)}: {alias.name} from {node.module}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for node in private_imports(path, package)
        for alias in node.names
        if alias.name in public
    ]

    assert not offenders

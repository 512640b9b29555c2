"""The import direction is the architecture: events <- store <- actors, and nothing imports tests."""

from __future__ import annotations

import ast
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


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_code_outside_a_package_never_imports_its_private_modules(package):
    skip = {package, ".venv"}
    outside = [p for p in sorted(ROOT.glob("*/**/*.py")) if p.relative_to(ROOT).parts[0] not in skip]

    offenders = [
        f"{path.relative_to(ROOT)}: from {node.module} import ..."
        for path in outside
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(f"{package}._")
    ]

    assert not offenders

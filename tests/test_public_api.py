"""Each package's public API is its ``__init__``: curated, sorted and complete."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

PACKAGES = ["actors", "actors.cli", "events", "store", "trading"]


def isort_key(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: CONSTANTS, then Classes, then functions, each alphabetical."""
    if name.isupper() or re.fullmatch(r"[A-Z0-9_]+", name):
        return (0, name)
    if name[0].isupper():
        return (1, name)
    return (2, name)


@pytest.mark.parametrize("package", PACKAGES)
def test_all_is_sorted_and_every_name_resolves(package):
    module = importlib.import_module(package)

    assert module.__all__ == sorted(module.__all__, key=isort_key)
    assert all(hasattr(module, name) for name in module.__all__)


@pytest.mark.parametrize("package", PACKAGES)
def test_all_lists_every_public_name_the_package_has(package):
    module = importlib.import_module(package)
    submodules = {m.name for m in pkgutil.iter_modules(module.__path__)}

    hidden = submodules | {"logging"}  # actors imports logging for its NullHandler
    public = {n for n in dir(module) if not n.startswith("_") and n not in hidden}

    assert public == set(module.__all__)


@pytest.mark.parametrize("package", PACKAGES)
def test_init_holds_only_a_docstring_and_explicit_re_exports(package):
    module = importlib.import_module(package)
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))

    body = tree.body[1:] if isinstance(tree.body[0], ast.Expr) else tree.body
    for node in body:
        if isinstance(node, ast.ImportFrom):
            assert all(alias.asname in (alias.name, None) for alias in node.names)
        elif isinstance(node, ast.Import):
            assert [a.name for a in node.names] == ["logging"]
        else:
            assert isinstance(node, ast.Assign | ast.Expr | ast.AnnAssign), ast.dump(node)


def test_private_modules_each_declare_all():
    missing = []
    for package in PACKAGES:
        path = Path(importlib.import_module(package).__file__).parent
        for info in pkgutil.iter_modules([str(path)]):
            if info.name.startswith("_") and not info.name.startswith("__") and not info.ispkg:
                sub = importlib.import_module(f"{package}.{info.name}")
                if not hasattr(sub, "__all__"):
                    missing.append(f"{package}.{info.name}")

    assert not missing

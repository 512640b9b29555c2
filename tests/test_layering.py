"""The import direction is the architecture: events <- (store, trading) <- actors <- actors.cli.

Every check here reads the source with ``ast`` (relative and type-only imports included), so the layers
stay what ``docs/ARCHITECTURE.md`` says they are, and the module graph has no circle anywhere.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("events", "store", "trading", "actors")
LAYERS = {
    "events": set(),
    "store": {"events"},
    "trading": {"events"},
    "actors": {"events", "store", "trading"},
    "actors.cli": {"actors", "events", "store", "trading"},
}
"""Each layer and the first-party layers it may import; a layer may always import itself."""
PYDANTIC = {"pydantic", "pydantic_core", "annotated_types"}  # pydantic and the packages it is built on
ANALYSIS = {"pandas", "pyarrow"}  # the optional extra behind the frames, imported only when one is built
THIRD_PARTY = {
    "events": PYDANTIC,
    "store": PYDANTIC,
    "trading": PYDANTIC,
    # ray: the islands' actors (actors/_islands_ray.py), imported only when an islands run starts
    "actors": PYDANTIC | {"pykka", "ray"} | ANALYSIS,
    # tqdm: the progress bar (actors/cli/_progress.py); bokeh: the HTML report (actors/cli/_html.py);
    # selenium: the browser that renders --png (actors/cli/_png.py)
    "actors.cli": PYDANTIC | {"pykka", "tqdm", "bokeh", "ray", "selenium"} | ANALYSIS,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """Absolute names of everything ``path`` imports: relative imports resolved, ``from p import m``
    counted as the module ``p.m`` when ``m`` is one (and as ``p`` only for names that are not modules)."""
    name = module_name(path)
    package = name if is_package(path) else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            submodules = {f"{source}.{alias.name}" for alias in node.names} & known
            found.update(submodules)
            if len(submodules) < len(node.names):  # names from the package itself, not only its modules
                found.add(source)
    return found


def layer_of(module: str) -> str:
    if module == "actors.cli" or module.startswith("actors.cli."):
        return "actors.cli"
    return module.split(".", maxsplit=1)[0]


def import_graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imported_modules(path, known) & known for name, path in found.items()}


def test_the_layering_test_sees_every_module_of_every_package_and_sub_package():
    found = modules()

    assert {"actors.cli", "actors.cli._main", "trading._planner", "store._sqlite"} <= set(found)
    assert {layer_of(name) for name in found} == set(LAYERS)


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_each_layer_imports_only_the_layers_below_it_and_its_declared_dependencies(layer):
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    known = set(modules())

    offenders = sorted(
        f"{path.relative_to(ROOT)} imports {target}"
        for name, path in modules().items()
        if layer_of(name) == layer
        for target in imported_modules(path, known)
        if target.split(".")[0] not in stdlib | THIRD_PARTY[layer]
        and layer_of(target) not in LAYERS[layer] | {layer}
    )

    assert offenders == []


def test_nothing_but_the_tests_imports_the_command_line():
    offenders = sorted(
        f"{name} imports {target}"
        for name, targets in import_graph().items()
        if layer_of(name) != "actors.cli"
        for target in targets
        if layer_of(target) == "actors.cli"
    )

    assert offenders == []


def test_the_module_import_graph_has_no_cycle():
    graph = import_graph()

    try:
        TopologicalSorter(graph).prepare()
    except CycleError as e:
        pytest.fail(f"import cycle: {' -> '.join(e.args[1])}")


def loaded_after_importing(package: str, suspects: tuple[str, ...]) -> list[str]:
    """Import ``package`` in a fresh interpreter and return which of ``suspects`` it loaded."""
    probe = f"import sys, {package}; print(','.join(m for m in {suspects!r} if m in sys.modules))"
    done = subprocess.run(  # noqa: S603  (our own interpreter running a fixed probe)
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return [name for name in done.stdout.strip().split(",") if name]


def test_importing_the_trading_domain_loads_neither_pykka_nor_sqlite_nor_the_runtime():
    assert loaded_after_importing("trading", ("pykka", "sqlite3", "actors", "store")) == []


def test_importing_the_events_layer_loads_nothing_above_it():
    assert loaded_after_importing("events", ("pykka", "sqlite3", "actors", "store", "trading")) == []


@pytest.mark.parametrize("package", ["events", "actors", "actors.cli"])
def test_importing_a_layer_loads_no_analysis_library_until_a_frame_is_built(package):
    assert loaded_after_importing(package, ("pandas", "pyarrow", "numpy")) == []


@pytest.mark.parametrize("package", ["actors", "actors.cli"])
def test_importing_the_runtime_loads_no_ray_until_an_islands_run_starts(package):
    assert loaded_after_importing(package, ("ray",)) == []


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


@pytest.mark.parametrize("package", PACKAGES)
def test_other_packages_and_benchmarks_never_import_a_packages_private_modules(package):
    roots = [ROOT / name for name in (*PACKAGES, "benchmarks") if name != package]

    offenders = [
        f"{path.relative_to(ROOT)}: from {node.module} import ..."
        for root in roots
        for path in sorted(root.rglob("*.py"))
        for node in private_imports(path, package)
    ]

    assert offenders == []


def test_the_command_line_never_reaches_into_the_runtimes_private_modules():
    offenders = [
        f"{path.relative_to(ROOT)}: from {node.module} import ..."
        for path in sorted((ROOT / "actors" / "cli").rglob("*.py"))
        for node in private_imports(path, "actors")
        if not node.module.startswith("actors.cli")
    ]
    relative = [
        f"{path.relative_to(ROOT)}: from {'.' * node.level}{node.module or ''} import ..."
        for path in sorted((ROOT / "actors" / "cli").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.level > 1
    ]

    assert offenders == []
    assert relative == []


@pytest.mark.parametrize("package", PACKAGES)
def test_tests_reach_into_private_modules_only_for_names_the_package_does_not_export(package):
    public = set(importlib.import_module(package).__all__)

    offenders = [
        f"{path.relative_to(ROOT)}: {alias.name} from {node.module}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for node in private_imports(path, package)
        for alias in node.names
        if alias.name in public
    ]

    assert offenders == []


def test_no_package_imports_the_tests_or_the_benchmarks_and_the_benchmarks_never_import_the_tests():
    benchmarks = sorted((ROOT / "benchmarks").rglob("*.py"))

    offenders = sorted(
        f"{path.relative_to(ROOT)} imports {target}"
        for path in [*modules().values(), *benchmarks]
        for target in imported_modules(path, set())
        if target.split(".")[0] == "tests"
        or (target.split(".")[0] == "benchmarks" and path not in benchmarks)
    )

    assert offenders == []

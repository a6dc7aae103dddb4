"""Who imports whom inside a package, read from the source (every import: at the top, inside a function,
under TYPE_CHECKING), and the circles among them. Shared by tests/test_layers.py and the sandbox's
tests/sandbox/test_imports.py."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def modules(package: str) -> dict[str, Path]:
    """The package's modules by dotted name (a package by its own name), migrations left out."""
    found = {}
    for path in (SRC / package).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(SRC).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(name: str, path: Path) -> set[str]:
    """Every dotted name module `name` imports (relative imports resolved; `from a import b` gives a and a.b)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                kept = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*kept, base]).strip(".")
            targets.add(base)
            targets.update(f"{base}.{alias.name}" for alias in node.names)
    return targets


def graph(package: str) -> dict[str, set[str]]:
    """Each module of the package (but the package's own face) and the package's modules it imports."""
    found = modules(package)
    return {
        name: {target for target in imported(name, path) if target in found and target not in (name, package)}
        for name, path in found.items()
        if name != package
    }


def circle(edges: dict[str, set[str]]) -> list[str]:
    """One import circle (its modules, the first again at the end), or [] when there is none."""
    try:
        tuple(TopologicalSorter(edges).static_order())
    except CycleError as found:
        return list(found.args[1])
    return []


def order(edges: dict[str, set[str]]) -> list[str]:
    """The modules in an order where each comes after everything it imports."""
    return list(TopologicalSorter(edges).static_order())

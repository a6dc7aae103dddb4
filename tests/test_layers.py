"""The layers of docs/architecture.md hold: every import (at the top of a module or inside a function) points
down or stays in its layer, and no modules import each other in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

# Lowest first. A package may import its own layer and every layer below; `accounts` and `ops` stand beside
# (they import only the base, and everyone may import them).
LAYERS: dict[str, float] = {
    **dict.fromkeys(["errors", "money", "paging", "fields", "admin_base", "db"], 0),
    **dict.fromkeys(["accounts", "ops"], 0.5),
    "catalog": 1,
    "orders": 2,
    "cart": 2.5,  # the cart reads and places through orders; orders know nothing of carts
    "payments": 3,
    "notifications": 4,
    "bookings": 5,
    **dict.fromkeys(["web", "api", "worker"], 6),
    **dict.fromkeys(["urls", "settings", "test_settings", "wsgi", "__main__"], 7),
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "bookdesk").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The bookdesk modules `name` imports, wherever in the file the import stands."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
            targets.add(base)
            targets.update(f"{base}.{alias.name}" for alias in node.names)
    return {target for target in targets if target in known and target != name and target != "bookdesk"}


def _layer(module: str) -> float:
    top = module.split(".")[1]
    assert top in LAYERS, f"{module}: its package {top!r} has no layer in tests/test_layers.py (and docs)"
    return LAYERS[top]


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items() if name != "bookdesk"}


def test_every_import_points_down_or_sideways() -> None:
    against = [
        f"{module} ({_layer(module)}) imports {target} ({_layer(target)})"
        for module, targets in _graph().items()
        for target in sorted(targets)
        if _layer(target) > _layer(module)
        or (_layer(module) == 0.5 and _layer(target) == 0.5 and module.split(".")[1] != target.split(".")[1])
    ]
    assert against == []


def test_no_import_circles() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while (top := stack.pop()) != node:
                component.append(top)
            if component:
                circles.append(sorted([node, *component]))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert circles == []


def test_the_check_sees_an_import_against_the_layers(tmp_path: Path) -> None:
    """The checker itself: an import of payments from orders is found, wherever it hides."""
    path = tmp_path / "services.py"
    path.write_text("def f():\n    from bookdesk.payments.checkout import book_course\n")
    found = _imports("bookdesk.orders.services", path, {"bookdesk.payments.checkout", "bookdesk.orders.services"})
    assert found == {"bookdesk.payments.checkout"}
    assert _layer("bookdesk.payments.checkout") > _layer("bookdesk.orders.services")

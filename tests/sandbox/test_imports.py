"""The sandbox's imports run one way (state <- resources, payments <- handlers <- app <- server <- cli):
no two of its modules import each other, even under TYPE_CHECKING or inside a function, and none
imports bookdesk."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "stripe_sandbox"


def imports() -> dict[str, set[str]]:
    """Each module of the package and the top-level names it imports (``stripe_sandbox.x`` as ``x``)."""
    modules = {path.stem for path in PACKAGE.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.glob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                if node.module == "stripe_sandbox":
                    found.update(f"stripe_sandbox.{alias.name}" for alias in node.names)
        graph[path.stem] = {
            name.split(".")[1] if name.startswith("stripe_sandbox.") else name.split(".")[0] for name in found
        } & (modules | {"bookdesk"})
    return graph


def test_the_sandbox_imports_nothing_from_bookdesk() -> None:
    assert [module for module, names in imports().items() if "bookdesk" in names] == []


def test_no_two_sandbox_modules_import_each_other() -> None:
    graph = {module: names - {"bookdesk", "__init__"} for module, names in imports().items() if module != "__init__"}
    order: list[str] = []  # modules in an order where each comes after what it imports
    visiting: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in visiting, f"import circle: {' -> '.join([*path, module])}"
        if module in order:
            return
        visiting.add(module)
        for name in sorted(graph[module]):
            visit(name, (*path, module))
        visiting.discard(module)
        order.append(module)

    for module in sorted(graph):
        visit(module, ())
    assert order.index("state") < order.index("sessions") < order.index("api") < order.index("app")
    assert order.index("app") < order.index("server") < order.index("cli")

"""The layers of docs/architecture.md hold: every import (at the top of a module or inside a function) points
down or stays in its layer, and no modules import each other in a circle."""

from __future__ import annotations

from pathlib import Path

from import_graph import circle, graph, imported

# Lowest first. A package may import its own layer and every layer below; `accounts` and `ops` stand beside
# (they import only the base, and everyone may import them).
LAYERS: dict[str, float] = {
    **dict.fromkeys(["errors", "money", "countries", "paging", "fields", "admin_base", "db"], 0),
    **dict.fromkeys(["accounts", "ops"], 0.5),
    "catalog": 1,
    "orders": 2,
    "cart": 2.5,  # the cart reads and places through orders; orders know nothing of carts
    "payments": 3,
    "notifications": 4,
    "bookings": 5,
    **dict.fromkeys(["web", "api", "worker", "console"], 6),
    **dict.fromkeys(["urls", "settings", "test_settings", "wsgi", "__main__"], 7),
}


def _layer(module: str) -> float:
    top = module.split(".")[1]
    assert top in LAYERS, f"{module}: its package {top!r} has no layer in tests/test_layers.py (and docs)"
    return LAYERS[top]


def test_every_import_points_down_or_sideways() -> None:
    against = [
        f"{module} ({_layer(module)}) imports {target} ({_layer(target)})"
        for module, targets in graph("bookdesk").items()
        for target in sorted(targets)
        if _layer(target) > _layer(module)
        or (_layer(module) == 0.5 and _layer(target) == 0.5 and module.split(".")[1] != target.split(".")[1])
    ]
    assert against == []


def test_no_import_circles() -> None:
    assert circle(graph("bookdesk")) == []


def test_the_check_sees_an_import_against_the_layers(tmp_path: Path) -> None:
    """The checker itself: an import of payments from orders is found, wherever it hides; a circle is found."""
    path = tmp_path / "services.py"
    path.write_text("def f():\n    from bookdesk.payments.checkout import book_course\n")
    assert "bookdesk.payments.checkout" in imported("bookdesk.orders.services", path)
    assert _layer("bookdesk.payments.checkout") > _layer("bookdesk.orders.services")
    assert circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) != []

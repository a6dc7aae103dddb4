"""The sandbox's imports run one way (state <- resources, payments <- handlers <- app <- server <- cli):
no two of its modules import each other, even under TYPE_CHECKING or inside a function, and none
imports bookdesk."""

from __future__ import annotations

from import_graph import circle, graph, imported, modules, order


def test_the_sandbox_imports_nothing_from_bookdesk() -> None:
    found = {
        name: sorted(target for target in imported(name, path) if target.split(".")[0] == "bookdesk")
        for name, path in modules("stripe_sandbox").items()
    }
    assert {name: targets for name, targets in found.items() if targets} == {}


def test_no_two_sandbox_modules_import_each_other() -> None:
    edges = graph("stripe_sandbox")
    assert circle(edges) == []
    ordered = [name.removeprefix("stripe_sandbox.") for name in order(edges)]
    assert ordered.index("state") < ordered.index("sessions") < ordered.index("api") < ordered.index("app")
    assert ordered.index("app") < ordered.index("server") < ordered.index("cli")

"""The answers' JSON text is json.dumps(indent=2)'s, to the byte."""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stripe_sandbox.jsontext import pretty

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.sampled_from(["", "é", "\u2028", "\x00", '"\\', "emoji 🎉", "{CHECKOUT_SESSION_ID}"]),
)
KEYS = st.one_of(st.text(max_size=8), st.sampled_from(["id", "object", "_secret", ""]))
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=5)),
    max_leaves=30,
)


@settings(max_examples=300)
@given(VALUES)
def test_json_values_read_as_json_dumps_writes_them(value: Any) -> None:
    assert pretty(value) == json.dumps(value, indent=2).encode()


class Colour(enum.IntEnum):
    RED = 1


@pytest.mark.parametrize(
    "value",
    [
        {1: "int key", None: "none key", 2.5: "float key", False: "bool key"},
        {"tuple": (1, 2), "nested": [{"a": ()}]},
        {"int subclass": Colour.RED, "in a list": [Colour.RED]},
        {"empty": {}, "list": [], "deep": [[[{}]]]},
        [float("nan"), float("inf"), -float("inf"), -0.0, 1e300],
    ],
)
def test_what_the_fast_path_does_not_know_still_reads_as_json_dumps_writes_it(value: Any) -> None:
    assert pretty(value) == json.dumps(value, indent=2).encode()


def test_what_json_dumps_refuses_is_refused_alike() -> None:
    looped: dict[str, Any] = {}
    looped["self"] = looped
    with pytest.raises(ValueError, match="Circular reference"):
        pretty(looped)
    with pytest.raises(TypeError):
        pretty({"set": {1}})


def test_many_distinct_keys_read_alike_past_what_it_remembers() -> None:
    many = {f"metadata key {number}": number for number in range(5000)}
    assert pretty(many) == json.dumps(many, indent=2).encode()
    assert pretty(many) == json.dumps(many, indent=2).encode()

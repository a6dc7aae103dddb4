"""Stripe's wire format: form bodies and query strings with bracket notation.

``metadata[order]=x`` → ``{"metadata": {"order": "x"}}``;
``line_items[0][quantity]=2`` → ``{"line_items": [{"quantity": "2"}]}``;
``expand[]=a&expand[]=b`` → ``{"expand": ["a", "b"]}``. Values stay strings: each
endpoint coerces and validates what it reads, naming the parameter on error.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import unquote

from stripe_sandbox.errors import invalid

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
# Names (``line_items[0][price_data][currency]``) and many values recur from request to request:
# short ones are decoded once and remembered.
_REMEMBERED_LENGTH = 256


def parse_form(text: str) -> list[tuple[str, str]]:
    """``urllib.parse.parse_qsl(text, keep_blank_values=True)``: decoded ``(name, value)`` pairs."""
    pairs = []
    for field in text.split("&"):
        if field:
            name, _, value = field.partition("=")
            pairs.append((_unquote_plus(name), _unquote_plus(value)))
    return pairs


def _unquote_plus(text: str) -> str:
    if "%" not in text:
        return text.replace("+", " ") if "+" in text else text
    if len(text) > _REMEMBERED_LENGTH:
        return unquote(text.replace("+", " "))
    return _unquote_plus_remembered(text)


@functools.lru_cache(maxsize=4096)
def _unquote_plus_remembered(text: str) -> str:
    return unquote(text.replace("+", " "))


def parse_pairs(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Build the nested parameter tree from decoded ``(key, value)`` pairs."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        path = _key_path(key) if len(key) <= _REMEMBERED_LENGTH else _split_key(key)
        _insert(root, path, value)
    return _listify(root)  # type: ignore[no-any-return]


def parse_query(text: str) -> dict[str, Any]:
    return parse_pairs(parse_form(text))


def _split_key(key: str) -> tuple[str, ...]:
    """``a[b][]`` → ``("a", "b", "")``."""
    match = _KEY.match(key)
    if match is None:
        raise invalid(f"Invalid parameter name: {key}", param=key)
    return (match.group(1), *_SEGMENT.findall(match.group(2)))


_key_path = functools.lru_cache(maxsize=4096)(_split_key)


def _insert(node: dict[str, Any], path: tuple[str, ...], value: str) -> None:
    for position, segment in enumerate(path):
        last = position == len(path) - 1
        if segment == "":
            # ``a[]=x`` appends; ``a[][b]=x`` starts a new element when ``b`` is taken.
            following = None if last else path[position + 1]
            index = len(node)
            previous = node.get(str(index - 1))
            if not last and isinstance(previous, dict) and following not in previous:
                index -= 1
            segment = str(index)
        if last:
            node[segment] = value
            return
        child = node.get(segment)
        if not isinstance(child, dict):
            child = {}
            node[segment] = child
        node = child


def _listify(node: dict[str, Any]) -> Any:
    # Values are strings or dicts, as _insert builds them.
    converted = {key: _listify(value) if type(value) is dict else value for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def flat_pairs(params: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """The inverse of :func:`parse_pairs`, sorted: a canonical form for comparing."""
    pairs: list[tuple[str, str]] = []
    _flatten(params, prefix, pairs)
    return sorted(pairs)


def _flatten(params: dict[str, Any], prefix: str, pairs: list[tuple[str, str]]) -> None:
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else key
        if isinstance(value, dict):
            _flatten(value, name, pairs)
        elif isinstance(value, list):
            _flatten({str(i): v for i, v in enumerate(value)}, name, pairs)
        else:
            pairs.append((name, str(value)))

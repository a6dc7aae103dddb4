"""The JSON text of the sandbox's answers: ``json.dumps(value, indent=2)``, byte for byte, faster.

Stripe answers with JSON indented by two spaces, and so does the sandbox. With ``indent`` the
standard library leaves its C encoder for a pure-Python one built of generators, which cost
more CPU than building a checkout session. This encoder joins strings instead, escapes with
the C ``encode_basestring_ascii``, and hands anything it does not know (other key types,
subclasses, tuples, a reference cycle) back to ``json.dumps``, so that the text never differs.
"""

from __future__ import annotations

import json
from json.encoder import INFINITY, encode_basestring_ascii
from typing import Any


class _Unknown(Exception):
    """A value the fast path leaves to ``json.dumps``."""


# '"key": ' for the keys met so far: objects of a kind share their keys. Bounded, for metadata
# keys come from clients.
_MEMBER_PREFIXES: dict[str, str] = {}
_MEMBER_PREFIXES_MAX = 4096


def _member_prefix(key: Any) -> str:
    if type(key) is not str:
        raise _Unknown
    prefix = encode_basestring_ascii(key) + ": "
    if len(_MEMBER_PREFIXES) < _MEMBER_PREFIXES_MAX:
        _MEMBER_PREFIXES[key] = prefix
    return prefix  # type: ignore[no-any-return]


def pretty(value: Any) -> bytes:
    """``json.dumps(value, indent=2).encode()``."""
    try:
        return _encode(value, "\n").encode("ascii")
    except (_Unknown, RecursionError):
        return json.dumps(value, indent=2).encode()


def _encode(value: Any, newline: str) -> str:
    """``value`` as JSON text, its nested lines starting with ``newline`` plus two spaces."""
    kind = type(value)
    if kind is dict:
        if not value:
            return "{}"
        inner = newline + "  "
        members = []
        for key, item in value.items():
            try:
                prefix = _MEMBER_PREFIXES[key]
            except KeyError:
                prefix = _member_prefix(key)
            item_kind = type(item)  # scalars inline: most members are one
            if item_kind is str:
                members.append(prefix + encode_basestring_ascii(item))
            elif item is None:
                members.append(prefix + "null")
            elif item_kind is int:
                members.append(prefix + int.__repr__(item))
            elif item_kind is bool:
                members.append(prefix + ("true" if item else "false"))
            else:
                members.append(prefix + _encode(item, inner))
        return "{" + inner + ("," + inner).join(members) + newline + "}"
    if kind is list:
        if not value:
            return "[]"
        inner = newline + "  "
        return "[" + inner + ("," + inner).join([_encode(item, inner) for item in value]) + newline + "]"
    if kind is str:
        return encode_basestring_ascii(value)  # type: ignore[no-any-return]
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    if kind is float:
        if value != value:
            return "NaN"
        if value == INFINITY:
            return "Infinity"
        if value == -INFINITY:
            return "-Infinity"
        return float.__repr__(value)
    raise _Unknown

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
            if type(key) is not str:
                raise _Unknown
            item_kind = type(item)  # scalars inline: most members are one
            if item_kind is str:
                members.append(encode_basestring_ascii(key) + ": " + encode_basestring_ascii(item))
            elif item is None:
                members.append(encode_basestring_ascii(key) + ": null")
            elif item_kind is int:
                members.append(encode_basestring_ascii(key) + ": " + int.__repr__(item))
            elif item_kind is bool:
                members.append(encode_basestring_ascii(key) + (": true" if item else ": false"))
            else:
                members.append(encode_basestring_ascii(key) + ": " + _encode(item, inner))
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

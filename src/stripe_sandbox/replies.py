"""What the sandbox's handlers answer, before HTTP: ``(status, headers, body)``.

Plain data, so that an answer can be stored (idempotent replays) and the handlers need no web
framework; :mod:`stripe_sandbox.app` turns it into the HTTP response.
"""

from __future__ import annotations

from typing import Any

from stripe_sandbox.objects import to_json

Reply = tuple[int, list[tuple[str, str]], bytes]


def json_reply(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> Reply:
    return status, [("Content-Type", "application/json"), *(headers or [])], to_json(payload)

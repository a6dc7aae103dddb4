"""The control API under ``/_sandbox/`` (no authentication; a local test tool).

- ``GET /_sandbox/health`` → ``{"status": "ok"}``
- ``GET|POST|DELETE /_sandbox/faults`` → read, set (JSON or form; only the given fields),
  reset: ``latency_ms``, ``error_rate``, ``rate_limit_rate``, ``webhook_drop_rate``,
  ``webhook_duplicate_rate``, ``webhook_reorder``, ``script`` (steps for the next API requests,
  one each: ``error``, ``rate_limit``, ``slow:<ms>``).
- ``GET /_sandbox/clock`` → ``{"now": …, "offset": …}``; ``POST /_sandbox/clock``
  ``{"advance_seconds": N}`` moves the sandbox clock forward (sessions past their
  ``expires_at`` expire at once, due delayed payments settle).
- ``GET /_sandbox/deliveries`` → the latest webhook delivery attempts, newest last.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from stripe_sandbox import timers
from stripe_sandbox.errors import StripeError
from stripe_sandbox.replies import Reply, json_reply
from stripe_sandbox.state import State


def handle(
    state: State,
    method: str,
    path: str,
    query: str,
    body: bytes,
    headers: dict[str, str],
) -> Reply:
    try:
        data = _read_body(body, headers.get("content-type", ""))
        route = path.rstrip("/")
        if route == "/_sandbox/health" and method in ("GET", "HEAD"):
            return json_reply(200, {"status": "ok", "base_url": state.base_url})
        if route == "/_sandbox/faults":
            if method == "GET":
                return json_reply(200, state.faults.to_dict())
            if method == "POST":
                state.faults.update(data)
                return json_reply(200, state.faults.to_dict())
            if method == "DELETE":
                state.faults.reset()
                return json_reply(200, state.faults.to_dict())
        if route == "/_sandbox/clock":
            if method == "GET":
                return json_reply(200, _clock(state))
            if method == "POST":
                try:
                    seconds = float(data.get("advance_seconds", 0))
                except (TypeError, ValueError):
                    raise StripeError("advance_seconds must be a number", param="advance_seconds") from None
                if seconds < 0:
                    raise StripeError("The sandbox clock only moves forward.", param="advance_seconds")
                timers.advance(state, seconds)
                return json_reply(200, _clock(state))
        if route == "/_sandbox/deliveries" and method == "GET":
            # `pending`: deliveries sent, held back for reordering or due for a retry, not yet done for good.
            return json_reply(200, {"data": list(state.dispatcher.log), "pending": state.dispatcher.pending()})
        raise StripeError(f"Unknown control route: {method} {path}", status=404)
    except StripeError as error:
        return json_reply(error.status, error.to_dict())


def _clock(state: State) -> dict[str, Any]:
    return {"now": int(state.now()), "offset": state.clock.offset}


def _read_body(body: bytes, content_type: str) -> dict[str, Any]:
    if not body:
        return {}
    text = body.decode("utf-8", "replace")
    if "json" in content_type or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise StripeError(f"Invalid JSON body: {error}") from None
        if not isinstance(data, dict):
            raise StripeError("The JSON body must be an object.")
        return data
    return dict(parse_qsl(text, keep_blank_values=True))

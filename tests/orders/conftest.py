"""Fixtures for checkout tests: signed-in API callers, and a crowd of them against the live server."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import pytest
import requests
from django.core.cache import cache


@pytest.fixture
def generous_limits(settings: Any) -> Iterator[None]:
    """A crowd comes from one address: lift the per-IP limits (ours and allauth's login limit) for the test.

    Its hits stay counted in the cache, which a transactional test does not roll back: cleared afterwards,
    so the next test from 127.0.0.1 is not refused for this one's crowd.
    """
    settings.ACCOUNT_RATE_LIMITS = False
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "checkout": "1000/60", "checkout_ip": "100000/60"}
    yield
    cache.clear()


class Crowd(Protocol):
    def __call__(
        self, calls: list[tuple[str, str, dict[str, Any]]], *, at_once: int = ...
    ) -> list[requests.Response]: ...


# The live server answers each connection in a thread with its own database connection: more than this at
# once would exceed PostgreSQL's max_connections (100, shared with the other test process).
MOST_AT_ONCE = 50


@pytest.fixture
def crowd(live_server: Any, generous_limits: None) -> Crowd:
    """Send (token, path, json) POSTs at once (`at_once` threads), and return the responses in order."""

    def send(calls: list[tuple[str, str, dict[str, Any]]], *, at_once: int = MOST_AT_ONCE) -> list[requests.Response]:
        def post(call: tuple[str, str, dict[str, Any]]) -> requests.Response:
            token, path, body = call
            # Connection: close ends the server's thread, and its database connection, with the request.
            headers = {"X-Session-Token": token, "Connection": "close"}
            return requests.post(live_server.url + path, json=body, headers=headers, timeout=60)

        with ThreadPoolExecutor(max_workers=min(len(calls), at_once)) as pool:
            return list(pool.map(post, calls))

    return send

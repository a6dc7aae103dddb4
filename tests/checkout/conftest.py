"""Fixtures for checkout tests: signed-in API callers, and a crowd of them against the live server."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from django.test import Client

from bookdesk.accounts.services import user_ensure_verified

PASSWORD = "crowd-passphrase-2026"


def login_token(email: str) -> str:
    """A real allauth headless app session token for a verified customer with this email."""
    user_ensure_verified(email=email, password=PASSWORD)
    response = Client().post(
        "/_allauth/app/v1/auth/login", {"email": email, "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return str(response.json()["meta"]["session_token"])


@pytest.fixture
def generous_limits(settings: Any) -> None:
    """A crowd comes from one address: lift the per-IP limits (ours and allauth's login limit) for the test."""
    settings.ACCOUNT_RATE_LIMITS = False
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "checkout": "1000/60", "checkout_ip": "100000/60"}


Crowd = Callable[[list[tuple[str, str, dict[str, Any]]]], list[requests.Response]]


@pytest.fixture
def crowd(live_server: Any, generous_limits: None) -> Crowd:
    """Send (token, path, json) POSTs all at once, one thread each, and return the responses in order."""

    def send(calls: list[tuple[str, str, dict[str, Any]]]) -> list[requests.Response]:
        def post(call: tuple[str, str, dict[str, Any]]) -> requests.Response:
            token, path, body = call
            return requests.post(live_server.url + path, json=body, headers={"X-Session-Token": token}, timeout=60)

        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            return list(pool.map(post, calls))

    return send

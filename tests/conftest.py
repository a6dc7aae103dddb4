"""Shared fixtures for the Django suite (the sandbox's own tests live in tests/sandbox)."""

from __future__ import annotations

import pytest


@pytest.fixture
def api_client(client):  # type: ignore[no-untyped-def]
    """Django's test client, for calling /api/ as a browser would (session cookie)."""
    return client

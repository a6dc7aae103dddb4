from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from bookdesk.accounts.services import user_ensure_verified

PASSWORD = "a-long-test-passphrase-42"


@pytest.fixture
def verified_user(db: None) -> Any:
    user, _ = user_ensure_verified(email="ada@example.com", password=PASSWORD)
    return user


@pytest.fixture
def session_token(verified_user: Any) -> str:
    """A real allauth headless app session token, from the real login endpoint."""
    response = Client().post(
        "/_allauth/app/v1/auth/login",
        {"email": verified_user.email, "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return str(response.json()["meta"]["session_token"])

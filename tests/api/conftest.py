from __future__ import annotations

from typing import Any

import pytest

from factories import login_token, verified_customer


@pytest.fixture
def verified_user(db: None) -> Any:
    return verified_customer("ada@example.com")


@pytest.fixture
def session_token(verified_user: Any) -> str:
    """A real allauth headless app session token, from the real login endpoint."""
    return login_token(verified_user.email)

"""CORS for configured origins only (django-cors-headers), only on /api/, with the X-Session-Token header allowed."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from factories import CourseFactory

pytestmark = pytest.mark.django_db

ALLOWED = "https://shop.example.com"


@pytest.fixture(autouse=True)
def one_origin(settings: Any) -> None:
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED]


def test_an_allowed_origin_may_read_the_api() -> None:
    CourseFactory()
    response = Client().get("/api/courses", headers={"Origin": ALLOWED})
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    assert "Access-Control-Allow-Credentials" not in response  # API clients send a token, not cookies


def test_another_origin_gets_no_cors_headers() -> None:
    response = Client().get("/api/courses", headers={"Origin": "https://evil.example.net"})
    assert response.status_code == 200  # answered, but the browser will not hand it to that page
    assert "Access-Control-Allow-Origin" not in response


def test_a_preflight_allows_the_session_token_header() -> None:
    response = Client().options(
        "/api/cart",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-session-token",
        },
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    allowed_headers = {h.strip().lower() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"x-session-token", "content-type"} <= allowed_headers
    assert "POST" in response["Access-Control-Allow-Methods"]


def test_a_preflight_from_another_origin_is_not_allowed() -> None:
    response = Client().options(
        "/api/cart",
        headers={"Origin": "https://evil.example.net", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in response


def test_pages_outside_the_api_get_no_cors_headers() -> None:
    response = Client().get("/", headers={"Origin": ALLOWED})
    assert "Access-Control-Allow-Origin" not in response


def test_an_api_error_is_readable_by_an_allowed_origin() -> None:
    response = Client().get("/api/cart", headers={"Origin": ALLOWED})
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["Access-Control-Allow-Origin"] == ALLOWED

"""A request for a host we do not serve: problem+json under /api/ and a page elsewhere (never Django's debug
page in production), and no page, debug or not, shows a secret (database, email, Redis URLs, keys)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

SECRET_URLS = {
    "EMAIL_URL": "smtp://mailer:hunter2-mail@mail.example:587",
    "DATABASE_URL": "postgres://app:hunter2-db@db.example:5432/bookdesk",
    "REDIS_URL": "redis://:hunter2-redis@cache.example:6379/0",
    "SENTRY_DSN": "https://hunter2dsn@sentry.example/1",
}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/courses", "/api/cart/items", "/api/nowhere"])
def test_a_bad_host_on_the_api_is_a_problem_document(path: str) -> None:
    response = Client().get(path, HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "bad_request"


@pytest.mark.django_db
def test_a_bad_host_on_a_page_is_a_readable_page() -> None:
    response = Client().get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "Traceback" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/api/courses"])
def test_the_debug_page_shows_no_secret(settings: Any, path: str) -> None:
    """Under DEBUG (a developer's machine) Django's own page lists settings and the environment: masked."""
    settings.DEBUG = True
    for name, value in SECRET_URLS.items():
        setattr(settings, name, value)
    response = Client(raise_request_exception=False).get(path, HTTP_HOST="evil.example", **SECRET_URLS)
    assert response.status_code == 400
    page = response.content.decode()
    assert "DisallowedHost" in page or "Invalid HTTP_HOST" in page  # it is the debug page
    for value in SECRET_URLS.values():
        assert "hunter2" not in page, value

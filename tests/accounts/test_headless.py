"""Sign-up, verification, login, logout and password reset through allauth headless, app client."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from bookdesk.accounts.models import User
from bookdesk.accounts.services import user_ensure_verified

from .accounts_helpers import PASSWORD, key_in, link_in

pytestmark = pytest.mark.django_db

APP = "/_allauth/app/v1"


def post(client: Client, path: str, data: dict[str, Any], token: str | None = None) -> Any:
    headers = {"X-Session-Token": token} if token else {}
    return client.post(f"{APP}{path}", data, content_type="application/json", headers=headers)


def test_signup_then_verify_by_key_gives_an_authenticated_token(client: Client, mailoutbox: list[Any]) -> None:
    response = post(client, "/auth/signup", {"email": "Ada@Example.com", "password": PASSWORD})

    assert response.status_code == 401  # signed up, not yet authenticated
    body = response.json()
    assert {"id": "verify_email", "is_pending": True}.items() <= next(
        flow for flow in body["data"]["flows"] if flow["id"] == "verify_email"
    ).items()
    pending_token = body["meta"]["session_token"]
    assert User.objects.filter(email="ada@example.com").exists()
    assert len(mailoutbox) == 1

    key = key_in(mailoutbox[0], "/accounts/confirm-email/")
    response = post(client, "/auth/email/verify", {"key": key}, token=pending_token)

    assert response.status_code == 200, response.content
    assert response.json()["meta"]["is_authenticated"] is True
    token = response.json()["meta"].get("session_token", pending_token)
    assert Client().get("/api/cart", headers={"X-Session-Token": token}).status_code == 200


def test_headless_signup_link_also_works_as_a_page(client: Client, mailoutbox: list[Any]) -> None:
    post(client, "/auth/signup", {"email": "ada@example.com", "password": PASSWORD})
    browser = Client()
    confirm = link_in(mailoutbox[0], "/accounts/confirm-email/")
    assert browser.post(confirm).status_code == 302
    assert EmailAddress.objects.get(email="ada@example.com").verified


def test_login_returns_a_session_token(client: Client) -> None:
    user_ensure_verified(email="ada@example.com", password=PASSWORD)

    response = post(client, "/auth/login", {"email": "ADA@example.com", "password": PASSWORD})

    assert response.status_code == 200
    body = response.json()
    assert body["meta"]["is_authenticated"] is True
    assert body["data"]["user"]["email"] == "ada@example.com"
    assert body["meta"]["session_token"]


def test_login_is_blocked_until_verified(client: Client, mailoutbox: list[Any]) -> None:
    post(Client(), "/auth/signup", {"email": "ada@example.com", "password": PASSWORD})

    response = post(client, "/auth/login", {"email": "ada@example.com", "password": PASSWORD})

    assert response.status_code == 401
    assert response.json()["meta"]["is_authenticated"] is False
    assert any(flow["id"] == "verify_email" and flow.get("is_pending") for flow in response.json()["data"]["flows"])


def test_signup_with_verification_off_is_logged_in_at_once(client: Client, settings: Any) -> None:
    settings.ACCOUNT_EMAIL_VERIFICATION = "none"

    response = post(client, "/auth/signup", {"email": "ada@example.com", "password": PASSWORD})

    assert response.status_code == 200
    token = response.json()["meta"]["session_token"]
    assert Client().get("/api/cart", headers={"X-Session-Token": token}).status_code == 200


def test_wrong_password_is_400(client: Client) -> None:
    user_ensure_verified(email="ada@example.com", password=PASSWORD)
    response = post(client, "/auth/login", {"email": "ada@example.com", "password": "nope-nope-nope"})
    assert response.status_code == 400
    assert "session_token" not in response.json().get("meta", {})


def test_duplicate_email_creates_no_second_account(client: Client, settings: Any) -> None:
    settings.ACCOUNT_EMAIL_VERIFICATION = "none"
    user_ensure_verified(email="ada@example.com", password=PASSWORD)

    response = post(client, "/auth/signup", {"email": "ADA@example.com", "password": "another-passphrase-99"})

    assert response.status_code == 400
    assert any(error.get("param") == "email" for error in response.json()["errors"])
    assert User.objects.filter(email__iexact="ada@example.com").count() == 1


def test_logout_revokes_the_token(client: Client) -> None:
    user_ensure_verified(email="ada@example.com", password=PASSWORD)
    token = post(client, "/auth/login", {"email": "ada@example.com", "password": PASSWORD}).json()["meta"][
        "session_token"
    ]

    response = client.delete(f"{APP}/auth/session", headers={"X-Session-Token": token})

    assert response.status_code == 401
    assert Client().get("/api/cart", headers={"X-Session-Token": token}).status_code == 401


def test_password_reset_by_key(client: Client, mailoutbox: list[Any]) -> None:
    user_ensure_verified(email="ada@example.com", password=PASSWORD)

    assert post(client, "/auth/password/request", {"email": "ada@example.com"}).status_code == 200
    key = key_in(mailoutbox[0], "/accounts/password/reset/key/")
    response = post(client, "/auth/password/reset", {"key": key, "password": "a-brand-new-passphrase"})

    assert response.status_code in {200, 401}, response.content  # 401: reset done, log in again
    assert post(Client(), "/auth/login", {"email": "ada@example.com", "password": PASSWORD}).status_code == 400
    relogin = post(Client(), "/auth/login", {"email": "ada@example.com", "password": "a-brand-new-passphrase"})
    assert relogin.status_code == 200

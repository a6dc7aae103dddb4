"""A stranger cannot lock the owner out: failed sign-ins count per (IP, account), plus a per-IP limit, so wrong
passwords from one network never lock the account for its owner elsewhere. Through allauth's real endpoints:
the headless API and the HTML form."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from factories import DEFAULT_PASSWORD, verified_customer

pytestmark = pytest.mark.django_db

APP = "/_allauth/app/v1"
STRANGER, OWNER_HOME, BYSTANDER = "203.0.113.66", "198.51.100.7", "192.0.2.15"


def headless_login(email: str, password: str, ip: str) -> Any:
    return Client().post(
        f"{APP}/auth/login", {"email": email, "password": password}, content_type="application/json", REMOTE_ADDR=ip
    )


def form_login(email: str, password: str, ip: str) -> Any:
    return Client().post("/accounts/login/", {"login": email, "password": password}, REMOTE_ADDR=ip)


def refused_for_too_many(response: Any) -> bool:
    if response["Content-Type"].startswith("application/json"):
        return any(e.get("code") == "too_many_login_attempts" for e in response.json().get("errors", []))
    return response.status_code in (200, 429) and "too many" in response.text.lower()


@pytest.mark.parametrize("login", [headless_login, form_login], ids=["headless", "form"])
def test_wrong_passwords_from_one_ip_do_not_lock_the_owner_out_elsewhere(login: Any) -> None:
    owner = verified_customer("owner@example.com")
    for _ in range(5):
        assert login(owner.email, "wrong-password-123", STRANGER).status_code in (200, 400)

    # The stranger's network is locked out of this account...
    assert refused_for_too_many(login(owner.email, DEFAULT_PASSWORD, STRANGER))
    # ...the owner, from their own network, is not.
    signed_in = login(owner.email, DEFAULT_PASSWORD, OWNER_HOME)
    if login is headless_login:
        assert signed_in.status_code == 200, signed_in.content
        assert signed_in.json()["meta"]["is_authenticated"] is True
    else:
        assert signed_in.status_code == 302, signed_in.content


def test_one_ip_guessing_many_accounts_is_limited_without_blocking_other_ips() -> None:
    accounts = [verified_customer(f"person{n}@example.com") for n in range(11)]
    for account in accounts[:10]:
        assert headless_login(account.email, "wrong-password-123", STRANGER).status_code == 400

    # Ten failures a minute from one IP: that IP waits, whichever account it tries next...
    assert refused_for_too_many(headless_login(accounts[10].email, DEFAULT_PASSWORD, STRANGER))
    # ...and every other IP signs in as usual.
    assert headless_login(accounts[10].email, DEFAULT_PASSWORD, BYSTANDER).status_code == 200
    assert headless_login(accounts[0].email, DEFAULT_PASSWORD, OWNER_HOME).status_code == 200


def test_the_client_ip_behind_a_trusted_proxy_is_the_forwarded_one(settings: Any) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")  # BEHIND_PROXY=true
    owner = verified_customer("proxied@example.com")
    proxy = "10.0.0.1"
    for _ in range(5):
        Client().post(
            f"{APP}/auth/login",
            {"email": owner.email, "password": "wrong-password-123"},
            content_type="application/json",
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=STRANGER,
        )
    # The owner comes through the same proxy, from another address: not locked out.
    response = Client().post(
        f"{APP}/auth/login",
        {"email": owner.email, "password": DEFAULT_PASSWORD},
        content_type="application/json",
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR=OWNER_HOME,
    )
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("behind_proxy", [False, True])
def test_accounts_and_rate_limits_read_the_same_client_ip(settings: Any, behind_proxy: bool) -> None:
    from django.test import RequestFactory

    from bookdesk.accounts.adapter import client_ip as accounts_ip
    from bookdesk.ops.ratelimit import client_ip as ratelimit_ip

    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if behind_proxy else None
    for meta in ({"REMOTE_ADDR": "10.0.0.1"}, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 10.0.0.1"}):
        request = RequestFactory().get("/", **meta)
        assert accounts_ip(request) == ratelimit_ip(request)

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from bookdesk.cart.models import CartItem
from factories import studio
from problems import assert_problem

ZERO = {"amount": 0, "currency": "eur"}
EMPTY_CART = {
    "items": [],
    "count": 0,
    "subtotal": ZERO,
    "tax": ZERO,
    "shipping": ZERO,
    "total": ZERO,
    "prices_include_tax": True,
    "can_check_out": False,
}


@pytest.mark.django_db
def test_anonymous_caller_gets_401_problem(client: Client) -> None:
    body = assert_problem(client.get("/api/cart"), status=401, code="not_authenticated")
    assert "X-Session-Token" in body["detail"]


def test_app_client_with_session_token_gets_its_cart(session_token: str) -> None:
    response = Client().get("/api/cart", headers={"X-Session-Token": session_token})
    assert response.status_code == 200
    assert response.json() == EMPTY_CART


def test_browser_with_session_cookie_gets_its_cart(client: Client, verified_user: Any) -> None:
    client.force_login(verified_user)
    response = client.get("/api/cart")
    assert response.status_code == 200
    assert response.json() == EMPTY_CART


def test_cart_currency_follows_the_business_setting(client: Client, verified_user: Any, settings: Any) -> None:
    settings.BOOKDESK_CURRENCY = "usd"
    client.force_login(verified_user)
    assert client.get("/api/cart").json()["subtotal"] == {"amount": 0, "currency": "usd"}


@pytest.mark.django_db
def test_unknown_session_token_is_401(client: Client) -> None:
    response = client.get("/api/cart", headers={"X-Session-Token": "not-a-real-token"})
    body = assert_problem(response, status=401, code="not_authenticated")
    assert "token" in body["detail"].lower()


def test_unknown_token_is_401_even_beside_a_valid_cookie(client: Client, verified_user: Any) -> None:
    client.force_login(verified_user)
    response = client.get("/api/cart", headers={"X-Session-Token": "stale-token"})
    assert_problem(response, status=401, code="not_authenticated")


def test_token_stops_working_after_headless_logout(session_token: str) -> None:
    app = Client()
    logout = app.delete("/_allauth/app/v1/auth/session", headers={"X-Session-Token": session_token})
    assert logout.status_code == 401  # allauth answers "now unauthenticated"
    response = app.get("/api/cart", headers={"X-Session-Token": session_token})
    assert_problem(response, status=401, code="not_authenticated")


def test_token_of_a_deactivated_user_is_refused(session_token: str, verified_user: Any) -> None:
    verified_user.is_active = False
    verified_user.save(update_fields=["is_active"])
    response = Client().get("/api/cart", headers={"X-Session-Token": session_token})
    assert_problem(response, status=401, code="not_authenticated")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "starts_at",
    [
        "9999-12-31T23:00:00Z",
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:30:00Z",
        "0001-01-01T00:00:00+05:00",
        "2000-01-01T10:00:00Z",
        "+3 years",
    ],
    ids=["year-9999", "past-the-last-day", "year-1", "before-the-first-day", "long-past", "beyond-the-horizon"],
)
def test_a_slot_outside_the_booking_horizon_is_a_clear_409_and_changes_nothing(
    client: Client, verified_user: Any, starts_at: str
) -> None:
    """The slots endpoint's limit holds for every date a client can send (here: adding a slot to the cart)."""
    service, _ = studio()
    if starts_at == "+3 years":
        starts_at = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3 * 366)).replace(microsecond=0).isoformat()
    client.force_login(verified_user)
    answer = client.post(
        "/api/cart/items",
        {"kind": "service", "service_id": service.pk, "starts_at": starts_at},
        content_type="application/json",
    )
    body = assert_problem(answer, status=409, code="not_bookable")
    assert [error["field"] for error in body["errors"]] == ["starts_at"]
    assert "days of today" in body["detail"]
    assert not CartItem.objects.exists()

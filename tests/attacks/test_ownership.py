"""Eve reaches for Ada's things by guessing or learning their codes, ids and tokens: every door answers the
same 404 a code that does not exist gets (nothing leaks, not even that the order exists), and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from bookdesk.orders.downloads import download_url
from problems import assert_problem

from .conftest import Victim

pytestmark = pytest.mark.django_db


def _api(client: Client, method: str, path: str, token: str | None) -> Any:
    headers = {"X-Session-Token": token} if token else {}
    return getattr(client, method)(path, content_type="application/json", headers=headers)


API_DOORS = [
    ("get", "/api/orders/{confirmed}"),
    ("get", "/api/orders/{pending}"),
    ("post", "/api/orders/{confirmed}/cancel"),
    ("post", "/api/orders/{pending}/cancel"),
    ("post", "/api/orders/{pending}/retry-payment"),
    ("post", "/api/orders/{confirmed}/retry-payment"),
    ("delete", "/api/cart/items/{cart_item}"),
]


def _fill(path: str, ada: Victim) -> str:
    return path.format(confirmed=ada.confirmed.code, pending=ada.pending.code, cart_item=ada.cart_item.pk)


@pytest.mark.parametrize(("method", "path"), API_DOORS, ids=[f"{m} {p}" for m, p in API_DOORS])
def test_eve_with_a_token_cannot_reach_adas_orders_through_the_api(
    ada: Victim, eve_token: str, method: str, path: str
) -> None:
    before = ada.snapshot()
    response = _api(Client(), method, _fill(path, ada), eve_token)
    assert_problem(response, status=404, code="not_found")
    assert ada.snapshot() == before


@pytest.mark.parametrize(("method", "path"), API_DOORS, ids=[f"{m} {p}" for m, p in API_DOORS])
def test_eve_with_a_cookie_cannot_reach_adas_orders_through_the_api(
    ada: Victim, eve: Client, method: str, path: str
) -> None:
    before = ada.snapshot()
    response = _api(eve, method, _fill(path, ada), None)
    assert_problem(response, status=404, code="not_found")
    assert ada.snapshot() == before


@pytest.mark.parametrize(("method", "path"), API_DOORS[:6], ids=[f"{m} {p}" for m, p in API_DOORS[:6]])
def test_nobody_signed_in_is_asked_to_sign_in_first(ada: Victim, method: str, path: str) -> None:
    before = ada.snapshot()
    response = _api(Client(), method, _fill(path, ada), None)
    assert_problem(response, status=401, code="not_authenticated")
    assert ada.snapshot() == before


def test_an_order_that_does_not_exist_looks_the_same_as_adas(ada: Victim, eve_token: str) -> None:
    theirs = _api(Client(), "get", f"/api/orders/{ada.confirmed.code}", eve_token).json()
    nobodys = _api(Client(), "get", "/api/orders/BD-ZZZZZ", eve_token).json()
    assert {k: v for k, v in theirs.items() if k != "instance"} == {k: v for k, v in nobodys.items() if k != "instance"}


PAGES = [
    ("get", "/orders/{confirmed}"),
    ("get", "/orders/{pending}"),
    ("get", "/orders/{confirmed}/calendar.ics"),
    ("post", "/orders/{confirmed}/cancel"),
    ("get", "/payment/cancel?order={pending}"),
    ("post", "/payment/retry?order={pending}"),
]


@pytest.mark.parametrize(("method", "path"), PAGES, ids=[f"{m} {p}" for m, p in PAGES])
def test_eve_cannot_open_or_act_on_adas_order_pages(ada: Victim, eve: Client, method: str, path: str) -> None:
    before = ada.snapshot()
    response = getattr(eve, method)(_fill(path, ada))
    assert response.status_code == 404, (response.status_code, response.content[:300])
    assert b"ada@example.com" not in response.content
    assert ada.snapshot() == before


def test_eve_cannot_remove_an_item_from_adas_cart_through_the_page(ada: Victim, eve: Client) -> None:
    before = ada.snapshot()
    response = eve.post(f"/cart/items/{ada.cart_item.pk}/remove")
    assert response.status_code in (303, 404)
    assert ada.snapshot() == before


def test_adas_download_link_does_not_serve_eve(ada: Victim, eve: Client) -> None:
    before = ada.snapshot()
    response = eve.get(download_url(ada.grant))
    assert response.status_code in (403, 404)
    assert ada.snapshot() == before


def test_adas_download_link_does_not_serve_eves_token(ada: Victim, eve_token: str) -> None:
    before = ada.snapshot()
    response = Client().get(download_url(ada.grant), headers={"X-Session-Token": eve_token})
    assert response.status_code in (302, 403, 404)  # a sign-in page or a refusal, never the file
    assert not response.has_header("Content-Disposition")
    assert ada.snapshot() == before


def test_adas_download_link_asks_nobody_to_sign_in(ada: Victim) -> None:
    response = Client().get(download_url(ada.grant))
    assert response.status_code in (302, 401, 403, 404)
    assert ada.snapshot()[1][0][2] == 0  # not counted as a download


def test_adas_success_page_shows_eve_nothing_of_hers(ada: Victim, eve: Client) -> None:
    payment = ada.confirmed.payments.first()
    session = payment.stripe_session_id if payment else "cs_test_adas_session"
    response = eve.get(f"/payment/success?session_id={session}")
    assert response.status_code == 404
    assert ada.confirmed.code.encode() not in response.content


def test_eves_bookings_list_has_nothing_of_adas(ada: Victim, eve_token: str) -> None:
    body = _api(Client(), "get", "/api/bookings", eve_token).json()
    assert body["total"] == 0
    assert body["items"] == []

"""A page on another site makes Ada's browser send a request (CSRF), or sends her to a link of ours that
would bounce her on to the attacker's site (open redirect). Both are refused: an unsafe request carried by
her cookie without the CSRF token changes nothing, and no `next` leads off the site."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from bookdesk.cart.models import CartItem
from bookdesk.orders.models import Order
from factories import DEFAULT_PASSWORD
from problems import assert_problem

from .conftest import Victim

pytestmark = pytest.mark.django_db


@pytest.fixture
def adas_browser(ada: Victim) -> Client:
    """Ada's browser, signed in, on a page that does not carry our CSRF token."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(ada.user)
    return browser


API_WRITES = [
    ("post", "/api/cart/items", {"kind": "course", "course_id": "{course}"}),
    ("delete", "/api/cart/items/{cart_item}", None),
    ("post", "/api/checkout", None),
    ("post", "/api/stripe/checkout", {"course_id": "{course}"}),
    ("post", "/api/orders/{confirmed}/cancel", None),
    ("post", "/api/orders/{pending}/cancel", None),
    ("post", "/api/orders/{pending}/retry-payment", None),
]


def _fill(text: str, ada: Victim) -> Any:
    return text.format(
        confirmed=ada.confirmed.code, pending=ada.pending.code, cart_item=ada.cart_item.pk, course=ada.course.pk
    )


@pytest.mark.parametrize(("method", "path", "body"), API_WRITES, ids=[f"{m} {p}" for m, p, _ in API_WRITES])
def test_a_cookie_borne_api_write_without_the_csrf_token_is_refused(
    ada: Victim, adas_browser: Client, method: str, path: str, body: dict[str, str] | None
) -> None:
    before = ada.snapshot()
    payload = {k: (int(_fill(v, ada)) if v.startswith("{") else v) for k, v in (body or {}).items()}
    response = getattr(adas_browser, method)(_fill(path, ada), payload, content_type="application/json")
    assert_problem(response, status=403, code="csrf_failed")
    assert ada.snapshot() == before


PAGE_WRITES = [
    ("/cart/items", {"kind": "course", "course_id": "{course}"}),
    ("/cart/items/{cart_item}/remove", {}),
    ("/checkout", {}),
    ("/orders/{confirmed}/cancel", {}),
    ("/payment/retry?order={pending}", {}),
    ("/accounts/logout/", {}),
    ("/accounts/email/", {"action_remove": "", "email": "ada@example.com"}),
    ("/accounts/password/change/", {"oldpassword": "x", "password1": "Ev1l-pass-99", "password2": "Ev1l-pass-99"}),
]


@pytest.mark.parametrize(("path", "form"), PAGE_WRITES, ids=[p for p, _ in PAGE_WRITES])
def test_a_cross_site_form_post_is_refused(ada: Victim, adas_browser: Client, path: str, form: dict[str, str]) -> None:
    before = ada.snapshot()
    response = adas_browser.post(_fill(path, ada), {k: _fill(v, ada) for k, v in form.items()})
    assert response.status_code == 403
    assert b"Traceback" not in response.content
    assert ada.snapshot() == before
    assert "_auth_user_id" in adas_browser.session  # still signed in: the logout did not happen


def test_the_course_page_book_now_needs_the_token_too(ada: Victim, adas_browser: Client) -> None:
    orders = Order.objects.count()
    response = adas_browser.post(f"/courses/{ada.course.slug}/book")
    assert response.status_code == 403
    assert Order.objects.count() == orders


EVIL = [
    "https://evil.example/phish",
    "//evil.example/phish",
    "/\\evil.example/phish",
    "\\\\evil.example",
    "https:evil.example",
    "http://127.0.0.1.evil.example/",
    "javascript:alert(1)",
    " https://evil.example",
    "/%2F%2Fevil.example",
]


def _off_site(location: str) -> bool:
    parts = urlsplit(location.strip())
    return parts.netloc not in ("testserver", "") or parts.scheme not in ("", "http", "https")


@pytest.mark.parametrize("target", EVIL)
def test_signing_in_never_sends_ada_off_site(ada: Victim, target: str) -> None:
    response = Client().post(
        "/accounts/login/", {"login": "ada@example.com", "password": DEFAULT_PASSWORD, "next": target}
    )
    assert response.status_code == 302, response.content[:500]  # signed in, and sent somewhere of ours
    assert not _off_site(response["Location"]), response["Location"]
    assert not response["Location"].lstrip().startswith(("//", "/\\", "\\"))


@pytest.mark.parametrize("target", EVIL)
def test_adding_to_the_cart_never_sends_ada_off_site(ada: Victim, target: str) -> None:
    browser = Client()
    browser.force_login(ada.user)
    response = browser.post("/cart/items", {"kind": "course", "course_id": ada.course.pk, "next": target})
    assert response.status_code in (302, 303, 400, 409)
    if response.status_code in (302, 303):
        assert not _off_site(response["Location"]), response["Location"]
        assert not response["Location"].lstrip().startswith(("//", "/\\", "\\"))
    assert CartItem.objects.filter(cart__user=ada.user).count() >= 1

"""The sandbox's hosted checkout page, driven by real Chromium against an in-process sandbox.

Sessions are created with the real ``stripe`` SDK; success and cancel URLs point at a tiny shop
server started here, so the browser lands somewhere real. Each test leaves a screenshot of its
end state in ``test-output/screenshots/sandbox-<name>.png``.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe
from playwright.sync_api import Browser, Page

from chromium import SCREENSHOTS
from stripe_sandbox.hosted import cvc_error, expiry_error
from stripe_sandbox.pages import format_amount

# Playwright's sync API runs an event loop; harmless to Django's async guard, which we don't use.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = pytest.mark.e2e

EXPIRY = "12/34"
DECLINED = "Your card was declined."
INSUFFICIENT_FUNDS = "Your card has insufficient funds."
AUTHENTICATION_FAILED = (
    "We were unable to authenticate your payment method. Please choose a different payment method and try again."
)


# --- fixtures ------------------------------------------------------------------------------


class _ShopHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"<!doctype html><title>Shop</title><h1>The shop</h1><p id='path'>{self.path}</p>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    """The merchant's site: where success_url and cancel_url lead."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ShopHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def sandbox_base() -> Iterator[str]:
    from stripe_sandbox.server import Sandbox

    sandbox = Sandbox()
    base = sandbox.start(host="127.0.0.1", port=0)
    yield base.rstrip("/")
    sandbox.stop()


@pytest.fixture(scope="module")
def client(sandbox_base: str) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_123", base_addresses={"api": sandbox_base}, max_network_retries=0)


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser page; its end state is saved as a screenshot named after the test."""
    context = browser.new_context(viewport={"width": 1200, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = request.node.name.removeprefix("test_").replace("[", "-").replace("]", "")
    try:
        page.screenshot(path=str(SCREENSHOTS / f"sandbox-{name}.png"), full_page=True)
    finally:
        context.close()


def create_session(
    client: stripe.StripeClient,
    shop: str,
    *,
    currency: str = "eur",
    items: tuple[tuple[str, int, int], ...] = (("Pottery for beginners", 1, 4500),),
    email: str | None = "ada@example.com",
) -> Any:
    params: dict[str, Any] = {
        "mode": "payment",
        "success_url": f"{shop}/payment/success?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{shop}/payment/cancel?order=BD-1",
        "line_items": [
            {
                "quantity": quantity,
                "price_data": {"currency": currency, "unit_amount": unit, "product_data": {"name": name}},
            }
            for name, quantity, unit in items
        ],
    }
    if email:
        params["customer_email"] = email
    return client.v1.checkout.sessions.create(params=params)


def pay_with_card(page: Page, number: str, *, expiry: str = EXPIRY, cvc: str = "123") -> None:
    page.fill("#card-number", number)
    page.fill("#card-expiry", expiry)
    page.fill("#card-cvc", cvc)
    page.fill("#card-name", "Ada Lovelace")
    page.click("#pay-button")


def retrieve(client: stripe.StripeClient, session_id: str) -> Any:
    return client.v1.checkout.sessions.retrieve(session_id)


def success_url(shop: str, session_id: str) -> str:
    return f"{shop}/payment/success?session_id={session_id}"


# --- the page in a browser -----------------------------------------------------------------


def test_card_4242_pays_and_lands_on_success_url(page: Page, client: stripe.StripeClient, shop: str) -> None:
    session = create_session(client, shop)

    page.goto(session.url)
    assert page.inner_text("#customer-email") == "ada@example.com"
    pay_with_card(page, "4242 4242 4242 4242")
    page.wait_for_url(success_url(shop, session.id))

    paid = retrieve(client, session.id)
    assert (paid.status, paid.payment_status) == ("complete", "paid")


def test_declined_card_keeps_session_open_and_another_card_pays(
    page: Page, client: stripe.StripeClient, shop: str
) -> None:
    session = create_session(client, shop)

    page.goto(session.url)
    pay_with_card(page, "4000 0000 0000 0002")
    assert page.inner_text("#error") == DECLINED
    assert page.input_value("#card-expiry") == EXPIRY
    assert retrieve(client, session.id).status == "open"

    pay_with_card(page, "4242424242424242")
    page.wait_for_url(success_url(shop, session.id))
    assert retrieve(client, session.id).payment_status == "paid"


def test_insufficient_funds_card_says_so(page: Page, client: stripe.StripeClient, shop: str) -> None:
    session = create_session(client, shop)

    page.goto(session.url)
    pay_with_card(page, "4000 0000 0000 9995")

    assert page.inner_text("#error") == INSUFFICIENT_FUNDS
    assert retrieve(client, session.id).status == "open"


def test_3d_secure_approved_pays(page: Page, client: stripe.StripeClient, shop: str) -> None:
    session = create_session(client, shop)

    page.goto(session.url)
    pay_with_card(page, "4000 0025 0000 3155")
    page.wait_for_url(f"**/c/pay/{session.id}/3ds")
    assert "3-D Secure authentication" in page.inner_text("h1")
    page.click("#approve-3ds")
    page.wait_for_url(success_url(shop, session.id))

    paid = retrieve(client, session.id)
    assert (paid.status, paid.payment_status) == ("complete", "paid")


def test_3d_secure_failed_shows_error_and_session_stays_open(
    page: Page, client: stripe.StripeClient, shop: str
) -> None:
    session = create_session(client, shop)

    page.goto(session.url)
    pay_with_card(page, "4000 0025 0000 3155")
    page.click("#fail-3ds")

    page.wait_for_selector("#error")
    assert page.inner_text("#error") == AUTHENTICATION_FAILED
    assert page.is_visible("#pay-button")
    assert retrieve(client, session.id).status == "open"


def test_cancel_link_returns_to_shop_and_session_stays_open(page: Page, client: stripe.StripeClient, shop: str) -> None:
    session = create_session(client, shop)

    page.goto(session.url)
    assert "Cancel and return to the shop" in page.inner_text("#cancel-link")
    page.click("#cancel-link")
    page.wait_for_url(f"{shop}/payment/cancel?order=BD-1")
    page.goto(f"{session.url}/cancel")
    page.wait_for_url(f"{shop}/payment/cancel?order=BD-1")

    assert retrieve(client, session.id).status == "open"


def test_bank_debit_completes_unpaid_then_settles_paid(page: Page, client: stripe.StripeClient, shop: str) -> None:
    session = create_session(client, shop)

    page.goto(session.url)
    page.check("#sepa-outcome-succeeded")
    page.fill("#sepa-delay", "1")
    page.click("#sepa-button")
    page.wait_for_url(success_url(shop, session.id))

    pending = retrieve(client, session.id)
    assert (pending.status, pending.payment_status) == ("complete", "unpaid")
    deadline = time.monotonic() + 15
    while retrieve(client, session.id).payment_status != "paid":
        assert time.monotonic() < deadline, "the bank debit never settled"
        time.sleep(0.2)


def test_failing_bank_debit_completes_then_fails_later(page: Page, client: stripe.StripeClient, shop: str) -> None:
    session = create_session(client, shop)

    page.goto(session.url)
    page.check("#sepa-outcome-failed")
    page.fill("#sepa-delay", "0.5")
    page.click("#sepa-button")
    page.wait_for_url(success_url(shop, session.id))

    deadline = time.monotonic() + 15
    while not failed_events(client, session.id):
        assert time.monotonic() < deadline, "the bank debit never failed"
        time.sleep(0.2)
    assert retrieve(client, session.id).payment_status == "unpaid"


def failed_events(client: stripe.StripeClient, session_id: str) -> list[Any]:
    events = client.v1.events.list(params={"type": "checkout.session.async_payment_failed"})
    return [event for event in events.data if event.data.object["id"] == session_id]


def test_page_works_without_javascript(browser: Browser, client: stripe.StripeClient, shop: str) -> None:
    session = create_session(client, shop)
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(session.url)
        pay_with_card(page, "4000 0000 0000 0002")
        assert page.inner_text("#error") == DECLINED
        pay_with_card(page, "4242 4242 4242 4242")
        page.wait_for_url(success_url(shop, session.id))
    finally:
        context.close()
    assert retrieve(client, session.id).payment_status == "paid"


def test_page_fits_a_phone_screen(browser: Browser, client: stripe.StripeClient, shop: str) -> None:
    session = create_session(client, shop, items=(("Pottery for beginners, Saturday mornings", 2, 4500),))
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(session.url)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert page.locator("#pay-button").bounding_box()["width"] > 300  # type: ignore[index]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "sandbox-phone.png"), full_page=True)
    finally:
        context.close()


def test_unknown_session_is_a_readable_404(page: Page, sandbox_base: str) -> None:
    response = page.goto(f"{sandbox_base}/c/pay/cs_test_doesnotexist")

    assert response.status == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "Checkout session not found" in page.inner_text("h1")


@pytest.mark.parametrize(
    ("currency", "items", "total", "line"),
    [
        ("eur", (("Pottery for beginners", 2, 4500), ("Studio time, 2 h", 1, 123456)), "€1,324.56", "€90.00"),
        ("jpy", (("Ceramics course", 3, 1500),), "¥4,500", "¥4,500"),
    ],
    ids=["eur", "jpy"],
)
def test_totals_are_formatted_for_the_currency(
    page: Page,
    client: stripe.StripeClient,
    shop: str,
    currency: str,
    items: tuple[tuple[str, int, int], ...],
    total: str,
    line: str,
) -> None:
    session = create_session(client, shop, currency=currency, items=items, email=None)

    response = page.goto(session.url)

    assert response.headers["cache-control"] == "no-store"
    assert page.inner_text("#total") == total
    assert page.inner_text(".line-item .amount >> nth=0") == line
    assert f"× {items[0][1]}" in page.inner_text(".line-item >> nth=0")
    assert page.locator("#customer-email").count() == 0


def test_invalid_expiry_and_cvc_are_explained_and_change_nothing(
    page: Page, client: stripe.StripeClient, shop: str
) -> None:
    session = create_session(client, shop)

    page.goto(session.url)
    pay_with_card(page, "4242 4242 4242 4242", expiry="13/30", cvc="12")

    error = page.inner_text("#error")
    assert "expiration month is invalid" in error
    assert "security code is incomplete" in error
    assert page.input_value("#card-number") == "4242 4242 4242 4242"
    assert retrieve(client, session.id).status == "open"


def test_merchant_text_is_escaped(page: Page, client: stripe.StripeClient, shop: str) -> None:
    name = "<img src=x onerror=alert(1)> Course"
    session = create_session(client, shop, items=((name, 1, 1000),))

    page.goto(session.url)

    assert page.inner_text(".line-item .description") == name
    assert page.locator(".line-item img").count() == 0


def test_paid_session_says_already_paid(page: Page, client: stripe.StripeClient, shop: str) -> None:
    session = create_session(client, shop)
    page.goto(session.url)
    pay_with_card(page, "4242 4242 4242 4242")
    page.wait_for_url(success_url(shop, session.id))

    page.goto(session.url)

    assert "already paid" in page.inner_text("h1")
    assert page.get_attribute("#success-link", "href") == success_url(shop, session.id)
    # Paying again (a second tab, a double submit) is refused with the same page.
    again = page.request.post(session.url, form={"method": "card", "number": "4242424242424242"})
    assert again.status == 409
    assert "already paid" in again.text()


def test_expired_session_says_so_and_links_back(page: Page, client: stripe.StripeClient, shop: str) -> None:
    session = create_session(client, shop)
    client.v1.checkout.sessions.expire(session.id)

    page.goto(session.url)

    assert "expired" in page.inner_text("h1")
    assert page.get_attribute("#cancel-link", "href") == f"{shop}/payment/cancel?order=BD-1"


# --- pure helpers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (4500, "eur", "€45.00"),
        (123456789, "EUR", "€1,234,567.89"),
        (5, "usd", "$0.05"),
        (1500, "jpy", "¥1,500"),
        (50000, "krw", "₩50,000"),
        (1234, "kwd", "1.234 KWD"),
        (999, "sek", "9.99 SEK"),
        (-250, "gbp", "-£2.50"),
    ],
)
def test_format_amount(amount: int, currency: str, expected: str) -> None:
    assert format_amount(amount, currency) == expected


@pytest.mark.parametrize(
    ("expiry", "plausible"),
    [("12/34", True), ("1/30", True), ("12 / 2034", True), ("00/30", False), ("12/20", False), ("1234", False)],
)
def test_expiry_must_be_a_future_month(expiry: str, plausible: bool) -> None:
    assert (expiry_error(expiry, dt.date(2025, 6, 1)) is None) is plausible


def test_cvc_is_three_or_four_digits() -> None:
    assert [cvc_error(cvc) is None for cvc in ("123", "1234", "12", "12a", "")] == [True, True, False, False, False]

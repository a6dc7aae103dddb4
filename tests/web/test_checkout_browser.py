"""Cart and checkout in real Chromium against the live server and the in-process Stripe sandbox.

A customer signs in, fills the cart from the offer pages, proceeds to payment, cancels on the sandbox's
hosted page, comes back with the cart kept, tries again and pays; and a course that sells out between
cart and checkout is explained on the page, with nothing charged. End states are saved as screenshots in
test-output/screenshots/checkout-*.png.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from bookdesk.cart.models import CartItem
from bookdesk.catalog.selectors import business_today
from bookdesk.orders.models import Order
from bookdesk.orders.services import ItemRequest, order_place
from bookdesk.payments.models import Payment
from chromium import new_page, pay_by_card, requires_chromium, screenshotter, sign_in
from factories import CourseFactory, UserFactory

pytestmark = [
    pytest.mark.e2e,
    requires_chromium,
]


@pytest.fixture
def shop(live_server: Any, stripe_sandbox: Any, settings: Any) -> str:
    """The live server, with Stripe's success and cancel URLs pointing back at it."""
    settings.SITE_URL = live_server.url
    return str(live_server.url)


screenshot = screenshotter("checkout")


def sign_in_at_home(page: Any, shop: str, email: str) -> None:
    sign_in(page, shop, email)
    page.wait_for_url(f"{shop}/")
    assert page.locator(".nav-user").inner_text() == email


def add_to_cart(page: Any, url: str, button: Any) -> None:
    page.goto(url)
    button(page).click()
    page.wait_for_selector(".message-success")
    assert "Added to your cart" in page.locator(".message-success").inner_text()


def test_proceed_cancel_on_the_hosted_page_keep_the_cart_then_pay(
    page: Any, shop: str, catalog: Any, stripe_sandbox: Any
) -> None:
    sign_in_at_home(page, shop, "ada@example.com")
    add_to_cart(page, f"{shop}/courses/{catalog.course.slug}", lambda p: p.get_by_role("button", name="Add to cart"))
    screenshot(page, "course-added")
    add_to_cart(
        page,
        f"{shop}/products/{catalog.beat.pk}",
        lambda p: p.get_by_role("button", name="Add the Basic lease of Night Drive to the cart"),
    )
    screenshot(page, "product-added")
    day = business_today() + dt.timedelta(days=7)
    add_to_cart(
        page, f"{shop}/services/{catalog.service.pk}?date={day.isoformat()}", lambda p: p.locator(".slot-button").first
    )
    screenshot(page, "service-added")
    assert page.locator(".cart-count").inner_text() == "3"

    page.goto(f"{shop}/checkout")
    assert page.locator(".summary-line").count() == 3
    assert page.locator('[data-amount="total"]').inner_text() == "€268.99"
    screenshot(page, "checkout")

    # The sandbox answers slowly, so the loading state can be seen.
    sandbox = stripe_sandbox
    sandbox.faults.update({"latency_ms": 1500})
    page.click("#pay-button")
    assert page.locator("#pay-button").is_disabled()
    assert page.locator("#pay-button").inner_text() == "Opening the payment page…"
    screenshot(page, "checkout-loading")
    page.wait_for_url(re.compile("^" + re.escape(sandbox.base_url) + "/c/pay/"))
    sandbox.faults.reset()
    assert page.locator("#total").inner_text() == "€268.99"
    order = Order.objects.get(user__email="ada@example.com")
    assert order.total_amount == 26_899

    page.click("#cancel-link")
    page.wait_for_url(f"{shop}/payment/cancel?order={order.code}")
    assert "Nothing was charged." in page.locator("main").inner_text()
    assert "Your cart is kept, with 3 items in it." in page.locator("main").inner_text()
    screenshot(page, "cancel")

    page.goto(f"{shop}/cart")
    assert page.locator("tr.line").count() == 3
    assert f"You have an unpaid order {order.code}" in page.locator("main").inner_text()
    screenshot(page, "cart-after-cancel")

    page.goto(f"{shop}/payment/cancel?order={order.code}")
    page.click("#retry-button")
    page.wait_for_url(re.compile("^" + re.escape(sandbox.base_url) + "/c/pay/"))
    assert Payment.objects.filter(order=order).count() == 2
    pay_by_card(page)
    page.wait_for_url(f"{shop}/payment/success?session_id=*")
    assert "Your booking is confirmed" in page.locator("h1").inner_text()
    assert order.code in page.locator(".order-summary").inner_text()
    screenshot(page, "success-confirmed")
    assert not page.problems, page.problems


def test_sold_out_between_cart_and_checkout_is_explained_and_nothing_is_charged(
    page: Any, shop: str, catalog: Any
) -> None:
    course = CourseFactory(title="Tiny class", slug="tiny-class", capacity=1, price_amount=5000)
    sign_in_at_home(page, shop, "bo@example.com")
    add_to_cart(page, f"{shop}/courses/{course.slug}", lambda p: p.get_by_role("button", name="Add to cart"))
    add_to_cart(
        page,
        f"{shop}/products/{catalog.beat.pk}",
        lambda p: p.get_by_role("button", name="Add the Premium lease of Night Drive to the cart"),
    )
    page.goto(f"{shop}/checkout")
    assert page.locator("#pay-button").inner_text() == "Proceed to payment"

    # Someone else takes the last seat while the customer looks at the page.
    order_place(user=UserFactory(), items=[ItemRequest(kind="course", course_id=course.pk)])
    page.click("#pay-button")

    page.wait_for_selector("#checkout-error:not([hidden])")
    assert page.locator("#checkout-error-detail").inner_text() == "“Tiny class” is sold out."
    assert "Nothing was charged." in page.locator("#checkout-error").inner_text()
    assert page.locator("#pay-button").inner_text() == "Try again"
    assert page.locator("#pay-button").is_enabled()
    assert page.url == f"{shop}/checkout"
    screenshot(page, "sold-out")
    assert not Order.objects.filter(user__email="bo@example.com").exists()
    assert CartItem.objects.filter(cart__user__email="bo@example.com").count() == 2

    # The cart shows which line is the problem.
    page.goto(f"{shop}/cart")
    assert "Cannot be bought now" in page.locator("tr.line-problem").inner_text()
    screenshot(page, "cart-sold-out")

    response = page.goto(f"{shop}/payment/success?session_id=cs_test_not_a_real_one")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "We could not find this payment"
    screenshot(page, "success-not-found")
    # Chromium logs the refused requests (409, 404) itself; nothing else went wrong.
    assert [problem for problem in page.problems if "status of 40" not in problem] == []


def test_cart_fits_a_phone(shop: str, catalog: Any, browser: Any) -> None:
    phone = new_page(browser, viewport={"width": 375, "height": 812}, is_mobile=True)
    try:
        phone.goto(f"{shop}/courses/{catalog.course.slug}")
        phone.get_by_role("button", name="Add to cart").click()
        phone.wait_for_selector(".message-success")
        phone.goto(f"{shop}/products/{catalog.merch.pk}")
        phone.get_by_role("button", name="Add to cart").click()
        phone.wait_for_selector(".message-success")
        phone.goto(f"{shop}/cart")
        assert phone.locator("tr.line").count() == 2
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        screenshot(phone, "cart-phone")
    finally:
        phone.context.close()


def test_proceed_to_payment_works_without_javascript(
    browser: Any, shop: str, catalog: Any, stripe_sandbox: Any
) -> None:
    page = new_page(browser, java_script_enabled=False)
    try:
        sign_in_at_home(page, shop, "cy@example.com")
        add_to_cart(
            page, f"{shop}/courses/{catalog.course.slug}", lambda p: p.get_by_role("button", name="Add to cart")
        )
        page.goto(f"{shop}/checkout")
        page.click("#pay-button")
        # The form posts to /checkout, which answers 303 to the hosted page (the CSP's form-action allows it).
        page.wait_for_url(re.compile("^" + re.escape(stripe_sandbox.base_url) + "/c/pay/"))
        assert page.locator("#total").inner_text() == "€149.00"
    finally:
        page.context.close()

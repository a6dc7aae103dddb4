"""/bookings and /orders/<code> in real Chromium: a customer with a paid seat (through the sandbox and signed
webhooks), a failed payment, a license and an unpaid slot signs in, sees them, and cancels the seat within the
policy. End states are saved as test-output/screenshots/bookings-*.png."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from bookdesk.catalog.models import License
from bookdesk.orders.models import Order, OrderStatus
from chromium import fill_sign_in, requires_chromium, screenshotter
from factories import CourseFactory, confirm, place, signed_in, slot, studio, verified_customer
from payments.conftest import SECRET, book, deliver, pay, run_inbox, session_events

from .conftest import course_item, fail, license_item, slot_item

pytestmark = [
    pytest.mark.e2e,
    requires_chromium,
]


screenshot = screenshotter("bookings")


def test_a_customer_sees_their_bookings_and_cancels_a_seat(
    page: Any, live_server: Any, stripe_client: stripe.StripeClient, settings: Any, beat: Any
) -> None:
    settings.SITE_URL = live_server.url
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    shop = str(live_server.url)
    ada = verified_customer("ada@example.com")
    service, day = studio(days_ahead=5)
    fail(place(ada, course_item(CourseFactory(title="Vocal coaching", location="Room 2"))))
    confirm(place(ada, license_item(beat, License.Tier.PREMIUM)))
    place(ada, slot_item(service, slot(day, 11)))
    answer = book(
        signed_in(ada), CourseFactory(title="Mixing basics", location="Studio A, Berlin", price_amount=14900).pk
    )
    pay(stripe_client, answer["session_id"])
    for event in session_events(stripe_client, answer["session_id"]):
        assert deliver(event).status_code == 200
    run_inbox()
    code = answer["order"]["code"]

    page.goto(f"{shop}/bookings")
    fill_sign_in(page, ada.email)
    page.wait_for_url(f"{shop}/bookings")
    assert page.locator("li.booking").count() == 4
    assert page.get_by_role("link", name="My bookings").get_attribute("aria-current") == "page"
    mixing = page.locator("li.booking", has_text="Mixing basics")
    assert mixing.locator(".badge").first.inner_text() == "Confirmed"
    assert page.locator("li.booking", has_text="Vocal coaching").get_by_role("button", name="Try paying again").count()
    screenshot(page, "list")

    page.select_option("#filter-kind", "course")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(f"{shop}/bookings?*kind=course*")
    assert page.locator("li.booking").count() == 2
    screenshot(page, "list-courses")

    mixing = page.locator("li.booking", has_text="Mixing basics")
    mixing.get_by_role("link", name="Order details").click()
    page.wait_for_url(f"{shop}/orders/{code}")
    assert "Payment received." in page.locator(".timeline").inner_text()
    assert page.locator("#payment-1").inner_text().count("Paid")
    screenshot(page, "order")

    page.get_by_role("link", name="Cancel what can be cancelled").click()
    page.wait_for_url(f"{shop}/orders/{code}/cancel")
    screenshot(page, "cancel-confirm")
    page.click("#confirm-cancel")
    page.wait_for_url(f"{shop}/orders/{code}")
    said = page.locator(".messages").inner_text()
    assert said.startswith("Cancelled: Mixing basics")
    assert "€149.00 is being refunded" in said
    assert "Refund of €149.00 issued." in page.locator(".timeline").inner_text()
    assert Order.objects.get(code=code).status == OrderStatus.REFUNDED
    screenshot(page, "order-cancelled")
    assert not page.problems, page.problems

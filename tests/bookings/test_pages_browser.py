"""/bookings and /orders/<code> in real Chromium: a customer with a paid seat (through the sandbox and signed
webhooks), a failed payment, a license and an unpaid slot signs in, sees them, and cancels the seat within the
policy; goods with their parcel, at 1280 and 390 px. End states are saved as test-output/screenshots/bookings-*.png."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from bookdesk.catalog.models import License, Product
from bookdesk.orders.models import Order, OrderStatus
from chromium import fill_sign_in, requires_chromium, screenshotter
from factories import CourseFactory, PhysicalProductFactory, confirm, place, signed_in, slot, studio, verified_customer
from payments.conftest import SECRET, book, deliver, pay, run_inbox, session_events

from .conftest import TRACKING_NUMBER, course_item, fail, goods_item, license_item, parcel, slot_item

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


@pytest.mark.django_db(transaction=True)  # the shipping zones are seeded again (an earlier live server flushed them)
def test_goods_read_with_their_parcel_on_a_desktop_and_a_phone(page: Any, live_server: Any, vinyl: Product) -> None:
    shop = str(live_server.url)
    ada = verified_customer("ada@example.com")
    fail(place(ada, goods_item(PhysicalProductFactory(title="Poster"))))
    parcel(confirm(place(ada, course_item(CourseFactory(title="Mixing basics")), goods_item(vinyl, 2))))
    shirt = PhysicalProductFactory(title="Studio T-shirt, black, size M")
    sent = parcel(confirm(place(ada, goods_item(shirt))), shipped=True)

    page.goto(f"{shop}/bookings?kind=goods")
    fill_sign_in(page, ada.email)
    page.wait_for_url(f"{shop}/bookings?kind=goods")
    assert page.locator("li.booking").count() == 3
    card = page.locator("li.booking", has_text="Studio T-shirt")
    assert card.locator("h2").inner_text() == "1 × Studio T-shirt, black, size M"
    assert card.locator(".shipment-status").inner_text() == "Shipped"
    link = card.get_by_role("link", name=f"Track the parcel (DHL {TRACKING_NUMBER})")
    assert link.get_attribute("href") == sent.tracking_url
    record = page.locator("li.booking", has_text="Night Sessions LP")
    assert record.locator(".shipment-status").inner_text() == "To ship"
    assert record.get_by_role("link", name="Cancel · refund €60.90").count() == 1  # €56.00 and €4.90 shipping
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"/bookings scrolls sideways at {width} px by {overflow} px"
        box = link.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= width
        screenshot(page, f"goods-{width}")
    assert not page.problems, page.problems

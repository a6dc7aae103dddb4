"""A record and a course seat bought in Chromium: both in the cart → the address and a shipping option on the
sandbox's payment page → the order confirmed with that address → shipped → the tracking email arrives → the
shipped record offers no Cancel, the seat does: cancelled, the order partially refunded with a credit note."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.management import call_command

from bookdesk.catalog.models import Course, Product
from bookdesk.orders.models import Order, OrderStatus, Shipment
from bookdesk.orders.shipping import shipment_mark_shipped
from bookdesk.payments.models import CreditNote, Payment
from chromium import screenshotter, sign_in

from .conftest import Shop

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

screenshot = screenshotter("e2e-goods")


@pytest.fixture(autouse=True)
def demo_catalog(demo_media: Any) -> None:
    call_command("seed", verbosity=0)


def test_a_record_ships_to_the_address_given_on_the_payment_page(page: Any, shop: Shop) -> None:
    sign_in(page, shop.url, "ada@example.com")
    vinyl = Product.objects.get(slug="vinyl-night-sessions-lp")
    page.goto(f"{shop.url}/products/{vinyl.pk}")
    assert "In stock" in page.inner_text("#stock-left")
    page.fill("#quantity", "2")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_selector(".message-success")
    seat = Course.objects.get(slug="beatmaking-101")
    page.goto(f"{shop.url}/courses/{seat.slug}")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_selector(".message-success")
    page.goto(f"{shop.url}/checkout")
    page.click("#pay-button")
    page.wait_for_url(f"{shop.sandbox.base_url}/c/pay/**")

    # The address form, countries limited to where the shop ships; two screenshots (desktop, phone).
    assert page.locator("#shipping_country option[value=FR]").count() == 1
    assert page.locator("#shipping_country option[value=BR]").count() == 0
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"hosted-address-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})

    # Missing fields are said and nothing is charged.
    page.fill("#card-number", "4242 4242 4242 4242")
    page.fill("#card-expiry", "12/34")
    page.fill("#card-cvc", "123")
    page.evaluate("document.querySelectorAll('[required]').forEach(e => e.removeAttribute('required'))")
    page.click("#pay-button")
    page.wait_for_selector("#error")
    assert "Enter the address" in page.inner_text("#error")
    screenshot(page, "hosted-address-errors")

    page.fill("#shipping_name", "Marie Curie")
    page.fill("#shipping_line1", "12 rue de Rivoli")
    page.fill("#shipping_postal_code", "75004")
    page.fill("#shipping_city", "Paris")
    page.select_option("#shipping_country", "FR")
    page.get_by_label(re.compile("European Union")).check()
    page.fill("#card-number", "4242 4242 4242 4242")
    page.fill("#card-expiry", "12/34")
    page.fill("#card-cvc", "123")
    page.fill("#card-name", "Marie Curie")
    page.click("#pay-button")
    page.wait_for_url(f"{shop.url}/payment/success?session_id=*")

    session_id = re.search(r"session_id=([\w-]+)", page.url)
    assert session_id
    order = Payment.objects.get(session_id=session_id[1]).order
    order = shop.wait(lambda: Order.objects.filter(pk=order.pk, status=OrderStatus.CONFIRMED).first(), "confirmed")
    assert (order.shipping_amount, order.total_amount) == (990, 2 * 2800 + seat.price_amount + 990)
    page.reload()
    assert "12 rue de Rivoli" in page.inner_text("#shipment-address")
    assert "75004 Paris" in page.inner_text("#shipment-address")
    assert "France" in page.inner_text("#shipment-address")  # the country by its name, not "FR"
    screenshot(page, "success-with-address")

    shipment = Shipment.objects.get(order=order)
    shipment_mark_shipped(
        shipment_id=shipment.pk, carrier="dhl", tracking_number="00340434161094042557", actor="admin:1"
    )
    (message,) = shop.wait(
        lambda: [m for m in shop.mail.messages if "on its way" in str(m["Subject"])], "the tracking email"
    )
    assert message["To"] == "ada@example.com"
    page.goto(f"{shop.url}/orders/{order.code}")
    assert "00340434161094042557" in page.inner_text("#tracking-link")
    screenshot(page, "order-shipped")

    # The record has left: no Cancel on its line, and why; the seat can still be cancelled, alone.
    record = page.locator("li", has_text=vinyl.title).first
    assert record.locator("[data-action=cancel-line]").count() == 0
    assert "shipped" in record.inner_text()
    page.locator("li", has_text=seat.title).first.locator("[data-action=cancel-line]").click()
    page.wait_for_url(f"{shop.url}/orders/{order.code}/lines/*/cancel")
    screenshot(page, "cancel-seat")
    page.click("#confirm-cancel")
    page.wait_for_url(f"{shop.url}/orders/{order.code}*")
    assert page.inner_text("#order-status") == "Partially refunded"
    order.refresh_from_db()
    assert order.amount_refunded == seat.price_amount  # the seat with its tax (prices include it), no shipping
    note = CreditNote.objects.get(invoice__order=order)
    assert note.total_amount == seat.price_amount
    assert note.number in page.inner_text("#documents-heading + ul")
    screenshot(page, "seat-cancelled")

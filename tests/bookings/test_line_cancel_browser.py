"""One line cancelled in real Chromium: an order of a course seat and a license whose file was downloaded.
The seat's line offers Cancel with its refund; the downloaded license offers none and says why. Cancelling
the seat refunds it through the sandbox and leaves the order partially refunded. Screenshots at 1280 and
390 px: test-output/screenshots/line-cancel-*.png."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import stripe
from django.core.files.base import ContentFile
from django.utils import timezone

from bookdesk.orders.downloads import download_url
from bookdesk.orders.models import Grant, HoldStatus, Order, OrderLine, OrderStatus
from bookdesk.payments.models import Payment
from chromium import fill_sign_in, requires_chromium, screenshotter
from factories import BeatFactory, CourseFactory, signed_in, verified_customer
from payments.conftest import SECRET, deliver, pay, run_inbox, session_events

pytestmark = [pytest.mark.e2e, requires_chromium]

screenshot = screenshotter("line-cancel")


def test_a_customer_cancels_the_seat_and_the_downloaded_license_stays(
    page: Any, live_server: Any, stripe_client: stripe.StripeClient, settings: Any, tmp_path: Path
) -> None:
    settings.SITE_URL = live_server.url
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.MEDIA_ROOT = tmp_path / "media"
    shop = str(live_server.url)
    ada = verified_customer("ada@example.com")
    course = CourseFactory(title="Mixing basics", price_amount=10_000, starts_at=timezone.now() + timedelta(days=9))
    beat = BeatFactory(title="Night Drive")
    beat.file.save("night-drive.wav", ContentFile(b"RIFF" + bytes(100)))
    api = signed_in(ada)
    for item in (
        {"kind": "course", "course_id": course.pk},
        {"kind": "product", "product_id": beat.pk, "license_id": beat.licenses.get(tier="basic").pk},
    ):
        assert api.post("/api/cart/items", item, content_type="application/json").status_code == 201
    answer = api.post("/api/checkout").json()
    pay(stripe_client, answer["session_id"])
    for event in session_events(stripe_client, answer["session_id"]):
        assert deliver(event).status_code == 200
    run_inbox()
    code = answer["order"]["code"]
    grant = Grant.objects.get(line__order__code=code)
    downloaded = api.get(urlsplit(download_url(grant)).path)  # the customer downloads the file, for real
    assert downloaded.status_code == 200
    b"".join(downloaded.streaming_content)
    course_line = OrderLine.objects.get(order__code=code, kind="course")
    license_line = OrderLine.objects.get(order__code=code, kind="product")

    page.goto(f"{shop}/orders/{code}")
    fill_sign_in(page, ada.email)
    page.wait_for_url(f"{shop}/orders/{code}")
    seat = page.locator(f"#line-{course_line.pk}")
    licence = page.locator(f"#line-{license_line.pk}")
    assert seat.get_by_role("link", name="Cancel · refund €100.00").count() == 1
    assert licence.locator("[data-action=cancel-line]").count() == 0
    assert "downloaded" in licence.inner_text()
    assert "cannot be cancelled" not in page.content()
    screenshot(page, "order-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "order-390")
    page.set_viewport_size({"width": 1280, "height": 900})

    seat.get_by_role("link", name="Cancel · refund €100.00").click()
    page.wait_for_url(f"{shop}/orders/{code}/lines/{course_line.pk}/cancel")
    screenshot(page, "confirm")
    page.click("#confirm-cancel")
    page.wait_for_url(f"{shop}/orders/{code}")

    assert page.locator("#order-status").inner_text() == "Partially refunded"
    assert "€100.00 is being refunded" in page.locator(".messages").inner_text()
    assert page.locator("[data-action=cancel-line]").count() == 0
    assert "Cancelled: Mixing basics" in page.locator(".timeline").inner_text()
    screenshot(page, "cancelled-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "cancelled-390")
    order = Order.objects.get(code=code)
    assert (order.status, order.amount_refunded) == (OrderStatus.PARTIALLY_REFUNDED, 10_000)
    intent = Payment.objects.get(order=order).payment_intent_id
    assert sum(r.amount for r in stripe_client.v1.refunds.list(params={"payment_intent": intent}).data) == 10_000
    assert Grant.objects.get(pk=grant.pk).status == HoldStatus.CONFIRMED
    assert not page.problems, page.problems

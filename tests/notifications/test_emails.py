"""The customer's emails about an order: one per key, with what the customer needs in them."""

from __future__ import annotations

from typing import Any

import pytest

from bookdesk.catalog.models import License
from bookdesk.notifications.models import OutgoingEmail
from bookdesk.notifications.services import (
    notify_duplicate_payment_refunded,
    notify_late_payment_refunded,
    notify_order_confirmed,
    notify_payment_failed,
    notify_refund_issued,
)
from bookdesk.orders.downloads import grant_from_token
from bookdesk.orders.models import Grant, Order
from bookdesk.orders.services import ItemRequest
from factories import BeatFactory, CourseFactory, UserFactory

from .conftest import confirmed_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def order() -> Order:
    return confirmed_order(user=UserFactory(), items=[ItemRequest(kind="course", course_id=CourseFactory().pk)])


def test_confirmation_is_queued_once_per_order(order: Order) -> None:
    first = notify_order_confirmed(order)
    second = notify_order_confirmed(order)

    assert first.pk == second.pk
    assert first.key == f"order:{order.code}:confirmation"
    assert first.to == order.email
    assert first.order == order
    assert OutgoingEmail.objects.filter(order=order).count() == 1


def test_confirmation_lists_lines_and_totals_and_escapes_html() -> None:
    course = CourseFactory(title="Beats & <b>bass</b>", price_amount=12345)
    order = confirmed_order(user=UserFactory(), items=[ItemRequest(kind="course", course_id=course.pk)])

    queued = notify_order_confirmed(order)

    assert "Beats & <b>bass</b>" in queued.text_body  # plain text is not HTML-escaped
    assert "Beats &amp; &lt;b&gt;bass&lt;/b&gt;" in queued.html_body
    assert "<b>bass</b>" not in queued.html_body
    assert "Total: €123.45" in queued.text_body
    assert "€123.45" in queued.html_body
    assert f"/orders/{order.code}" in queued.text_body
    assert len(queued.attachments) == 1
    assert queued.attachments[0]["filename"] == f"{order.code}.ics"
    assert queued.attachments[0]["mimetype"].startswith("text/calendar")


def test_confirmation_carries_a_download_link_per_confirmed_license(settings: Any) -> None:
    beat = BeatFactory(title="Night Drive")
    order = confirmed_order(
        user=UserFactory(),
        items=[ItemRequest(kind="product", product_id=beat.pk, license_id=beat.licenses.get(tier="premium").pk)],
    )
    grant = Grant.objects.get(line__order=order)

    License.objects.filter(pk=grant.license_id).update(deliverables=["mp3", "wav", "stems"])
    grant.refresh_from_db()

    queued = notify_order_confirmed(order)

    links = [line.strip().split(": ", 1)[1] for line in queued.text_body.splitlines() if "/downloads/" in line]
    assert [grant_from_token(link.rsplit("/", 1)[1]) for link in links] == [
        (grant.pk, "mp3"), (grant.pk, "wav"), (grant.pk, "stems"), (grant.pk, "license"),
    ]  # fmt: skip
    for link in links:
        assert link.startswith(f"{settings.SITE_URL}/downloads/")
        assert link in queued.html_body
    assert "7 days" in queued.text_body
    assert queued.attachments == []  # no dates, no calendar


def test_payment_failed_is_one_email_per_attempt(order: Order) -> None:
    first = notify_payment_failed(order, "https://shop.example/payment/retry?order=X", attempt=1)
    again = notify_payment_failed(order, "https://shop.example/payment/retry?order=X", attempt=1)
    second = notify_payment_failed(order, "https://shop.example/payment/retry?order=X", attempt=2)

    assert first.pk == again.pk != second.pk
    assert [first.key, second.key] == [f"order:{order.code}:payment_failed:1", f"order:{order.code}:payment_failed:2"]
    assert "https://shop.example/payment/retry?order=X" in first.text_body


def test_payment_failed_without_an_attempt_counts_the_orders_payments(order: Order) -> None:
    assert notify_payment_failed(order, "https://shop.example/retry").key == f"order:{order.code}:payment_failed:1"


def test_refund_emails_have_their_own_keys(order: Order) -> None:
    refund = notify_refund_issued(order, 4000, "re_123")
    late = notify_late_payment_refunded(order, order.total_amount, "re_456")
    duplicate = notify_duplicate_payment_refunded(order, order.total_amount, "re_789")

    assert refund.key == "refund:re_123"
    assert late.key == f"order:{order.code}:late_refund:re_456"
    assert duplicate.key == f"order:{order.code}:duplicate_refund:re_789"
    assert notify_refund_issued(order, 4000, "re_123").pk == refund.pk
    assert "€40.00" in refund.subject
    assert "re_123" in refund.text_body
    assert "re_456" in late.text_body
    assert "re_789" in duplicate.text_body
    assert all(email.html_body and email.subject for email in (refund, late, duplicate))

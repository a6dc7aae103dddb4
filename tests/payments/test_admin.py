"""Operators see orders, their holds, payments and audit trail in the admin, read-only."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from bookdesk.orders.models import Booking, Order
from bookdesk.payments.models import Payment
from factories import CourseFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_sandbox")]


@pytest.fixture
def order() -> Order:
    client = Client()
    client.force_login(UserFactory(email="lin@example.com"))
    code = client.post(
        "/api/stripe/checkout", {"course_id": CourseFactory(title="Mixing").pk}, content_type="application/json"
    ).json()["order"]["code"]
    return Order.objects.get(code=code)


@pytest.mark.parametrize("model", ["order", "booking", "reservation", "grant", "auditentry"])
def test_order_changelists_render(admin_client: Any, order: Order, model: str) -> None:
    app = "orders"
    response = admin_client.get(reverse(f"admin:{app}_{model}_changelist"))
    assert response.status_code == 200


def test_the_order_page_shows_lines_payments_and_audit_trail(admin_client: Any, order: Order) -> None:
    response = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert order.code in page
    assert "Mixing" in page
    assert "order.placed" in page
    assert "payment.session_created" in page
    assert Payment.objects.get(order=order).session_id in page


def test_orders_are_found_by_code_email_and_session(admin_client: Any, order: Order) -> None:
    url = reverse("admin:orders_order_changelist")
    session_id = Payment.objects.get(order=order).session_id
    for term in (order.code, "lin@example.com", session_id):
        assert order.code in admin_client.get(url, {"q": term}).content.decode()
    assert order.code not in admin_client.get(url, {"q": "nobody@example.com"}).content.decode()


def test_payments_changelist_and_no_edits(admin_client: Any, order: Order) -> None:
    assert admin_client.get(reverse("admin:payments_payment_changelist")).status_code == 200
    booking = Booking.objects.get(line__order=order)
    response = admin_client.post(reverse("admin:orders_booking_change", args=[booking.pk]), {"status": "released"})
    assert response.status_code == 403
    assert Booking.objects.get(pk=booking.pk).status == "held"

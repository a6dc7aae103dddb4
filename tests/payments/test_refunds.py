"""Refunds by operators (admin) and cancellations by customers within the policy."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import stripe
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookdesk.notifications.models import OutgoingEmail
from bookdesk.orders.models import Booking, HoldStatus, Order, OrderStatus
from bookdesk.payments.models import Payment, Refund
from factories import CourseFactory, UserFactory
from problems import assert_problem

from .conftest import book, deliver, intent_events, pay, run_inbox, session_events

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_sandbox")]


def confirmed_order(
    stripe_client: stripe.StripeClient, *, starts_in: timedelta = timedelta(days=7)
) -> tuple[Client, Order]:
    client = Client()
    client.force_login(UserFactory())
    course = CourseFactory(price_amount=10_000, capacity=1, starts_at=timezone.now() + starts_in)
    answer = book(client, course.pk)
    pay(stripe_client, answer["session_id"])
    for event in session_events(stripe_client, answer["session_id"]):
        deliver(event)
    run_inbox()
    order = Order.objects.get(code=answer["order"]["code"])
    assert order.status == OrderStatus.CONFIRMED
    return client, order


def test_a_customer_cancels_within_the_policy_and_is_refunded(stripe_client: stripe.StripeClient) -> None:
    client, order = confirmed_order(stripe_client)

    response = client.post(f"/api/orders/{order.code}/cancel")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "refunded"
    order.refresh_from_db()
    assert order.amount_refunded == 10_000
    assert Booking.objects.get(line__order=order).status == HoldStatus.CANCELLED
    refund = Refund.objects.get(payment__order=order)
    assert stripe_client.v1.refunds.retrieve(refund.stripe_refund_id).amount == 10_000
    assert OutgoingEmail.objects.filter(key=f"refund:{refund.stripe_refund_id}").count() == 1
    # The seat is for sale again.
    assert Client().get(f"/api/courses/{Booking.objects.get(line__order=order).course_id}").json()["seats_left"] == 1
    # Stripe's own events about the refund change nothing more.
    for event in intent_events(stripe_client, Payment.objects.get(order=order).payment_intent_id):
        deliver(event)
    run_inbox()
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == (OrderStatus.REFUNDED, 10_000)
    assert Refund.objects.filter(payment__order=order).count() == 1


def test_the_policy_share_and_cutoff(stripe_client: stripe.StripeClient, settings: Any) -> None:
    settings.CANCELLATION_REFUND_PERCENT = 80
    client, order = confirmed_order(stripe_client)
    body = client.post(f"/api/orders/{order.code}/cancel").json()
    assert body["status"] == "partially_refunded"
    assert body["amount_refunded"]["amount"] == 8_000
    assert Booking.objects.get(line__order=order).status == HoldStatus.CANCELLED

    late_client, late = confirmed_order(stripe_client, starts_in=timedelta(hours=20))
    problem = assert_problem(late_client.post(f"/api/orders/{late.code}/cancel"), status=409, code="not_cancellable")
    assert "48 hours" in problem["detail"]
    assert Order.objects.get(pk=late.pk).status == OrderStatus.CONFIRMED


def test_an_operator_refunds_part_then_the_rest_from_the_admin(
    stripe_client: stripe.StripeClient, admin_client: Any
) -> None:
    _, order = confirmed_order(stripe_client)
    url = reverse("admin:orders_order_refund", args=[order.pk])
    assert "€100.00" in admin_client.get(url).content.decode()

    response = admin_client.post(url, {"amount": "25.00", "reason": "goodwill"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == (OrderStatus.PARTIALLY_REFUNDED, 2500)
    assert Booking.objects.get(line__order=order).status == HoldStatus.CONFIRMED

    too_much = admin_client.post(url, {"amount": "90", "reason": "oops"})
    assert too_much.status_code == 200
    assert "between €0.01 and €75.00" in too_much.content.decode()
    garbled = admin_client.post(url, {"amount": "12.345", "reason": "oops"})
    assert "EUR amounts have at most 2 decimals." in garbled.content.decode()
    order.refresh_from_db()
    assert order.amount_refunded == 2500

    changelist = reverse("admin:orders_order_changelist")
    admin_client.post(changelist, {"action": "refund_in_full", "_selected_action": [order.pk]})
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == (OrderStatus.REFUNDED, 10_000)
    assert Booking.objects.get(line__order=order).status == HoldStatus.CANCELLED
    assert sorted(Refund.objects.filter(payment__order=order).values_list("amount", flat=True)) == [2500, 7500]


def test_an_unpaid_order_cannot_be_refunded(admin_client: Any) -> None:
    client = Client()
    client.force_login(UserFactory())
    code = book(client, CourseFactory().pk)["order"]["code"]
    order = Order.objects.get(code=code)
    response = admin_client.post(
        reverse("admin:orders_order_refund", args=[order.pk]), {"amount": "1.00", "reason": "x"}
    )
    assert "cannot be refunded" in response.content.decode()
    assert not Refund.objects.exists()

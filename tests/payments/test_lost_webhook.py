"""A lost webhook never locks the customer out: whoever asks next (a retry, a new checkout, Book now, the
refresh endpoint) finds the paid session at Stripe and applies it there and then, through the same
idempotent fulfilment as the webhook; the webhook arriving late afterwards changes nothing.

Dropping the webhook is simply not delivering the sandbox's events to our intake."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
from django.test import Client

from bookdesk.notifications.models import OutgoingEmail
from bookdesk.ops import ratelimit
from bookdesk.orders.models import AuditEntry, Booking, HoldStatus, Order, OrderStatus, Shipment
from bookdesk.payments.models import Payment, WebhookEvent
from factories import CourseFactory, PhysicalProductFactory, signed_in
from problems import assert_problem

from .conftest import book, deliver, pay, run_inbox, session_events

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_sandbox")]


def confirmed_once(code: str) -> None:
    """Confirmed, with exactly one confirmation: one email in the outbox, one audit entry of each step."""
    order = Order.objects.get(code=code)
    assert order.status == OrderStatus.CONFIRMED
    assert Booking.objects.get(line__order=order).status == HoldStatus.CONFIRMED
    actions = list(AuditEntry.objects.filter(order=order).values_list("action", flat=True))
    assert actions.count("order.confirmed") == 1, actions
    assert actions.count("payment.paid") == 1, actions
    assert OutgoingEmail.objects.filter(key__startswith=f"order:{code}:").count() == 1


def late_webhook_changes_nothing(stripe_client: stripe.StripeClient, session_id: str, code: str) -> None:
    events = session_events(stripe_client, session_id)
    assert any(e["type"] == "checkout.session.completed" for e in events)
    for event in events:
        assert deliver(event).status_code == 200
    run_inbox()
    completed = WebhookEvent.objects.get(type="checkout.session.completed")
    assert completed.status == WebhookEvent.Status.PROCESSED
    assert completed.outcome == "already applied"
    confirmed_once(code)


def test_retry_after_a_lost_webhook_confirms_the_paid_order(stripe_client: stripe.StripeClient) -> None:
    client = signed_in()
    answer = book(client, CourseFactory().pk)
    code = answer["order"]["code"]
    pay(stripe_client, answer["session_id"])  # the webhook is lost: nothing is delivered

    response = client.post(f"/api/orders/{code}/retry-payment")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["order"]["status"] == "confirmed"
    assert body["session_id"] == answer["session_id"]
    assert body["checkout_url"].endswith(f"/payment/success?session_id={answer['session_id']}")
    confirmed_once(code)
    # No new payment page was opened for an order already paid.
    assert Payment.objects.filter(order__code=code).count() == 1
    late_webhook_changes_nothing(stripe_client, answer["session_id"], code)


def test_checking_out_the_cart_again_confirms_the_paid_order(stripe_client: stripe.StripeClient) -> None:
    client = signed_in()
    course = CourseFactory()
    added = client.post("/api/cart/items", {"kind": "course", "course_id": course.pk}, "application/json")
    assert added.status_code == 201, added.content
    first = client.post("/api/checkout").json()
    code = first["order"]["code"]
    pay(stripe_client, first["session_id"])

    response = client.post("/api/checkout")

    assert response.status_code == 200, response.content
    assert response.json()["order"]["code"] == code
    assert response.json()["order"]["status"] == "confirmed"
    confirmed_once(code)
    assert Order.objects.count() == 1  # nothing placed again
    assert client.get("/api/cart").json()["count"] == 0  # the paid cart is emptied, as the webhook would
    late_webhook_changes_nothing(stripe_client, first["session_id"], code)


def test_checking_out_goods_again_settles_the_shipping_option_the_lost_session_paid(
    stripe_client: stripe.StripeClient,
) -> None:
    client = signed_in()
    vinyl = PhysicalProductFactory(price_amount=2800)
    item = {"kind": "product", "product_id": vinyl.pk, "quantity": 1}
    assert client.post("/api/cart/items", item, "application/json").status_code == 201
    first = client.post("/api/checkout").json()
    session = stripe_client.v1.checkout.sessions.retrieve(first["session_id"])
    paris = {"line1": "12 rue de Rivoli", "postal_code": "75004", "city": "Paris", "country": "FR"}
    eu_rate = session.shipping_options[1].shipping_rate
    paid = pay(
        stripe_client, first["session_id"], shipping_details={"name": "Marie Curie", "address": paris},
        shipping_rate=eu_rate,
    )  # fmt: skip  # the webhook is lost

    response = client.post("/api/checkout")

    assert response.status_code == 200, response.content
    order = response.json()["order"]
    assert (order["code"], order["status"]) == (first["order"]["code"], "confirmed")
    assert order["shipping_amount"]["amount"] == 990
    assert order["total"]["amount"] == paid.amount_total == 2800 + 990
    assert order["shipping"]["address"]["city"] == "Paris"
    assert Shipment.objects.get(order__code=order["code"]).rate_amount == 990
    assert Order.objects.count() == 1


def test_booking_again_after_a_lost_webhook_confirms_the_paid_order(stripe_client: stripe.StripeClient) -> None:
    client = signed_in()
    course = CourseFactory()
    answer = book(client, course.pk)
    pay(stripe_client, answer["session_id"])

    response = client.post("/api/stripe/checkout", {"course_id": course.pk}, content_type="application/json")

    assert response.status_code == 200, response.content
    assert response.json()["order"]["status"] == "confirmed"
    confirmed_once(answer["order"]["code"])


def test_the_retry_page_takes_the_customer_to_the_confirmed_order(stripe_client: stripe.StripeClient) -> None:
    client = signed_in()
    answer = book(client, CourseFactory().pk)
    pay(stripe_client, answer["session_id"])

    response = client.post("/payment/retry", {"order": answer["order"]["code"]})

    assert response.status_code == 303
    assert response["Location"].endswith(f"/payment/success?session_id={answer['session_id']}")
    confirmed_once(answer["order"]["code"])


# --- POST /api/orders/{code}/refresh ---------------------------------------------------------------------


def test_refresh_applies_a_paid_session(stripe_client: stripe.StripeClient) -> None:
    client = signed_in()
    answer = book(client, CourseFactory().pk)
    code = answer["order"]["code"]
    assert client.post(f"/api/orders/{code}/refresh").json()["status"] == "pending"  # nothing to apply yet
    pay(stripe_client, answer["session_id"])

    response = client.post(f"/api/orders/{code}/refresh")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "confirmed"
    assert response.json()["checkout_url"] is None  # nothing left to pay
    confirmed_once(code)
    assert client.post(f"/api/orders/{code}/refresh").json()["status"] == "confirmed"  # again: no change
    confirmed_once(code)
    late_webhook_changes_nothing(stripe_client, answer["session_id"], code)


def test_refresh_applies_an_expired_session_as_the_expiry_webhook_would(stripe_client: stripe.StripeClient) -> None:
    course = CourseFactory(capacity=1)
    client = signed_in()
    answer = book(client, course.pk)
    code = answer["order"]["code"]
    stripe_client.v1.checkout.sessions.expire(answer["session_id"])  # its `expired` webhook is lost

    response = client.post(f"/api/orders/{code}/refresh")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "expired"
    assert Booking.objects.get(line__order__code=code).status == HoldStatus.RELEASED
    assert Payment.objects.get(order__code=code).status == Payment.Status.EXPIRED
    assert Client().get(f"/api/courses/{course.pk}").json()["seats_left"] == 1


def test_refresh_is_for_the_owner_only(stripe_client: stripe.StripeClient) -> None:
    owner, stranger = signed_in(), signed_in()
    answer = book(owner, CourseFactory().pk)
    code = answer["order"]["code"]
    pay(stripe_client, answer["session_id"])

    assert_problem(stranger.post(f"/api/orders/{code}/refresh"), status=404, code="not_found")
    assert_problem(Client().post(f"/api/orders/{code}/refresh"), status=401, code="not_authenticated")
    assert Order.objects.get(code=code).status == OrderStatus.PENDING  # a stranger's call applied nothing


def test_refresh_is_rate_limited(stripe_client: stripe.StripeClient, settings: Any, monkeypatch: Any) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "order_refresh": "3/60"}
    monkeypatch.setattr(ratelimit, "clock", lambda: 1_000_000.0)
    client = signed_in()
    code = book(client, CourseFactory().pk)["order"]["code"]

    for _ in range(3):
        assert client.post(f"/api/orders/{code}/refresh").status_code == 200

    refused = client.post(f"/api/orders/{code}/refresh")
    assert_problem(refused, status=429, code="rate_limited")
    assert int(refused["Retry-After"]) > 0


# --- the open attempt's payment page ---------------------------------------------------------------------


def test_the_order_shows_its_open_payment_page_and_only_while_open(stripe_client: stripe.StripeClient) -> None:
    client = signed_in()
    answer = book(client, CourseFactory().pk)
    code = answer["order"]["code"]

    assert client.get(f"/api/orders/{code}").json()["checkout_url"] == answer["checkout_url"]

    retried = client.post(f"/api/orders/{code}/retry-payment").json()
    assert retried["checkout_url"] != answer["checkout_url"]
    assert client.get(f"/api/orders/{code}").json()["checkout_url"] == retried["checkout_url"]

    assert client.post(f"/api/orders/{code}/cancel").status_code == 200
    assert client.get(f"/api/orders/{code}").json()["checkout_url"] is None

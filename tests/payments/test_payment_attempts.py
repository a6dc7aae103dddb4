"""Payment attempts against the sandbox: faults, refusals, retries, cancellation, the sweep, ownership."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import stripe
from django.test import Client
from django.utils import timezone

from bookdesk.orders.models import AuditEntry, Booking, HoldStatus, Order, OrderStatus
from bookdesk.payments.checkout import holds_sweep
from bookdesk.payments.models import Payment
from factories import CourseFactory, signed_in
from problems import assert_problem

pytestmark = pytest.mark.django_db


def book(client: Client, course_id: int) -> Any:
    return client.post("/api/stripe/checkout", {"course_id": course_id}, content_type="application/json")


def sessions_of(stripe_client: stripe.StripeClient, order_code: str) -> list[Any]:
    listed = stripe_client.v1.checkout.sessions.list(params={"limit": 100})
    return [s for s in listed.data if s.client_reference_id == order_code]


def pay(stripe_client: stripe.StripeClient, session_id: str) -> None:
    stripe_client.raw_request(
        "post", f"/v1/test_helpers/checkout/sessions/{session_id}/pay", payment_method="pm_card_visa"
    )


def seats_left(course: Any) -> int:
    return int(Client().get(f"/api/courses/{course.pk}").json()["seats_left"])


def test_errors_rate_limits_and_a_timeout_before_success_yield_exactly_one_session(
    stripe_sandbox: Any, stripe_client: stripe.StripeClient, settings: Any
) -> None:
    # The third try is slow: our client gives up (timeout) while the sandbox still creates the session;
    # the next try with the same idempotency key gets that very session back (or "in use", then it).
    settings.STRIPE_TIMEOUT = 0.3
    stripe_sandbox.faults.update({"script": ["error", "rate_limit", "slow:700"]})
    client = signed_in()
    course = CourseFactory()

    response = book(client, course.pk)
    attempts = 0
    while response.status_code == 502 and attempts < 3:  # the retries ran out while the slow try was in flight
        assert_problem(response, status=502, code="payment_provider_error")
        attempts += 1
        order = Order.objects.get()
        response = client.post(f"/api/orders/{order.code}/retry-payment")

    assert response.status_code == 201, response.content
    order = Order.objects.get()
    (session,) = sessions_of(stripe_client, order.code)
    assert response.json()["session_id"] == session.id
    assert Payment.objects.get(order=order).attempt == 1
    assert stripe_sandbox.faults.script == []


def test_a_permanent_refusal_cancels_the_order_and_releases_the_seat(stripe_sandbox: Any, settings: Any) -> None:
    course = CourseFactory(capacity=1)
    settings.STRIPE_SECRET_KEY = "sk_test_x"  # too short: the sandbox refuses it as Stripe would (401)

    body = assert_problem(book(signed_in(), course.pk), status=502, code="payment_refused")

    order = Order.objects.get()
    assert order.code in body["detail"]
    assert "nothing was charged" in body["detail"]
    assert order.status == OrderStatus.CANCELLED
    assert Booking.objects.get(course=course).status == HoldStatus.RELEASED
    assert Payment.objects.get(order=order).status == Payment.Status.FAILED
    assert seats_left(course) == 1
    assert "payment.refused" in AuditEntry.objects.filter(order=order).values_list("action", flat=True)


def test_retry_payment_expires_the_earlier_session_first(
    stripe_sandbox: Any, stripe_client: stripe.StripeClient
) -> None:
    client = signed_in()
    first = book(client, CourseFactory().pk).json()
    code = first["order"]["code"]

    response = client.post(f"/api/orders/{code}/retry-payment")

    assert response.status_code == 201, response.content
    second = response.json()
    assert second["session_id"] != first["session_id"]
    assert stripe_client.v1.checkout.sessions.retrieve(first["session_id"]).status == "expired"
    assert stripe_client.v1.checkout.sessions.retrieve(second["session_id"]).status == "open"
    payments = Payment.objects.filter(order__code=code).order_by("attempt")
    assert [(p.attempt, p.status) for p in payments] == [(1, "expired"), (2, "open")]
    assert second["order"]["payments"][1]["attempt"] == 2


def test_a_paid_session_is_neither_retried_nor_cancelled(
    stripe_sandbox: Any, stripe_client: stripe.StripeClient
) -> None:
    client = signed_in()
    answer = book(client, CourseFactory().pk).json()
    pay(stripe_client, answer["session_id"])
    code = answer["order"]["code"]

    # Cancelling finds the page paid: the payment is applied (no webhook needed), the order is not cancelled.
    assert_problem(client.post(f"/api/orders/{code}/cancel"), status=409, code="conflict")
    assert Order.objects.get(code=code).status == OrderStatus.CONFIRMED
    assert_problem(client.post(f"/api/orders/{code}/retry-payment"), status=409, code="invalid_transition")
    assert stripe_client.v1.checkout.sessions.retrieve(answer["session_id"]).status == "complete"
    assert len(sessions_of(stripe_client, code)) == 1


def test_cancel_before_payment_releases_the_seat_and_expires_the_session(
    stripe_sandbox: Any, stripe_client: stripe.StripeClient
) -> None:
    course = CourseFactory(capacity=1)
    client = signed_in()
    answer = book(client, course.pk).json()
    assert seats_left(course) == 0

    response = client.post(f"/api/orders/{answer['order']['code']}/cancel")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert stripe_client.v1.checkout.sessions.retrieve(answer["session_id"]).status == "expired"
    assert seats_left(course) == 1
    assert book(signed_in(), course.pk).status_code == 201
    # A cancelled order cannot be paid again.
    assert_problem(
        client.post(f"/api/orders/{answer['order']['code']}/retry-payment"), status=409, code="invalid_transition"
    )


def test_a_lapsed_hold_is_released_by_the_sweep_and_the_seat_sells_again(
    stripe_sandbox: Any, stripe_client: stripe.StripeClient
) -> None:
    course = CourseFactory(capacity=1)
    answer = book(signed_in(), course.pk).json()
    assert_problem(book(signed_in(), course.pk), status=409, code="sold_out")
    Order.objects.update(hold_expires_at=timezone.now() - timedelta(seconds=1))

    assert holds_sweep() == 1

    order = Order.objects.get(code=answer["order"]["code"])
    assert order.status == OrderStatus.EXPIRED
    assert Booking.objects.get(line__order=order).status == HoldStatus.RELEASED
    assert stripe_client.v1.checkout.sessions.retrieve(answer["session_id"]).status == "expired"
    assert seats_left(course) == 1
    assert book(signed_in(), course.pk).status_code == 201
    assert holds_sweep() == 0


def test_a_lapsed_hold_gives_way_to_the_next_buyer_before_the_sweep(stripe_sandbox: Any) -> None:
    course = CourseFactory(capacity=1)
    answer = book(signed_in(), course.pk).json()
    Order.objects.update(hold_expires_at=timezone.now() - timedelta(seconds=1))
    assert seats_left(course) == 1

    assert book(signed_in(), course.pk).status_code == 201
    assert Order.objects.get(code=answer["order"]["code"]).status == OrderStatus.EXPIRED


def test_a_customers_own_lapsed_hold_gives_way_to_their_new_booking(stripe_sandbox: Any) -> None:
    # Their lapsed seat is still `held` until expired: the one-active-booking guard would refuse the new one.
    client, course = signed_in(), CourseFactory(capacity=5)
    first = book(client, course.pk).json()["order"]["code"]
    Order.objects.update(hold_expires_at=timezone.now() - timedelta(seconds=1))

    again = book(client, course.pk)

    assert again.status_code == 201, again.content
    assert again.json()["order"]["code"] != first
    assert Order.objects.get(code=first).status == OrderStatus.EXPIRED
    assert seats_left(course) == 4


def test_another_customers_order_is_not_found_everywhere(stripe_sandbox: Any) -> None:
    owner, stranger = signed_in(), signed_in()
    code = book(owner, CourseFactory().pk).json()["order"]["code"]

    assert_problem(stranger.get(f"/api/orders/{code}"), status=404, code="not_found")
    assert_problem(stranger.post(f"/api/orders/{code}/retry-payment"), status=404, code="not_found")
    assert_problem(stranger.post(f"/api/orders/{code}/cancel"), status=404, code="not_found")
    assert owner.get(f"/api/orders/{code}").json()["status"] == "pending"
    assert Order.objects.get(code=code).status == OrderStatus.PENDING


def test_an_expired_order_can_be_paid_again_while_its_seat_is_free(
    stripe_sandbox: Any, stripe_client: stripe.StripeClient
) -> None:
    course = CourseFactory(capacity=1)
    client = signed_in()
    answer = book(client, course.pk).json()
    Order.objects.update(hold_expires_at=timezone.now() - timedelta(seconds=1))
    holds_sweep()
    code = answer["order"]["code"]
    assert Order.objects.get(code=code).status == OrderStatus.EXPIRED

    retry = client.post(f"/api/orders/{code}/retry-payment")

    assert retry.status_code == 201, retry.content
    assert retry.json()["order"]["status"] == "pending"
    assert Booking.objects.get(line__order__code=code).status == HoldStatus.HELD
    assert stripe_client.v1.checkout.sessions.retrieve(retry.json()["session_id"]).status == "open"


def test_an_expired_order_whose_seat_was_sold_cannot_be_paid_again(stripe_sandbox: Any) -> None:
    course = CourseFactory(capacity=1)
    client = signed_in()
    code = book(client, course.pk).json()["order"]["code"]
    Order.objects.update(hold_expires_at=timezone.now() - timedelta(seconds=1))
    assert book(signed_in(), course.pk).status_code == 201  # the next buyer takes the seat

    assert_problem(client.post(f"/api/orders/{code}/retry-payment"), status=409, code="sold_out")
    assert Order.objects.get(code=code).status == OrderStatus.EXPIRED

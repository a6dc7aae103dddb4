"""Book now: POST /api/stripe/checkout places an order, holds a seat and opens a Checkout Session."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import stripe
from django.test import Client
from django.utils import timezone

from bookdesk.orders.models import AuditEntry, Booking, HoldStatus, Order, OrderStatus
from bookdesk.payments.models import Payment
from factories import CourseFactory, UserFactory, signed_in
from problems import assert_problem

pytestmark = pytest.mark.django_db


def book(client: Client, course_id: int) -> Any:
    return client.post("/api/stripe/checkout", {"course_id": course_id}, content_type="application/json")


def test_book_now_opens_a_session_for_the_held_seat(stripe_client: stripe.StripeClient) -> None:
    user = UserFactory(email="ada@example.com")
    course = CourseFactory(title="Wheel throwing", price_amount=12_000, capacity=3)

    response = book(signed_in(user), course.pk)

    assert response.status_code == 201, response.content
    body = response.json()
    order = Order.objects.get(code=body["order"]["code"])
    assert order.status == OrderStatus.PENDING
    assert order.total_amount == 12_000
    assert body["order"]["total"] == {"amount": 12_000, "currency": "eur"}
    booking = Booking.objects.get(line__order=order)
    assert (booking.course, booking.user, booking.status) == (course, user, HoldStatus.HELD)

    session = stripe_client.v1.checkout.sessions.retrieve(body["session_id"], params={"expand": ["line_items"]})
    assert body["checkout_url"] == session.url
    assert session.client_reference_id == order.code
    assert session.customer_email == "ada@example.com"
    assert session.amount_total == 12_000
    assert session.currency == "eur"
    assert session.expires_at == int(order.hold_expires_at.timestamp())
    assert session.metadata["order"] == order.code
    assert session.metadata["user"] == str(user.pk)
    assert session.metadata["type"] == "course_booking"
    assert session.metadata["courses_count"] == "1"
    assert session.success_url.endswith("/payment/success?session_id={CHECKOUT_SESSION_ID}")
    assert session.cancel_url.endswith(f"/payment/cancel?order={order.code}")
    (item,) = session.line_items.data
    assert item.amount_total == 12_000
    assert item.quantity == 1
    # The hold lasts HOLD_MINUTES (30), the session's own lifetime.
    assert timedelta(minutes=30) <= order.hold_expires_at - timezone.now() <= timedelta(minutes=32)
    assert Payment.objects.get(order=order).status == Payment.Status.OPEN
    assert list(AuditEntry.objects.filter(order=order).values_list("action", flat=True)) == [
        "order.placed",
        "payment.session_created",
    ]


def test_booking_again_while_unpaid_gives_the_same_payment_page(stripe_sandbox: Any) -> None:
    client = signed_in(UserFactory())
    course = CourseFactory()
    first = book(client, course.pk).json()

    again = book(client, course.pk)

    assert again.status_code == 201
    assert again.json()["session_id"] == first["session_id"]
    assert Order.objects.count() == 1


def test_booking_again_after_a_failed_session_creation_starts_the_same_attempt(
    stripe_sandbox: Any, stripe_client: stripe.StripeClient, settings: Any
) -> None:
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # Stripe unreachable for the first try
    client = signed_in(UserFactory())
    course = CourseFactory()
    body = assert_problem(book(client, course.pk), status=502, code="payment_provider_error")
    assert "Nothing was charged" in body["detail"]
    settings.STRIPE_API_BASE = stripe_sandbox.base_url

    again = book(client, course.pk)

    assert again.status_code == 201, again.content
    order = Order.objects.get()
    assert [(p.attempt, p.status) for p in order.payments.all()] == [(1, "open")]


def test_a_confirmed_seat_cannot_be_booked_twice(stripe_sandbox: Any) -> None:
    user = UserFactory()
    course = CourseFactory()
    client = signed_in(user)
    code = book(client, course.pk).json()["order"]["code"]
    Booking.objects.filter(line__order__code=code).update(status=HoldStatus.CONFIRMED)
    Order.objects.filter(code=code).update(status=OrderStatus.CONFIRMED)

    assert_problem(book(client, course.pk), status=409, code="already_booked")
    assert Order.objects.count() == 1


def test_the_last_seat_goes_once_then_sold_out(stripe_sandbox: Any) -> None:
    course = CourseFactory(capacity=1)
    assert book(signed_in(UserFactory()), course.pk).status_code == 201

    body = assert_problem(book(signed_in(UserFactory()), course.pk), status=409, code="sold_out")
    assert course.title in body["detail"]
    assert Booking.objects.filter(course=course).count() == 1


def test_anonymous_caller_is_401_and_nothing_is_held(stripe_sandbox: Any) -> None:
    course = CourseFactory()
    assert_problem(book(Client(), course.pk), status=401, code="not_authenticated")
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [{}, {"course_id": "abc"}, {"course_id": None}, {"course": 1}],
    ids=["missing", "text", "null", "wrong-name"],
)
def test_invalid_body_is_422(stripe_sandbox: Any, payload: dict[str, Any]) -> None:
    response = signed_in(UserFactory()).post("/api/stripe/checkout", payload, content_type="application/json")
    assert_problem(response, status=422, code="invalid")
    assert not Order.objects.exists()


def test_unknown_unpublished_and_started_courses_are_refused(stripe_sandbox: Any) -> None:
    client = signed_in(UserFactory())
    assert_problem(book(client, 999_999), status=404, code="not_found")
    assert_problem(book(client, CourseFactory(published=False).pk), status=404, code="not_found")
    started = CourseFactory(starts_at=timezone.now() - timedelta(hours=1))
    assert_problem(book(client, started.pk), status=409, code="not_bookable")
    assert not Order.objects.exists()


def test_seats_left_counts_the_hold(stripe_sandbox: Any) -> None:
    course = CourseFactory(capacity=2)
    book(signed_in(UserFactory()), course.pk)
    assert Client().get(f"/api/courses/{course.pk}").json()["seats_left"] == 1

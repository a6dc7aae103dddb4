"""Unpaid holds cannot block stock: a customer holds at most MAX_UNPAID_ORDERS_PER_CUSTOMER unpaid orders, one
network (IP) places at most RATE_LIMITS["holds_ip"] of them per window, and in production only a customer with
a verified email checks out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.utils import timezone

from bookdesk.ops import ratelimit
from bookdesk.orders.models import Order, OrderStatus
from factories import CourseFactory, UserFactory, signed_in, verified_customer
from problems import assert_problem

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_sandbox")]


def book(client: Client, course_id: int, ip: str = "127.0.0.1") -> Any:
    return client.post(
        "/api/stripe/checkout", {"course_id": course_id}, content_type="application/json", REMOTE_ADDR=ip
    )


def seats_left(course: Any) -> int:
    return int(Client().get(f"/api/courses/{course.pk}").json()["seats_left"])


@pytest.fixture
def cap_of_three(settings: Any) -> int:
    settings.MAX_UNPAID_ORDERS_PER_CUSTOMER = 3
    return 3


def test_a_customer_holds_at_most_three_unpaid_orders(cap_of_three: int) -> None:
    client = signed_in()
    for _ in range(cap_of_three):
        assert book(client, CourseFactory().pk).status_code == 201
    fourth = CourseFactory(capacity=1)

    body = assert_problem(book(client, fourth.pk), status=409, code="too_many_unpaid_orders")

    assert "3 unpaid orders" in body["detail"]
    assert "pay for one or cancel it" in body["detail"]
    assert Order.objects.count() == cap_of_three  # nothing placed
    assert seats_left(fourth) == 1  # nothing held

    # Cancelling one frees a place; a lapsed hold does not count either.
    first = Order.objects.order_by("pk").first()
    assert first is not None
    assert client.post(f"/api/orders/{first.code}/cancel").status_code == 200
    assert book(client, fourth.pk).status_code == 201
    Order.objects.filter(status=OrderStatus.PENDING).update(hold_expires_at=timezone.now() - timedelta(seconds=1))
    assert book(client, CourseFactory().pk).status_code == 201


def test_booking_the_same_course_again_still_answers_its_payment_page(cap_of_three: int) -> None:
    client = signed_in()
    courses = [CourseFactory() for _ in range(cap_of_three)]
    answers = [book(client, course.pk).json() for course in courses]

    again = book(client, courses[0].pk)

    assert again.status_code == 201, again.content
    assert again.json()["session_id"] == answers[0]["session_id"]


def test_checking_the_cart_out_again_replaces_its_order_and_is_not_capped(cap_of_three: int) -> None:
    client = signed_in()
    added = client.post("/api/cart/items", {"kind": "course", "course_id": CourseFactory().pk}, "application/json")
    assert added.status_code == 201
    for _ in range(cap_of_three + 2):
        assert client.post("/api/checkout").status_code == 201
    assert Order.objects.filter(status=OrderStatus.PENDING).count() == 1


def test_the_cart_checkout_is_capped_too(cap_of_three: int) -> None:
    client = signed_in()
    for _ in range(cap_of_three):
        assert book(client, CourseFactory().pk).status_code == 201
    client.post("/api/cart/items", {"kind": "course", "course_id": CourseFactory().pk}, "application/json")

    assert_problem(client.post("/api/checkout"), status=409, code="too_many_unpaid_orders")

    page = client.post("/checkout")
    assert page.status_code == 409
    assert "unpaid orders" in page.text


def test_fresh_accounts_from_one_network_cannot_take_every_seat(settings: Any, monkeypatch: Any) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "holds_ip": "2/1800"}
    monkeypatch.setattr(ratelimit, "clock", lambda: 1_000_000.0)
    course = CourseFactory(capacity=5)

    assert book(signed_in(), course.pk, ip="203.0.113.9").status_code == 201
    assert book(signed_in(), course.pk, ip="203.0.113.9").status_code == 201
    refused = book(signed_in(), course.pk, ip="203.0.113.9")

    body = assert_problem(refused, status=429, code="rate_limited")
    assert "unpaid orders from your network" in body["detail"]
    assert int(refused["Retry-After"]) > 0
    assert seats_left(course) == 3
    assert book(signed_in(), course.pk, ip="198.51.100.4").status_code == 201  # another network is not held up


def test_production_requires_a_verified_email_to_check_out(settings: Any) -> None:
    settings.BOOKDESK_PRODUCTION = True
    unverified = UserFactory(email="new@example.com")
    EmailAddress.objects.create(user=unverified, email=unverified.email, verified=False, primary=True)
    course = CourseFactory(capacity=1)

    body = assert_problem(book(signed_in(unverified), course.pk), status=403, code="email_not_verified")

    assert "new@example.com" in body["detail"]
    assert not Order.objects.exists()
    assert seats_left(course) == 1
    assert book(signed_in(verified_customer("ok@example.com")), course.pk).status_code == 201


def test_the_demo_lets_an_unverified_customer_check_out(settings: Any) -> None:
    settings.BOOKDESK_PRODUCTION = False
    assert book(signed_in(UserFactory()), CourseFactory().pk).status_code == 201

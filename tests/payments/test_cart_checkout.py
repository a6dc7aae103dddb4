"""The cart API: adding validates everything, the server prices, checkout opens one session for the lot."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import pytest
import stripe
from django.test import Client
from django.utils import timezone

from bookdesk.catalog.selectors import business_time_zone, business_today
from bookdesk.orders.models import Grant, HoldStatus, Order, OrderStatus, Reservation
from bookdesk.orders.services import MAX_LINES
from factories import (
    BeatFactory,
    CourseFactory,
    OpeningHoursFactory,
    PhysicalProductFactory,
    ResourceFactory,
    ServiceFactory,
    UserFactory,
    signed_in,
)
from problems import assert_problem

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_sandbox")]


@pytest.fixture
def client() -> Client:
    return signed_in(UserFactory(email="grace@example.com"))


def add(client: Client, **item: Any) -> Any:
    return client.post("/api/cart/items", item, content_type="application/json")


def slot_start(hour: int = 10, days: int = 3) -> datetime:
    return datetime.combine(business_today() + timedelta(days=days), time(hour), tzinfo=business_time_zone())


@pytest.fixture
def studio() -> Any:
    room = ResourceFactory()
    for weekday in range(7):
        OpeningHoursFactory(resource=room, weekday=weekday, opens_at=time(9), closes_at=time(18))
    return ServiceFactory(duration_minutes=60, price_amount=6000, resources=[room])


def test_a_mixed_cart_is_priced_by_the_server(client: Client, studio: Any, settings: Any) -> None:
    settings.TAX_RATE_DEFAULT, settings.PRICES_INCLUDE_TAX = 1900, True
    course = CourseFactory(price_amount=11_900)
    beat = BeatFactory()
    basic = beat.licenses.get(tier="basic")
    vinyl = PhysicalProductFactory(price_amount=2800)

    assert add(client, kind="course", course_id=course.pk, price=1).status_code == 201  # a client's price is ignored
    assert add(client, kind="service", service_id=studio.pk, starts_at=slot_start().isoformat()).status_code == 201
    assert add(client, kind="product", product_id=beat.pk, license_id=basic.pk).status_code == 201
    cart = add(client, kind="product", product_id=vinyl.pk, quantity=2).json()

    subtotal = 11_900 + 6000 + 2999 + 2 * 2800
    assert cart["count"] == 4
    assert cart["subtotal"] == {"amount": subtotal, "currency": "eur"}
    # Tax per line, rounded per line (1900 + 958 + 479 + 894), and now on shipping too (490 holds 78).
    assert cart["tax"]["amount"] == 1900 + 958 + 479 + 894 + 78
    assert cart["shipping"]["amount"] == 490
    assert cart["total"]["amount"] == subtotal + 490
    assert cart["can_check_out"] is True
    assert [line["kind"] for line in cart["items"]] == ["course", "service", "product", "product"]
    assert all(line["problem"] is None for line in cart["items"])


def test_checkout_of_a_mixed_cart_opens_one_session_with_every_line(
    client: Client, studio: Any, stripe_client: stripe.StripeClient, settings: Any
) -> None:
    settings.PRICES_INCLUDE_TAX = True
    course, beat = CourseFactory(price_amount=5000), BeatFactory()
    add(client, kind="course", course_id=course.pk)
    add(client, kind="service", service_id=studio.pk, starts_at=slot_start().isoformat())
    add(client, kind="product", product_id=beat.pk, license_id=beat.licenses.get(tier="premium").pk)

    response = client.post("/api/checkout")

    assert response.status_code == 201, response.content
    body = response.json()
    order = Order.objects.get(code=body["order"]["code"])
    assert order.kind == "mixed_cart"
    assert order.total_amount == 5000 + 6000 + 7999
    session = stripe_client.v1.checkout.sessions.retrieve(body["session_id"], params={"expand": ["line_items"]})
    assert session.amount_total == order.total_amount
    assert [item.amount_total for item in session.line_items.data] == [5000, 6000, 7999]
    assert session.metadata["type"] == "mixed_cart"
    counts = [session.metadata[f"{k}_count"] for k in ("courses", "services", "items")]
    assert counts == ["1", "1", "1"]
    assert session.metadata["items_total"] == "7999"
    assert Reservation.objects.get(line__order=order).status == HoldStatus.HELD
    assert Grant.objects.get(line__order=order).status == HoldStatus.HELD
    # The cart is kept until the order is paid: a cancelled payment loses nothing.
    assert client.get("/api/cart").json()["count"] == 3


def test_checking_out_again_replaces_the_unpaid_order(client: Client, stripe_client: stripe.StripeClient) -> None:
    course = CourseFactory(capacity=1)
    add(client, kind="course", course_id=course.pk)
    first = client.post("/api/checkout").json()
    # The cart's own unpaid order does not make its course look sold out or already booked.
    assert client.get("/api/cart").json()["can_check_out"] is True

    second = client.post("/api/checkout")

    assert second.status_code == 201, second.content
    assert Order.objects.get(code=first["order"]["code"]).status == OrderStatus.CANCELLED
    assert stripe_client.v1.checkout.sessions.retrieve(first["session_id"]).status == "expired"
    assert Order.objects.get(code=second.json()["order"]["code"]).status == OrderStatus.PENDING


def test_a_large_cart_keeps_within_stripes_metadata_limits(
    client: Client, stripe_client: stripe.StripeClient, settings: Any
) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api": "10000/60"}
    for course in CourseFactory.create_batch(MAX_LINES, title="A course with a long name " * 7):
        assert add(client, kind="course", course_id=course.pk).status_code == 201
    assert_problem(add(client, kind="course", course_id=CourseFactory().pk), status=409, code="conflict")

    body = client.post("/api/checkout").json()

    session = stripe_client.v1.checkout.sessions.retrieve(body["session_id"])
    assert session.metadata["courses_count"] == str(MAX_LINES)
    metadata = session.metadata.to_dict()
    assert len(metadata) <= 50
    assert all(len(key) <= 40 and len(value) <= 500 for key, value in metadata.items())


@pytest.mark.parametrize(
    ("item", "status", "code"),
    [
        ({"kind": "course"}, 422, "invalid"),
        ({"kind": "course", "course_id": 0}, 422, "invalid"),
        ({"kind": "course", "course_id": 2**70}, 422, "invalid"),
        ({"kind": "course", "course_id": 987_654}, 404, "not_found"),
        ({"kind": "service", "service_id": 1}, 422, "invalid"),
        ({"kind": "service", "service_id": 1, "starts_at": "tomorrow"}, 422, "invalid"),
        ({"kind": "service", "service_id": 1, "starts_at": "2030-01-01T10:00:00"}, 422, "invalid"),
        ({"kind": "product"}, 422, "invalid"),
        ({"kind": "ticket", "course_id": 1}, 422, "invalid"),
        ({"kind": "product", "product_id": 1, "quantity": 11}, 422, "invalid"),
    ],
)
def test_malformed_items_are_refused_clearly(client: Client, item: dict[str, Any], status: int, code: str) -> None:
    assert_problem(add(client, **item), status=status, code=code)
    assert client.get("/api/cart").json()["count"] == 0


def test_what_cannot_be_bought_is_refused_with_its_own_code(client: Client, studio: Any) -> None:
    full = CourseFactory(capacity=1)
    other = Client()
    other.force_login(UserFactory())
    add(other, kind="course", course_id=full.pk)
    # Checkout is what holds a seat; the other customer's cart alone takes nothing.
    assert add(client, kind="course", course_id=full.pk).status_code == 201
    client.delete(f"/api/cart/items/{client.get('/api/cart').json()['items'][0]['id']}")
    assert other.post("/api/checkout").status_code == 201

    assert_problem(add(client, kind="course", course_id=full.pk), status=409, code="sold_out")
    past = CourseFactory(starts_at=timezone.now() - timedelta(days=1))
    assert_problem(add(client, kind="course", course_id=past.pk), status=409, code="not_bookable")
    hidden = CourseFactory(published=False)
    assert_problem(add(client, kind="course", course_id=hidden.pk), status=404, code="not_found")
    closed = slot_start(hour=20)
    assert_problem(
        add(client, kind="service", service_id=studio.pk, starts_at=closed.isoformat()), status=409, code="slot_taken"
    )
    beat, other_beat = BeatFactory(), BeatFactory()
    foreign = other_beat.licenses.get(tier="basic")
    assert_problem(
        add(client, kind="product", product_id=beat.pk, license_id=foreign.pk), status=409, code="not_bookable"
    )
    assert_problem(add(client, kind="product", product_id=beat.pk), status=409, code="not_bookable")
    basic = beat.licenses.get(tier="basic")
    assert_problem(
        add(client, kind="product", product_id=beat.pk, license_id=basic.pk, quantity=2),
        status=409,
        code="quantity_not_allowed",
    )
    assert client.get("/api/cart").json()["count"] == 0


def test_an_exclusive_license_held_by_someone_else_is_sold_out(client: Client) -> None:
    beat = BeatFactory()
    exclusive = beat.licenses.get(exclusive=True)
    other = Client()
    other.force_login(UserFactory())
    add(other, kind="product", product_id=beat.pk, license_id=exclusive.pk)
    assert other.post("/api/checkout").status_code == 201

    for tier in ("basic", "exclusive"):
        license_id = beat.licenses.get(tier=tier).pk
        assert_problem(
            add(client, kind="product", product_id=beat.pk, license_id=license_id), status=409, code="sold_out"
        )
    assert Client().get(f"/api/products/{beat.pk}").json()["licenses"][2]["available"] is False


def test_one_currency_per_cart_and_each_thing_once(client: Client) -> None:
    course = CourseFactory()
    add(client, kind="course", course_id=course.pk)
    assert_problem(add(client, kind="course", course_id=course.pk), status=409, code="already_in_cart")
    dollars = CourseFactory(currency="usd")
    body = assert_problem(add(client, kind="course", course_id=dollars.pk), status=409, code="conflict")
    assert "currency" in body["detail"]
    assert client.get("/api/cart").json()["count"] == 1


def test_a_product_added_again_replaces_its_line(client: Client) -> None:
    beat = BeatFactory()
    add(client, kind="product", product_id=beat.pk, license_id=beat.licenses.get(tier="basic").pk)
    cart = add(client, kind="product", product_id=beat.pk, license_id=beat.licenses.get(tier="premium").pk).json()
    assert cart["count"] == 1
    assert cart["items"][0]["unit_price"]["amount"] == 7999


def test_removing_items(client: Client) -> None:
    cart = add(client, kind="course", course_id=CourseFactory().pk).json()
    item_id = cart["items"][0]["id"]
    assert client.delete(f"/api/cart/items/{item_id}").json()["count"] == 0
    assert_problem(client.delete(f"/api/cart/items/{item_id}"), status=404, code="not_found")


def test_another_customers_cart_item_cannot_be_removed(client: Client) -> None:
    other = Client()
    other.force_login(UserFactory())
    item_id = add(other, kind="course", course_id=CourseFactory().pk).json()["items"][0]["id"]
    assert_problem(client.delete(f"/api/cart/items/{item_id}"), status=404, code="not_found")
    assert other.get("/api/cart").json()["count"] == 1


def test_an_empty_cart_cannot_be_checked_out(client: Client) -> None:
    body = assert_problem(client.post("/api/checkout"), status=409, code="cart_empty")
    assert "empty" in body["detail"]
    assert not Order.objects.exists()


def test_a_line_that_became_unavailable_blocks_checkout_with_its_reason(client: Client) -> None:
    course = CourseFactory(capacity=1)
    add(client, kind="course", course_id=course.pk)
    other = Client()
    other.force_login(UserFactory())
    add(other, kind="course", course_id=course.pk)
    assert other.post("/api/checkout").status_code == 201

    cart = client.get("/api/cart").json()
    assert cart["can_check_out"] is False
    assert cart["items"][0]["problem_code"] == "sold_out"
    assert_problem(client.post("/api/checkout"), status=409, code="sold_out")
    assert Order.objects.count() == 1


def test_the_cart_needs_a_signed_in_caller() -> None:
    assert_problem(
        Client().post("/api/cart/items", {"kind": "course", "course_id": 1}, content_type="application/json"),
        status=401,
        code="not_authenticated",
    )
    assert_problem(Client().post("/api/checkout"), status=401, code="not_authenticated")

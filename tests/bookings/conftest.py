"""Customers with course seats, studio slots and licenses in every state, for the bookings list and pages.

Orders are placed through the real `order_place`; their later states are set as fulfilment, a failed
payment or the sweeper leave them (holds confirmed, released or cancelled with the order's status).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from bookdesk.accounts.services import user_ensure_verified
from bookdesk.catalog.models import License, Product, Service
from bookdesk.catalog.selectors import business_time_zone, business_today
from bookdesk.orders.holds import release_holds
from bookdesk.orders.models import Booking, Grant, HoldStatus, Order, OrderStatus, Reservation
from bookdesk.orders.services import ItemRequest, order_expire, order_place
from factories import BeatFactory, OpeningHoursFactory, ResourceFactory, ServiceFactory

PASSWORD = "a-long-test-passphrase-42"


def customer(email: str) -> Any:
    return user_ensure_verified(email=email, password=PASSWORD)[0]


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def token_for(user: Any) -> str:
    """A real allauth headless app session token, from the real login endpoint."""
    response = Client().post(
        "/_allauth/app/v1/auth/login", {"email": user.email, "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return str(response.json()["meta"]["session_token"])


def studio(days_ahead: int = 3) -> tuple[Service, dt.date]:
    """A service whose resource is open 09:00–18:00 on the day `days_ahead` from today (business time)."""
    day = business_today() + dt.timedelta(days=days_ahead)
    resource = ResourceFactory()
    OpeningHoursFactory(resource=resource, weekday=day.weekday(), opens_at=dt.time(9), closes_at=dt.time(18))
    return ServiceFactory(resources=[resource]), day


def slot(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=business_time_zone()).astimezone(dt.UTC)


def course_item(course: Any) -> ItemRequest:
    return ItemRequest(kind="course", course_id=course.pk)


def slot_item(service: Service, starts_at: dt.datetime) -> ItemRequest:
    return ItemRequest(kind="service", service_id=service.pk, starts_at=starts_at)


def license_item(product: Product, tier: str = License.Tier.BASIC) -> ItemRequest:
    license_ = License.objects.get(product=product, tier=tier)
    return ItemRequest(kind="product", product_id=product.pk, license_id=license_.pk)


def place(user: Any, *items: ItemRequest) -> Order:
    return order_place(user=user, items=list(items), now=timezone.now())


def _holds(order: Order, status: str) -> None:
    for model in (Booking, Reservation, Grant):
        model.objects.filter(line__order=order).update(status=status)


def confirm(order: Order) -> Order:
    """Paid and fulfilled, as `fulfil_checkout` leaves it."""
    _holds(order, HoldStatus.CONFIRMED)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.CONFIRMED)
    order.refresh_from_db()
    return order


def fail(order: Order) -> Order:
    """The payment failed: the order is failed and what it held is given back."""
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.FAILED)
    release_holds(order=order)
    order.refresh_from_db()
    return order


def expire(order: Order) -> Order:
    order_expire(order=order, actor="worker", reason="hold lapsed")
    order.refresh_from_db()
    return order


def refund(order: Order) -> Order:
    _holds(order, HoldStatus.CANCELLED)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.REFUNDED, amount_refunded=order.total_amount)
    order.refresh_from_db()
    return order


@pytest.fixture
def ada(db: None) -> Any:
    return customer("ada@example.com")


@pytest.fixture
def bob(db: None) -> Any:
    return customer("bob@example.com")


@pytest.fixture
def beat(db: None) -> Product:
    return BeatFactory(title="Night Drive")

"""Customers with course seats, studio slots, licenses and goods in every state, for the bookings list and pages.

Orders are placed through the real `order_place`; their later states are set as fulfilment, a failed
payment or the sweeper leave them (holds confirmed, released or cancelled with the order's status).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bookdesk.catalog.models import License, Product, Service
from bookdesk.orders.holds import release_holds
from bookdesk.orders.models import HoldStatus, Order, OrderStatus, Shipment
from bookdesk.orders.services import ItemRequest, order_expire
from bookdesk.orders.shipping import ShippingOption, shipment_mark_shipped, shipment_record
from factories import BeatFactory, PhysicalProductFactory, set_holds, verified_customer

STANDARD_DE = ShippingOption(
    rate_id=1, zone="Germany", display_name="Standard — Germany", amount=490, currency="eur", countries=("DE",)
)
BERLIN = {"line1": "Oranienstraße 12", "postal_code": "10999", "city": "Berlin", "country": "DE"}
TRACKING_NUMBER = "00340434161094042557"


def course_item(course: Any) -> ItemRequest:
    return ItemRequest(kind="course", course_id=course.pk)


def slot_item(service: Service, starts_at: dt.datetime) -> ItemRequest:
    return ItemRequest(kind="service", service_id=service.pk, starts_at=starts_at)


def license_item(product: Product, tier: str = License.Tier.BASIC) -> ItemRequest:
    license_ = License.objects.get(product=product, tier=tier)
    return ItemRequest(kind="product", product_id=product.pk, license_id=license_.pk)


def goods_item(product: Product, quantity: int = 1) -> ItemRequest:
    return ItemRequest(kind="product", product_id=product.pk, quantity=quantity)


def parcel(order: Order, *, shipped: bool = False) -> Shipment:
    """The paid order's shipment as its Checkout Session records it; `shipped`: the operator sent it with DHL."""
    shipment = shipment_record(
        order=order, name="Ada Lovelace", address=BERLIN, option=STANDARD_DE, stripe_rate="shr_1", actor="stripe"
    )
    if shipped:
        shipment = shipment_mark_shipped(
            shipment_id=shipment.pk, carrier="dhl", tracking_number=TRACKING_NUMBER, actor="staff:1"
        )
    return shipment


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
    set_holds(order, HoldStatus.CANCELLED)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.REFUNDED, amount_refunded=order.total_amount)
    order.refresh_from_db()
    return order


@pytest.fixture
def ada(db: None) -> Any:
    return verified_customer("ada@example.com")


@pytest.fixture
def bob(db: None) -> Any:
    return verified_customer("bob@example.com")


@pytest.fixture
def beat(db: None) -> Product:
    return BeatFactory(title="Night Drive")


@pytest.fixture
def vinyl(db: None) -> Product:
    return PhysicalProductFactory(title="Night Sessions LP", price_amount=2800, stock=10)

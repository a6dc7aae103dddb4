"""Response shapes of the catalog API (documented in /api/openapi.json)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema

from bookdesk.catalog.models import Course, Product, Service
from bookdesk.money import money
from bookdesk.orders.availability import license_available


class MoneyOut(Schema):
    amount: int
    currency: str


class CourseOut(Schema):
    id: int
    title: str
    slug: str
    description: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    location: str
    capacity: int
    seats_left: int
    price: MoneyOut
    bookable: bool
    url: str

    @staticmethod
    def resolve_price(obj: Course) -> dict[str, Any]:
        return dict(money(obj.price_amount, obj.currency))

    @staticmethod
    def resolve_bookable(obj: Course) -> bool:
        """Open for booking and a seat left."""
        return obj.is_bookable and getattr(obj, "seats_left", 0) > 0

    @staticmethod
    def resolve_url(obj: Course) -> str:
        return obj.get_absolute_url()


class ResourceOut(Schema):
    id: int
    name: str


class ServiceOut(Schema):
    id: int
    name: str
    slug: str
    description: str
    duration_minutes: int
    price: MoneyOut
    resources: list[ResourceOut]
    url: str

    @staticmethod
    def resolve_price(obj: Service) -> dict[str, Any]:
        return dict(money(obj.price_amount, obj.currency))

    @staticmethod
    def resolve_resources(obj: Service) -> list[dict[str, Any]]:
        return [{"id": resource.pk, "name": resource.name} for resource in obj.resources.all()]

    @staticmethod
    def resolve_url(obj: Service) -> str:
        return obj.get_absolute_url()


class SlotOut(Schema):
    starts_at: dt.datetime
    ends_at: dt.datetime
    resource_ids: list[int]


class ServiceSlotsOut(Schema):
    service_id: int
    date: dt.date
    time_zone: str
    slots: list[SlotOut]


class LicenseOut(Schema):
    id: int
    tier: str
    name: str
    price: MoneyOut
    exclusive: bool
    available: bool


class ProductOut(Schema):
    id: int
    title: str
    slug: str
    kind: str
    description: str
    ships: bool
    price: MoneyOut | None = None
    licenses: list[LicenseOut]
    url: str
    # Goods: units left to buy (stock minus units held and sold) and the weight of one; null for digital products.
    stock_left: int | None = None
    weight_grams: int | None = None
    sold_out: bool = False

    @staticmethod
    def resolve_stock_left(obj: Product) -> int | None:
        return getattr(obj, "stock_left", None) if obj.ships else None

    @staticmethod
    def resolve_sold_out(obj: Product) -> bool:
        return obj.ships and (getattr(obj, "stock_left", None) or 0) <= 0

    @staticmethod
    def resolve_price(obj: Product) -> dict[str, Any] | None:
        if obj.price_amount is None:
            return None
        return dict(money(obj.price_amount, obj.currency))

    @staticmethod
    def resolve_licenses(obj: Product) -> list[dict[str, Any]]:
        return [
            {
                "id": license.pk,
                "tier": license.tier,
                "name": license.name,
                "price": money(license.price_amount, obj.currency),
                "exclusive": license.exclusive,
                "available": license_available(obj, license),
            }
            for license in obj.licenses.all()
        ]

    @staticmethod
    def resolve_url(obj: Product) -> str:
        return obj.get_absolute_url()

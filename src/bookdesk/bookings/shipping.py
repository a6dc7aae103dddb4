"""The shipping desk (/console/shipping): paid goods to pack and send, the longest waiting first, and parcels on
their way until they are marked delivered.

Five queries whatever the number of shipments: each list's count and its rows (with their orders), then the
goods lines of every order shown. Only orders that may still ship are listed (`orders.shipping.SHIPPABLE_ORDERS`:
an order under review or refunded waits on the attention page); a shipment is recorded when its paid session is
applied, so its `created_at` is when the customer's wait began.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet

from bookdesk.countries import country_name
from bookdesk.orders.models import OrderLine, Shipment, ShipmentStatus, carrier_name
from bookdesk.orders.shipping import SHIPPABLE_ORDERS, carrier_choices

PAGE_SIZE = 50  # parcels to ship on a page
ON_THE_WAY_SHOWN = 50  # parcels on their way, the longest travelling first
MAX_PAGE = 10**6  # beyond any shop's parcels: a larger page number is the last page


@dataclass(frozen=True)
class ParcelItem:
    """One goods line of the order, as it goes in the parcel."""

    description: str
    quantity: int


@dataclass(frozen=True)
class Parcel:
    shipment_id: int
    order_id: int
    order_code: str
    email: str
    address_lines: list[str]
    rate_name: str
    paid_at: dt.datetime  # when the paid session recorded the shipment
    waiting: dt.timedelta  # since it was paid
    late: bool  # waiting longer than the shop ships within
    carrier: str
    tracking_number: str
    tracking_url: str
    shipped_at: dt.datetime | None
    destination: str  # the name and the town, for a line about the parcel
    items: list[ParcelItem]

    @property
    def carrier_name(self) -> str:
        return carrier_name(self.carrier)


@dataclass(frozen=True)
class ShippingDesk:
    to_ship: list[Parcel]
    to_ship_count: int
    page: int
    pages: int
    on_the_way: list[Parcel]
    on_the_way_count: int
    ship_within_hours: int
    carriers: list[tuple[str, str]]


def _shippable(status: str) -> QuerySet[Shipment]:
    return Shipment.objects.filter(status=status, order__status__in=SHIPPABLE_ORDERS)


def _rows(shipments: QuerySet[Shipment]) -> list[Shipment]:
    return list(shipments.select_related("order"))


def shipping_desk(*, page: int, now: dt.datetime) -> ShippingDesk:
    """Page `page` of the parcels to ship (clamped to the last page), oldest payment first, and the parcels on
    their way, shipped longest ago first."""
    within_hours = int(settings.SHIP_WITHIN_HOURS)
    to_ship = _shippable(ShipmentStatus.TO_SHIP)
    to_ship_count = to_ship.count()
    pages = max(1, -(-to_ship_count // PAGE_SIZE))
    page = min(max(1, page), pages)
    start = (page - 1) * PAGE_SIZE
    waiting = _rows(to_ship.order_by("created_at", "pk")[start : start + PAGE_SIZE])
    on_the_way = _shippable(ShipmentStatus.SHIPPED)
    on_the_way_count = on_the_way.count()
    travelling = _rows(on_the_way.order_by("shipped_at", "pk")[:ON_THE_WAY_SHOWN])
    items = _goods_of([shipment.order_id for shipment in (*waiting, *travelling)])
    late_after = dt.timedelta(hours=within_hours)

    def parcel(shipment: Shipment) -> Parcel:
        return Parcel(
            shipment_id=shipment.pk,
            order_id=shipment.order_id,
            order_code=shipment.order.code,
            email=shipment.order.email,
            address_lines=shipment.address_lines,
            rate_name=shipment.rate_name,
            paid_at=shipment.created_at,
            waiting=now - shipment.created_at,
            late=shipment.status == ShipmentStatus.TO_SHIP and now - shipment.created_at > late_after,
            carrier=shipment.carrier,
            tracking_number=shipment.tracking_number,
            tracking_url=shipment.tracking_url,
            shipped_at=shipment.shipped_at,
            destination=", ".join(filter(None, (shipment.name, shipment.city, country_name(shipment.country)))),
            items=items.get(shipment.order_id, []),
        )

    return ShippingDesk(
        to_ship=[parcel(shipment) for shipment in waiting],
        to_ship_count=to_ship_count,
        page=page,
        pages=pages,
        on_the_way=[parcel(shipment) for shipment in travelling],
        on_the_way_count=on_the_way_count,
        ship_within_hours=within_hours,
        carriers=carrier_choices(),
    )


def _goods_of(order_ids: list[int]) -> dict[int, list[ParcelItem]]:
    """The goods still to send of each order (active goods lines: not a seat, a slot or a licence, not
    cancelled), in the order's line order: one query, none without orders."""
    if not order_ids:
        return {}
    found: dict[int, list[ParcelItem]] = {}
    lines = (
        OrderLine.objects.filter(
            order_id__in=order_ids,
            kind=OrderLine.Kind.PRODUCT,
            license__isnull=True,
            status=OrderLine.Status.ACTIVE,
        )
        .order_by("order_id", "pk")
        .values_list("order_id", "description", "quantity")
    )
    for order_id, description, quantity in lines:
        found.setdefault(order_id, []).append(ParcelItem(description=description, quantity=quantity))
    return found

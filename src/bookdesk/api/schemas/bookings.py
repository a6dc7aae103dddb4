"""Wire shapes of `GET /api/bookings`: the caller's course seats, studio slots, licenses and goods."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from bookdesk.api.schemas.orders import MoneyOut
from bookdesk.bookings.filters import BookingKind, BookingStatusFilter


class BookingFiltersIn(Schema):
    """The filters of `GET /api/bookings` (query parameters)."""

    status: BookingStatusFilter | None = Field(
        None,
        description="The hold's status: `held` (awaiting payment), `confirmed`, `released` (not paid in time, or "
        "the payment failed), `cancelled` (cancelled or refunded); or `active` (held or confirmed) and "
        "`inactive` (released or cancelled).",
    )
    kind: BookingKind | None = Field(
        None,
        description="`course` (a seat), `service` (a studio slot), `product` (a license) or `goods` (units of a "
        "physical product).",
    )
    upcoming: bool | None = Field(
        None,
        description="`true`: seats and slots that start in the future. `false`: everything else — started or past "
        "seats and slots, and licenses and goods (they have no date). The two split the whole list.",
    )


class BookingOrderOut(Schema):
    code: str
    status: str
    status_label: str
    payment_status: str | None = Field(description="The latest payment attempt's status; null before any.")


class BookingShipmentOut(Schema):
    status: str = Field(description="to_ship, shipped, delivered or cancelled (every item refunded before shipping).")
    status_label: str
    carrier: str | None = Field(description="The carrier's code (dhl, ups, …), once shipped.")
    tracking_number: str | None = Field(description="Once shipped.")
    tracking_url: str | None = Field(description="The carrier's tracking page of the parcel, once shipped.")


class BookingItemOut(Schema):
    kind: BookingKind
    id: int = Field(description="The seat's, slot's, license's or goods hold's id (unique within its kind).")
    line_id: int = Field(description="Its order line: POST /api/orders/{code}/lines/{line_id}/cancel cancels it.")
    title: str
    starts_at: datetime | None = Field(description="Null for licenses and goods.")
    ends_at: datetime | None = Field(description="Null for licenses and goods.")
    location: str | None
    resource: str | None = Field(description="The studio or engineer of a slot.")
    license: str | None = Field(description="The license tier's name, for a license.")
    license_tier: str | None = Field(description="basic, premium or exclusive, for a license.")
    exclusive: bool
    quantity: int | None = Field(description="How many units, for goods; null for the other kinds.")
    shipment: BookingShipmentOut | None = Field(
        description="The order's shipment, for goods once paid (the address comes with the payment); null otherwise."
    )
    status: str = Field(description="held, confirmed, released or cancelled.")
    status_label: str
    order: BookingOrderOut
    amount: MoneyOut
    created_at: datetime
    can_retry_payment: bool = Field(description="The order can be paid (again): POST /api/orders/{code}/retry-payment.")
    can_cancel: bool = Field(
        description="This item's line can be cancelled now under its kind's policy: "
        "POST /api/orders/{code}/lines/{line_id}/cancel (POST /api/orders/{code}/cancel takes every line it can)."
    )
    cancel_until: datetime | None = Field(description="When cancelling the line stops being possible, if it is now.")
    cancel_refund: MoneyOut | None = Field(
        description="What cancelling the line now gives back (with its tax, and the shipping with an order's last "
        "goods), if it is possible."
    )
    download_url: str | None = Field(description="A signed download link, for a confirmed license.")
    calendar_url: str | None = Field(description="The order's .ics, for a confirmed seat or slot.")

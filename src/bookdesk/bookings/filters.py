"""What the bookings list can be filtered by: kind of item, hold status (or a friendly set of them), upcoming."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bookdesk.orders.models import ACTIVE_HOLD, HoldStatus


class BookingKind(StrEnum):
    COURSE = "course"
    SERVICE = "service"
    PRODUCT = "product"  # a license to a digital product
    GOODS = "goods"  # units of a physical product, shipped


class BookingStatusFilter(StrEnum):
    """A hold status, or one of two friendly sets of them."""

    HELD = HoldStatus.HELD.value
    CONFIRMED = HoldStatus.CONFIRMED.value
    RELEASED = HoldStatus.RELEASED.value
    CANCELLED = HoldStatus.CANCELLED.value
    ACTIVE = "active"  # held or confirmed: what the customer has, or is about to have
    INACTIVE = "inactive"  # released or cancelled: what came to nothing, or was given back


STATUS_SETS: dict[BookingStatusFilter, tuple[str, ...]] = {
    BookingStatusFilter.HELD: (HoldStatus.HELD,),
    BookingStatusFilter.CONFIRMED: (HoldStatus.CONFIRMED,),
    BookingStatusFilter.RELEASED: (HoldStatus.RELEASED,),
    BookingStatusFilter.CANCELLED: (HoldStatus.CANCELLED,),
    BookingStatusFilter.ACTIVE: ACTIVE_HOLD,
    BookingStatusFilter.INACTIVE: (HoldStatus.RELEASED, HoldStatus.CANCELLED),
}


@dataclass(frozen=True)
class BookingFilters:
    status: BookingStatusFilter | None = None
    kind: BookingKind | None = None
    # True: dated items starting in the future. False: everything else (started or past seats and
    # slots, and licenses and goods, which have no date), so that true and false split the whole list in two.
    upcoming: bool | None = None

"""Reads on orders and what they hold."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from bookdesk.errors import NotFound
from bookdesk.orders.models import Booking, HoldStatus, Order, Reservation
from bookdesk.orders.states import PAYABLE


def live_hold(now: datetime, *, order_path: str = "line__order") -> Q:
    """Rows that take capacity: confirmed, or held by an order whose hold has not lapsed.

    An order past its hold time still keeps what it holds once its payment is under way (processing,
    paid, under review): only an order that can still be paid (pending, failed) lets its hold lapse.
    """
    held = Q(status=HoldStatus.HELD) & (
        Q(**{f"{order_path}__hold_expires_at__gt": now}) | ~Q(**{f"{order_path}__status__in": PAYABLE})
    )
    return Q(status=HoldStatus.CONFIRMED) | held


def bookings_taking_seats(now: datetime) -> QuerySet[Booking]:
    return Booking.objects.filter(live_hold(now))


def reservations_taking_slots(now: datetime) -> QuerySet[Reservation]:
    return Reservation.objects.filter(live_hold(now))


def order_for(*, code: str, user: Any) -> Order:
    """One order of the caller (staff see every order); anyone else's is simply not found."""
    orders = Order.objects.prefetch_related("lines", "payments")
    if not user.is_staff:
        orders = orders.filter(user=user)
    order = orders.filter(code=code.upper()).first()
    if order is None:
        raise NotFound("Order not found.")
    return order

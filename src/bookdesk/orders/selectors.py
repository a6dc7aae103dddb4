"""Reads on orders and what they hold. What takes capacity is `orders.capacity`'s; what a customer reads of
their orders with their payments (the bookings list, an order's page) is `bookdesk.bookings`'.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Prefetch, QuerySet

from bookdesk.errors import NotFound
from bookdesk.orders.models import Order, OrderKind, OrderLine

# What `lines_with_holds` joins for an order of each kind (a mixed cart: all of it).
_HOLD_PATHS: dict[str, tuple[str, ...]] = {
    OrderKind.COURSE_BOOKING: ("booking__course",),
    OrderKind.RESERVATION_PAYMENT: ("reservation__service", "reservation__resource"),
    OrderKind.BEATS_ONLY: ("grant", "stock_hold"),
}


_ALL_HOLD_PATHS = ("booking__course", "reservation__service", "reservation__resource", "grant", "stock_hold")


def lines_with_holds(order: Order) -> QuerySet[OrderLine]:
    """The order's lines, each with its hold (`line.hold`) and what that holds, in one query.

    Only the relations an order of its kind can have are joined: each join costs the query more to build.
    """
    return (
        OrderLine.objects.filter(order=order)
        .select_related(*_HOLD_PATHS.get(order.kind, _ALL_HOLD_PATHS))
        .order_by("pk")
    )


def lines_with_holds_of(orders: Iterable[Order]) -> dict[int, list[OrderLine]]:
    """`lines_with_holds` of several orders, in one query: each order's lines by the order's id.

    Each line's `order` is the order given, so reading it costs nothing.
    """
    by_id = {order.pk: order for order in orders}
    lines: dict[int, list[OrderLine]] = {pk: [] for pk in by_id}
    if not by_id:
        return lines
    paths = {path for order in by_id.values() for path in _HOLD_PATHS.get(order.kind, _ALL_HOLD_PATHS)}
    for line in OrderLine.objects.filter(order__in=list(by_id)).select_related(*sorted(paths)).order_by("pk"):
        line.order = by_id[line.order_id]
        lines[line.order_id].append(line)
    return lines


def owned(orders: QuerySet[Order], *, code: str, user: Any) -> Order:
    """The order with this code among `orders`, if it is the caller's (staff: any); else not found."""
    if not user.is_staff:
        orders = orders.filter(user=user)
    order = orders.filter(code=code.upper()).first()
    if order is None:
        raise NotFound("Order not found.")
    return order


def order_for(*, code: str, user: Any) -> Order:
    """One order of the caller (staff see every order); anyone else's is simply not found."""
    lines = OrderLine.objects.select_related("grant__license", "grant__product").order_by("pk")
    orders = Order.objects.select_related("shipment").prefetch_related(Prefetch("lines", queryset=lines), "payments")
    return owned(orders, code=code, user=user)

"""What takes capacity: the rule (`live_hold`, and `live_sql`, its twin in SQL) and the counts built on it.

A seat, slot or license takes capacity while it is confirmed, or held by an order whose hold has not
lapsed (or whose payment is under way). Placement asks `seats_taken` and `lapsed_holders` under its
locks, in SQL, as they run on every checkout; the catalog's availability (`orders.availability`) asks
the subqueries below. tests/orders/test_capacity.py keeps `live_sql` and `live_hold` in step.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from django.db.models import Count, Exists, Expression, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from bookdesk.db.raw import at, fetch, placeholders, table
from bookdesk.orders.models import Booking, Grant, HoldStatus, Order, OrderLine, Reservation, StockHold
from bookdesk.orders.states import PAYABLE

_HOLD_TABLES = {
    "booking": table(Booking),
    "reservation": table(Reservation),
    "grant": table(Grant),
    "stock_hold": table(StockHold),
}
_LINE, _ORDER = table(OrderLine), table(Order)


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


def live_sql(hold: str, order: str) -> str:
    """`live_hold` in SQL, for hold alias `hold` of an order aliased `order`; one parameter: now.

    The twin of `live_hold` for the raw queries below; tests/orders/test_capacity.py checks that the two
    agree on every combination of hold status, order status and hold expiry."""
    payable = ", ".join(f"'{status}'" for status in sorted(PAYABLE))
    return (
        f"({hold}.status = '{HoldStatus.CONFIRMED}' OR ({hold}.status = '{HoldStatus.HELD}' "
        f"AND ({order}.hold_expires_at > %s OR {order}.status NOT IN ({payable}))))"
    )


class Seats(NamedTuple):
    """A course's seats as the placement sees them under the course's lock."""

    taken: int  # by live holds (the order being replaced aside)
    mine: int  # of those, the customer's own
    lapsed: int  # still held by unpaid orders past their hold: to be given back before deciding


def seats_taken(*, course_id: int, user_id: int | None, now: datetime, ignoring: int | None) -> Seats:
    """A course's seats taken by live holds, the customer's among them, and those held past their time: one query."""
    payable = ", ".join(f"'{status}'" for status in sorted(PAYABLE))
    counted = f"tor.id <> %s AND {live_sql('t', 'tor')}"
    sql = (
        f"SELECT COALESCE(SUM(CASE WHEN {counted} THEN 1 ELSE 0 END), 0), "  # noqa: S608
        f"COALESCE(SUM(CASE WHEN {counted} AND t.user_id = %s THEN 1 ELSE 0 END), 0), "
        f"COALESCE(SUM(CASE WHEN t.status = '{HoldStatus.HELD}' AND tor.hold_expires_at <= %s "
        f"AND tor.status IN ({payable}) THEN 1 ELSE 0 END), 0) "
        f"FROM {_HOLD_TABLES['booking']} t JOIN {_LINE} tl ON tl.id = t.line_id "
        f"JOIN {_ORDER} tor ON tor.id = tl.order_id "
        f"WHERE t.course_id = %s AND t.status IN ('{HoldStatus.HELD}', '{HoldStatus.CONFIRMED}')"
    )
    moment = at(now)
    ((taken, mine, lapsed),) = fetch(sql, [ignoring or 0, moment, ignoring or 0, moment, user_id, moment, course_id])
    return Seats(int(taken), int(mine), int(lapsed))


def units_taken(*, product_id: int, now: datetime, ignoring: int | None) -> int:
    """Units of a physical product sold or held by live holds (the order being replaced aside): one query.

    Asked under the product's row lock, after lapsed holders gave theirs back (`lapsed_holders`)."""
    sql = (
        f"SELECT COALESCE(SUM(t.quantity), 0) FROM {_HOLD_TABLES['stock_hold']} t "  # noqa: S608
        f"JOIN {_LINE} tl ON tl.id = t.line_id JOIN {_ORDER} tor ON tor.id = tl.order_id "
        f"WHERE t.product_id = %s AND tor.id <> %s AND {live_sql('t', 'tor')}"
    )
    ((taken,),) = fetch(sql, [product_id, ignoring or 0, at(now)])
    return int(taken)


def lapsed_holders(
    *, course_ids: Iterable[int], resource_ids: Iterable[int], product_ids: Iterable[int], now: datetime
) -> list[int]:
    """Ids of orders whose hold lapsed unpaid while they still hold seats of, slots at or licenses of these."""
    parts: list[str] = []
    params: list[Any] = []
    payable = ", ".join(f"'{status}'" for status in sorted(PAYABLE))
    moment = at(now)
    for hold_table, column, ids in (
        ("booking", "course_id", sorted(set(course_ids))),
        ("reservation", "resource_id", sorted(set(resource_ids))),
        ("grant", "product_id", sorted(set(product_ids))),
        ("stock_hold", "product_id", sorted(set(product_ids))),
    ):
        if ids:
            parts.append(
                f"SELECT tor.id FROM {_HOLD_TABLES[hold_table]} t JOIN {_LINE} tl ON tl.id = t.line_id "  # noqa: S608
                f"JOIN {_ORDER} tor ON tor.id = tl.order_id WHERE t.{column} IN ({placeholders(ids)}) "
                f"AND t.status = '{HoldStatus.HELD}' AND tor.hold_expires_at <= %s AND tor.status IN ({payable})"
            )
            params += [*ids, moment]
    if not parts:
        return []
    return sorted({row[0] for row in fetch(" UNION ".join(parts), params)})


# --- the subqueries the catalog's availability reads ----------------------------------------------


def seats_taken_subquery() -> Expression:
    """Seats of the outer `Course` that are confirmed or held by a live hold; every `seats_left` reads this."""
    seats = (
        Booking.objects.filter(live_hold(timezone.now()), course=OuterRef("pk"))
        .order_by()
        .values("course")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(seats, output_field=IntegerField()), Value(0))


def _live_grants() -> QuerySet[Grant]:
    return Grant.objects.filter(live_hold(timezone.now()), product=OuterRef("pk"))


def exclusive_sold_subquery() -> Exists:
    """Whether the outer `Product`'s exclusive license is held or sold (then the product is off sale)."""
    return Exists(_live_grants().filter(exclusive=True))


def licensed_subquery() -> Exists:
    """Whether any license of the outer `Product` is held or sold (then its exclusive is off sale)."""
    return Exists(_live_grants())


def units_taken_subquery() -> Expression:
    """Units of the outer `Product` sold or held by a live hold; every `stock_left` reads this."""
    units = (
        StockHold.objects.filter(live_hold(timezone.now()), product=OuterRef("pk"))
        .order_by()
        .values("product")
        .annotate(n=Sum("quantity"))
        .values("n")
    )
    return Coalesce(Subquery(units, output_field=IntegerField()), Value(0))

"""Reads on orders and what they hold."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from bookdesk.catalog.models import Course, License, Product, Resource, Service
from bookdesk.errors import NotFound
from bookdesk.money import MoneyDict, money
from bookdesk.orders.models import (
    ACTIVE_HOLD,
    Booking,
    Grant,
    HoldStatus,
    Order,
    OrderKind,
    OrderLine,
    OrderStatus,
    Reservation,
)
from bookdesk.orders.states import PAYABLE
from bookdesk.paging import Page

# payments depends on orders (its models import ours), so its table is named here, not imported.
_PAYMENTS = "payments_payment"


def live_hold(now: datetime, *, order_path: str = "line__order") -> Q:
    """Rows that take capacity: confirmed, or held by an order whose hold has not lapsed.

    An order past its hold time still keeps what it holds once its payment is under way (processing,
    paid, under review): only an order that can still be paid (pending, failed) lets its hold lapse.
    """
    held = Q(status=HoldStatus.HELD) & (
        Q(**{f"{order_path}__hold_expires_at__gt": now}) | ~Q(**{f"{order_path}__status__in": PAYABLE})
    )
    return Q(status=HoldStatus.CONFIRMED) | held


# What `lines_with_holds` joins for an order of each kind (a mixed cart: all of it).
_HOLD_PATHS: dict[str, tuple[str, ...]] = {
    OrderKind.COURSE_BOOKING: ("booking__course",),
    OrderKind.RESERVATION_PAYMENT: ("reservation__service", "reservation__resource"),
    OrderKind.BEATS_ONLY: ("grant",),
}
_ALL_HOLD_PATHS = ("booking__course", "reservation__service", "reservation__resource", "grant")


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


def bookings_taking_seats(now: datetime) -> QuerySet[Booking]:
    return Booking.objects.filter(live_hold(now))


def reservations_taking_slots(now: datetime) -> QuerySet[Reservation]:
    return Reservation.objects.filter(live_hold(now))


def _owned(orders: QuerySet[Order], *, code: str, user: Any) -> Order:
    """The order with this code among `orders`, if it is the caller's (staff: any); else not found."""
    if not user.is_staff:
        orders = orders.filter(user=user)
    order = orders.filter(code=code.upper()).first()
    if order is None:
        raise NotFound("Order not found.")
    return order


def order_for(*, code: str, user: Any) -> Order:
    """One order of the caller (staff see every order); anyone else's is simply not found."""
    orders = Order.objects.prefetch_related("lines", "payments")
    return _owned(orders, code=code, user=user)


# --- the caller's bookings: course seats, studio slots and licenses in one list -------------------
#
# This list is the hot read of a customer's account (DESIGN §8: p95 ≤ 30 ms with 1,000 items of theirs
# among 1,000,000), so its queries are written in SQL (portable: SQLite and PostgreSQL); built with the
# ORM, the same queries cost more CPU than the database spends answering them (measured on a 1M-row
# database: 16.6 ms of CPU a page against 1.7). What takes capacity is `live_hold`'s rule, in SQL as
# `live_sql`, with a test that keeps the two in step. One page takes at most three queries:
#   1. the page's keys and the total: a UNION ALL of the three hold tables, each part reading only the
#      customer's rows from its `*_user_page` index (covering: no table row is read), counted by a window
#      and cut to the page by the database (an empty page beyond the end counts separately);
#   2. every seat, slot and license of the page's orders (the page's items and their siblings: cancelling
#      or paying again acts on the whole order), with what they refer to and the order's latest payment;
#   3. only when an order on the page could be paid again after a failed payment: what is taken now of
#      its courses, studios and products (counted as `live_hold` counts, see `live_sql`).
# One query per kind with the page merged in Python was the alternative: it reads `offset + page_size`
# rows of each kind, so deep pages cost more and more; the UNION lets the database stop at the page.
# The SQL text is assembled only from this module's table and column names and `%s` placeholders; every
# value (customer, statuses, times, ids) is a bound parameter (hence the `noqa: S608` below).


class BookingKind(StrEnum):
    COURSE = "course"
    SERVICE = "service"
    PRODUCT = "product"


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

# An order that can be paid again after a failed payment or a lapsed hold takes back what it held if it is
# still free (`payments.services.payment_retry` → `order_rehold`).
RETRY_AFTER_REHOLD = frozenset({OrderStatus.FAILED, OrderStatus.EXPIRED})


@dataclass(frozen=True)
class BookingFilters:
    status: BookingStatusFilter | None = None
    kind: BookingKind | None = None
    # True: dated items starting in the future. False: everything else (started or past seats and
    # slots, and licenses, which have no date), so that true and false split the whole list in two.
    upcoming: bool | None = None


@dataclass(frozen=True)
class OrderActions:
    """What the customer can do next with a whole order (cheap answers; the action itself decides)."""

    can_retry_payment: bool = False
    can_cancel: bool = False
    cancel_until: datetime | None = None
    cancel_refund_amount: int | None = None


@dataclass(frozen=True)
class BookingOrder:
    """The order an item belongs to, as the list shows it."""

    id: int
    code: str
    status: str
    currency: str
    payment_status: str | None  # the latest payment attempt's, None before any

    @property
    def status_label(self) -> str:
        return str(OrderStatus(self.status).label)


@dataclass(frozen=True)
class BookingItem:
    """One course seat, studio slot or license of the customer, with its order and next steps."""

    kind: BookingKind
    id: int
    order: BookingOrder
    title: str
    starts_at: datetime | None
    ends_at: datetime | None
    location: str | None
    resource: str | None
    license: str | None
    license_tier: str | None
    exclusive: bool
    status: str
    amount: MoneyDict
    created_at: datetime
    actions: OrderActions
    download_url: str | None
    calendar_url: str | None

    @property
    def status_label(self) -> str:
        return str(HoldStatus(self.status).label)

    @property
    def can_retry_payment(self) -> bool:
        return self.actions.can_retry_payment

    @property
    def can_cancel(self) -> bool:
        return self.actions.can_cancel

    @property
    def cancel_until(self) -> datetime | None:
        return self.actions.cancel_until

    @property
    def cancel_refund(self) -> MoneyDict | None:
        amount = self.actions.cancel_refund_amount
        return None if amount is None else money(amount, self.order.currency)


_TABLES = {
    "booking": Booking._meta.db_table,
    "reservation": Reservation._meta.db_table,
    "grant": Grant._meta.db_table,
    "line": OrderLine._meta.db_table,
    "order": Order._meta.db_table,
    "course": Course._meta.db_table,
    "service": Service._meta.db_table,
    "resource": Resource._meta.db_table,
    "product": Product._meta.db_table,
    "license": License._meta.db_table,
}


@dataclass(frozen=True)
class _KindSql:
    table: str  # the hold table
    start: str | None  # the column of its start, None for licenses
    joins: str  # what an item shows joins in (as c, s, r, p, x)
    columns: str  # title, starts_at, ends_at, location, resource, license, license_tier, exclusive,
    # target_id (course, resource or product), published, capacity, license_exclusive


_KINDS: dict[BookingKind, _KindSql] = {
    BookingKind.COURSE: _KindSql(
        table=_TABLES["booking"],
        start="c.starts_at",
        joins=f"JOIN {_TABLES['course']} c ON c.id = h.course_id",
        columns="c.title, c.starts_at, c.ends_at, c.location, NULL, NULL, NULL, FALSE, "
        "h.course_id, c.published, c.capacity, FALSE",
    ),
    BookingKind.SERVICE: _KindSql(
        table=_TABLES["reservation"],
        start="h.starts_at",
        joins=f"JOIN {_TABLES['service']} s ON s.id = h.service_id "
        f"JOIN {_TABLES['resource']} r ON r.id = h.resource_id",
        columns="s.name, h.starts_at, h.ends_at, r.name, r.name, NULL, NULL, FALSE, "
        "h.resource_id, s.published, NULL, FALSE",
    ),
    BookingKind.PRODUCT: _KindSql(
        table=_TABLES["grant"],
        start=None,
        joins=f"JOIN {_TABLES['product']} p ON p.id = h.product_id JOIN {_TABLES['license']} x ON x.id = h.license_id",
        columns="p.title, NULL, NULL, NULL, NULL, x.name, x.tier, h.exclusive, "
        "h.product_id, p.published AND x.active, NULL, x.exclusive",
    ),
}
_HOLD_COLUMNS = [
    *("kind", "id", "status", "created_at", "line_id", "amount"),
    *("order_id", "order_code", "order_status", "currency", "order_total", "hold_expires_at", "payment_status"),
    *("title", "starts_at", "ends_at", "location", "resource", "license", "license_tier", "exclusive"),
    *("target_id", "published", "capacity", "license_exclusive"),
]


def _placeholders(values: Iterable[Any]) -> str:
    return ", ".join("%s" for _ in values)


def _moment(value: Any) -> datetime | None:
    """A timestamp from a raw row: SQLite gives text or naive UTC, PostgreSQL an aware datetime."""
    if value is None or (isinstance(value, datetime) and timezone.is_aware(value)):
        return value
    moment = parse_datetime(value) if isinstance(value, str) else value
    if moment is None:
        raise ValueError(f"not a timestamp: {value!r}")
    return timezone.make_aware(moment, UTC) if timezone.is_naive(moment) else moment


def _rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _key_parts(*, user_id: int, filters: BookingFilters, now: datetime) -> tuple[list[str], list[Any]]:
    """One SELECT (kind, id, line_id, created_at) per kind the filters let through, and their parameters."""
    kinds = [filters.kind] if filters.kind is not None else list(BookingKind)
    statuses = STATUS_SETS[filters.status] if filters.status is not None else ()
    moment = connection.ops.adapt_datetimefield_value(now)
    parts: list[str] = []
    params: list[Any] = []
    for kind in kinds:
        sql = _KINDS[kind]
        if filters.upcoming and sql.start is None:
            continue  # a license has no date: never upcoming
        # A seat's start is its course's: join it only when the filter needs it.
        join = sql.joins if kind == BookingKind.COURSE and filters.upcoming is not None else ""
        where = ["h.user_id = %s"]
        params.append(user_id)
        if statuses:
            where.append(f"h.status IN ({_placeholders(statuses)})")
            params.extend(statuses)
        if filters.upcoming is not None and sql.start is not None:
            where.append(f"{sql.start} {'>' if filters.upcoming else '<='} %s")
            params.append(moment)
        parts.append(
            f"SELECT '{kind.value}' AS kind, h.id AS id, h.line_id AS line_id, h.created_at AS created_at "  # noqa: S608
            f"FROM {sql.table} h {join} WHERE {' AND '.join(where)}"
        )
    return parts, params


# No customer has a billion items; a larger offset (a page number from a fuzzer) is simply past the end.
MAX_OFFSET = 10**9


def booking_keys(
    *, user_id: int, filters: BookingFilters, offset: int, limit: int, now: datetime | None = None
) -> tuple[list[tuple[str, int, int]], int]:
    """One page of the customer's holds as (kind, id, order id), newest first, and how many there are.

    The count is a window over the filtered rows, the sort and cut happen on index-only rows, and the
    lines are joined for the page's rows only."""
    now = now or timezone.now()
    parts, params = _key_parts(user_id=user_id, filters=filters, now=now)
    if not parts:
        return [], 0
    union = " UNION ALL ".join(parts)
    count = f"SELECT COUNT(*) FROM ({union}) keys"  # noqa: S608
    if offset > MAX_OFFSET:  # far beyond any customer's list, and beyond what OFFSET takes
        return [], int(_rows(count, params)[0][0])
    rows = _rows(
        "SELECT k.kind, k.id, l.order_id, k.total FROM ("  # noqa: S608
        f"SELECT kind, id, line_id, created_at, COUNT(*) OVER () AS total FROM ({union}) u "
        "ORDER BY created_at DESC, id DESC, kind LIMIT %s OFFSET %s"
        f") k JOIN {_TABLES['line']} l ON l.id = k.line_id ORDER BY k.created_at DESC, k.id DESC, k.kind",
        [*params, limit, offset],
    )
    if rows:
        return [(kind, hold_id, order_id) for kind, hold_id, order_id, _ in rows], int(rows[0][3])
    if offset == 0:
        return [], 0
    return [], int(_rows(count, params)[0][0])


# The columns every part of the holds query starts with, then its kind's own (`_KindSql.columns`).
_HOLD_SELECT = (
    "h.id, h.status, h.created_at, h.line_id, l.total_amount, o.id, o.code, o.status, o.currency, o.total_amount, "  # noqa: S608
    "o.hold_expires_at, "
    f"(SELECT pp.status FROM {_PAYMENTS} pp WHERE pp.order_id = o.id ORDER BY pp.attempt DESC LIMIT 1)"
)
_HOLD_JOINS = f"JOIN {_TABLES['line']} l ON l.id = h.line_id JOIN {_TABLES['order']} o ON o.id = l.order_id"


def _hold_rows(*, user_id: int, order_ids: Iterable[int]) -> list[dict[str, Any]]:
    """Every seat, slot and license of these orders of the customer, with what they refer to and the
    order's latest payment status: one query."""
    ids = sorted(set(order_ids))
    if not ids:
        return []
    parts: list[str] = []
    params: list[Any] = []
    for kind, sql in _KINDS.items():
        parts.append(
            f"SELECT '{kind.value}', {_HOLD_SELECT}, {sql.columns} FROM {sql.table} h {_HOLD_JOINS} {sql.joins} "  # noqa: S608
            f"WHERE h.user_id = %s AND o.id IN ({_placeholders(ids)})"
        )
        params += [user_id, *ids]
    found = [dict(zip(_HOLD_COLUMNS, row, strict=True)) for row in _rows(" UNION ALL ".join(parts), params)]
    for row in found:
        for name in ("created_at", "hold_expires_at", "starts_at", "ends_at"):
            row[name] = _moment(row[name])
    return found


@dataclass
class _Taken:
    """What is taken now of the courses, studios and products some released holds would take back."""

    seats: dict[int, int] = field(default_factory=dict)
    own_seats: dict[int, int] = field(default_factory=dict)
    slots: list[tuple[int, datetime, datetime]] = field(default_factory=list)
    licensed: set[int] = field(default_factory=set)
    exclusive_sold: set[int] = field(default_factory=set)


def live_sql(hold: str, order: str) -> str:
    """`live_hold` in SQL, for hold alias `hold` of an order aliased `order`; one parameter: now.

    The twin of `live_hold` for the raw queries below; tests/bookings/test_selectors.py checks that the two
    agree on every combination of hold status, order status and hold expiry."""
    payable = ", ".join(f"'{status}'" for status in sorted(PAYABLE))
    return (
        f"({hold}.status = '{HoldStatus.CONFIRMED}' OR ({hold}.status = '{HoldStatus.HELD}' "
        f"AND ({order}.hold_expires_at > %s OR {order}.status NOT IN ({payable}))))"
    )


# --- placement: what order_place asks under its locks, in SQL (it runs on every checkout) ------------


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
        f"FROM {_TABLES['booking']} t JOIN {_TABLES['line']} tl ON tl.id = t.line_id "
        f"JOIN {_TABLES['order']} tor ON tor.id = tl.order_id "
        f"WHERE t.course_id = %s AND t.status IN ('{HoldStatus.HELD}', '{HoldStatus.CONFIRMED}')"
    )
    moment = connection.ops.adapt_datetimefield_value(now)
    ((taken, mine, lapsed),) = _rows(sql, [ignoring or 0, moment, ignoring or 0, moment, user_id, moment, course_id])
    return Seats(int(taken), int(mine), int(lapsed))


def lapsed_holders(
    *, course_ids: Iterable[int], resource_ids: Iterable[int], product_ids: Iterable[int], now: datetime
) -> list[int]:
    """Ids of orders whose hold lapsed unpaid while they still hold seats of, slots at or licenses of these."""
    parts: list[str] = []
    params: list[Any] = []
    payable = ", ".join(f"'{status}'" for status in sorted(PAYABLE))
    moment = connection.ops.adapt_datetimefield_value(now)
    for table, column, ids in (
        ("booking", "course_id", sorted(set(course_ids))),
        ("reservation", "resource_id", sorted(set(resource_ids))),
        ("grant", "product_id", sorted(set(product_ids))),
    ):
        if ids:
            parts.append(
                f"SELECT tor.id FROM {_TABLES[table]} t JOIN {_TABLES['line']} tl ON tl.id = t.line_id "  # noqa: S608
                f"JOIN {_TABLES['order']} tor ON tor.id = tl.order_id WHERE t.{column} IN ({_placeholders(ids)}) "
                f"AND t.status = '{HoldStatus.HELD}' AND tor.hold_expires_at <= %s AND tor.status IN ({payable})"
            )
            params += [*ids, moment]
    if not parts:
        return []
    return sorted({row[0] for row in _rows(" UNION ".join(parts), params)})


def _taken_for(holds: list[dict[str, Any]], *, user_id: int, now: datetime) -> _Taken:
    """What is taken now (by live holds) of the courses, studios and products these holds are of: one query.

    Rows: per course (seats, the customer's own), per product (licenses, exclusive ones), and per studio the
    live slots overlapping one of the holds' (as no slot lasts a day — slots come from a day's opening
    hours — an overlapping one starts less than a day earlier, which keeps the index range short)."""
    taken = _Taken()
    moment = connection.ops.adapt_datetimefield_value(now)
    lines = f"JOIN {_TABLES['line']} tl ON tl.id = t.line_id JOIN {_TABLES['order']} tor ON tor.id = tl.order_id"
    active = f"t.status IN ('{HoldStatus.HELD}', '{HoldStatus.CONFIRMED}') AND {live_sql('t', 'tor')}"
    # Grouped parts need typed NULLs where the slots' part has times (PostgreSQL would take them for text).
    no_time = f"CAST(NULL AS {connection.data_types['DateTimeField']})"
    parts: list[str] = []
    params: list[Any] = []
    courses = sorted({h["target_id"] for h in holds if h["kind"] == BookingKind.COURSE})
    if courses:
        parts.append(
            f"SELECT 'course', t.course_id, COUNT(*), SUM(CASE WHEN t.user_id = %s THEN 1 ELSE 0 END), {no_time}, "  # noqa: S608
            f"{no_time} "
            f"FROM {_TABLES['booking']} t {lines} WHERE t.course_id IN ({_placeholders(courses)}) AND {active} "
            "GROUP BY t.course_id"
        )
        params += [user_id, *courses, moment]
    products = sorted({h["target_id"] for h in holds if h["kind"] == BookingKind.PRODUCT})
    if products:
        parts.append(
            f"SELECT 'product', t.product_id, COUNT(*), SUM(CASE WHEN t.exclusive THEN 1 ELSE 0 END), {no_time}, "  # noqa: S608
            f"{no_time} "
            f"FROM {_TABLES['grant']} t {lines} WHERE t.product_id IN ({_placeholders(products)}) AND {active} "
            "GROUP BY t.product_id"
        )
        params += [*products, moment]
    slots = [h for h in holds if h["kind"] == BookingKind.SERVICE]
    if slots:
        overlap = " OR ".join(
            "(t.resource_id = %s AND t.starts_at > %s AND t.starts_at < %s AND t.ends_at > %s)" for _ in slots
        )
        parts.append(
            f"SELECT 'service', t.resource_id, 1, 0, t.starts_at, t.ends_at FROM {_TABLES['reservation']} t {lines} "  # noqa: S608
            f"WHERE ({overlap}) AND {active}"
        )
        for h in slots:
            adapt = connection.ops.adapt_datetimefield_value
            params += [
                h["target_id"],
                adapt(h["starts_at"] - timedelta(days=1)),
                adapt(h["ends_at"]),
                adapt(h["starts_at"]),
            ]
        params.append(moment)
    for kind, target, count, flagged, starts_at, ends_at in _rows(" UNION ALL ".join(parts), params) if parts else []:
        if kind == BookingKind.COURSE:
            taken.seats[target] = int(count)
            taken.own_seats[target] = int(flagged or 0)
        elif kind == BookingKind.PRODUCT:
            taken.licensed.add(target)
            if flagged:
                taken.exclusive_sold.add(target)
        else:
            taken.slots.append((target, _moment(starts_at), _moment(ends_at)))  # type: ignore[arg-type]
    return taken


def _free_again(hold: dict[str, Any], taken: _Taken, now: datetime) -> bool:
    """Whether a released hold could be taken back now (what `order_rehold` checks again under its locks)."""
    target = hold["target_id"]
    if not hold["published"]:
        return False
    if hold["kind"] == BookingKind.COURSE:
        return bool(
            hold["starts_at"] > now
            and taken.seats.get(target, 0) < hold["capacity"]
            and not taken.own_seats.get(target, 0)
        )
    if hold["kind"] == BookingKind.SERVICE:
        return hold["starts_at"] > now and not any(
            resource_id == target and starts < hold["ends_at"] and ends > hold["starts_at"]
            for resource_id, starts, ends in taken.slots
        )
    return target not in taken.exclusive_sold and not (hold["license_exclusive"] and target in taken.licensed)


def _actions_of_orders(holds: list[dict[str, Any]], *, user_id: int, now: datetime) -> dict[int, OrderActions]:
    """Next steps of each order, from all its holds (and one query, `_taken_for`, when one may be paid again)."""
    by_order: dict[int, list[dict[str, Any]]] = {}
    for hold in holds:
        by_order.setdefault(hold["order_id"], []).append(hold)
    rehold = [
        hold for hold in holds if hold["order_status"] in RETRY_AFTER_REHOLD and hold["status"] == HoldStatus.RELEASED
    ]
    taken = _taken_for(rehold, user_id=user_id, now=now) if rehold else _Taken()
    cutoff = timedelta(hours=int(settings.CANCELLATION_CUTOFF_HOURS))
    share = int(settings.CANCELLATION_REFUND_PERCENT)
    actions = {}
    for order_id, own in by_order.items():
        order = own[0]
        status = order["order_status"]
        can_retry = False
        if status == OrderStatus.PENDING:
            can_retry = order["hold_expires_at"] > now
        elif status in RETRY_AFTER_REHOLD:
            can_retry = all(_free_again(h, taken, now) for h in own if h["status"] == HoldStatus.RELEASED)
        # `payments.refunds.cancellation_terms`: a confirmed order, up to the cutoff before its first start.
        starts = [h["starts_at"] for h in own if h["starts_at"] is not None]
        deadline = min(starts) - cutoff if starts else None
        can_cancel = status == OrderStatus.CONFIRMED and deadline is not None and now <= deadline
        actions[order_id] = OrderActions(
            can_retry_payment=can_retry,
            can_cancel=can_cancel,
            cancel_until=deadline if can_cancel else None,
            cancel_refund_amount=order["order_total"] * share // 100 if can_cancel else None,
        )
    return actions


def order_actions(*, order: Order, now: datetime | None = None) -> OrderActions:
    """The next steps of one order (for its page): the same answers as the bookings list gives."""
    now = now or timezone.now()
    holds = _hold_rows(user_id=order.user_id, order_ids=[order.pk])
    return _actions_of_orders(holds, user_id=order.user_id, now=now).get(order.pk, OrderActions())


def calendar_url(order_code: str) -> str:
    return settings.SITE_URL + reverse("order_calendar", kwargs={"code": order_code})


def _item(row: dict[str, Any], actions: OrderActions) -> BookingItem:
    # Imported here: downloads imports orders.services, which imports this module.
    from bookdesk.orders.downloads import download_url

    kind = BookingKind(row["kind"])
    confirmed = row["status"] == HoldStatus.CONFIRMED
    dated = kind != BookingKind.PRODUCT
    return BookingItem(
        kind=kind,
        id=row["id"],
        order=BookingOrder(
            id=row["order_id"],
            code=row["order_code"],
            status=row["order_status"],
            currency=row["currency"],
            payment_status=row["payment_status"],
        ),
        title=row["title"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        location=row["location"] or None,
        resource=row["resource"],
        license=row["license"],
        license_tier=row["license_tier"],
        exclusive=bool(row["exclusive"]),
        status=row["status"],
        amount=money(row["amount"], row["currency"]),
        created_at=row["created_at"],
        actions=actions,
        download_url=download_url(Grant(pk=row["id"])) if confirmed and not dated else None,
        calendar_url=calendar_url(row["order_code"]) if confirmed and dated else None,
    )


def booking_page(
    *, user: Any, filters: BookingFilters, page: int, page_size: int, now: datetime | None = None
) -> Page[BookingItem]:
    """One page of the customer's bookings, reservations and grants, newest first, in at most three queries."""
    now = now or timezone.now()
    keys, total = booking_keys(
        user_id=user.pk, filters=filters, offset=(page - 1) * page_size, limit=page_size, now=now
    )
    holds = _hold_rows(user_id=user.pk, order_ids=[order_id for _, _, order_id in keys])
    actions = _actions_of_orders(holds, user_id=user.pk, now=now)
    found = {(hold["kind"], hold["id"]): hold for hold in holds}
    items = [
        _item(hold, actions[hold["order_id"]])
        for kind, hold_id, _ in keys
        if (hold := found.get((kind, hold_id))) is not None
    ]
    return Page(items=items, page=page, pages=max(1, math.ceil(total / page_size)), total=total, page_size=page_size)


def order_detail(*, code: str, user: Any) -> Order:
    """One order of the caller (staff: any) for its page: lines with what they hold, payments with refunds,
    and the audit trail, in a fixed number of queries. Anyone else's order is simply not found."""
    from bookdesk.payments.models import Payment

    lines = OrderLine.objects.select_related(
        "course", "service", "product", "license", "booking", "reservation__resource", "grant"
    ).order_by("pk")
    orders = Order.objects.prefetch_related(
        Prefetch("lines", queryset=lines),
        Prefetch("payments", queryset=Payment.objects.prefetch_related("refunds").order_by("attempt")),
        "audit_entries",
    )
    return _owned(orders, code=code, user=user)

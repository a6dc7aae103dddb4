"""The bookings list's queries, in SQL: one page of a customer's holds, and what those holds' orders hold.

This list is the hot read of a customer's account (DESIGN §8: p95 ≤ 30 ms with 1,000 items of theirs
among 1,000,000), so its queries are written in SQL (portable: SQLite and PostgreSQL); built with the
ORM, the same queries cost more CPU than the database spends answering them (measured on a 1M-row
database: 16.6 ms of CPU a page against 1.7). What takes capacity is `live_hold`'s rule, in SQL as
`live_sql`, with a test that keeps the two in step. One page takes at most three queries:
  1. the page's keys and the total: a UNION ALL of the four hold tables, each part reading only the
     customer's rows from its `*_user_page` index (covering: no table row is read), counted by a window
     and cut to the page by the database (an empty page beyond the end counts separately);
  2. every seat, slot, license and goods hold of the page's orders (the page's items and their siblings:
     cancelling or paying again acts on the whole order), with what they refer to, the order's latest
     payment and, for goods, the order's shipment;
  3. only when an order on the page could be paid again after a failed payment: what is taken now of
     its courses, studios, products and goods (counted as `live_hold` counts, see `live_sql`).
One query per kind with the page merged in Python was the alternative: it reads `offset + page_size`
rows of each kind, so deep pages cost more and more; the UNION lets the database stop at the page.
The SQL text is assembled only from this module's table and column names and `%s` placeholders; every
value (customer, statuses, times, ids) is a bound parameter (hence the `noqa: S608` below).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from bookdesk.bookings.filters import STATUS_SETS, BookingFilters, BookingKind
from bookdesk.catalog.models import Course, License, Product, Resource, Service
from bookdesk.db.raw import at, aware, fetch, placeholders, table
from bookdesk.orders.capacity import live_sql
from bookdesk.orders.models import Booking, Grant, HoldStatus, Order, OrderLine, Reservation, Shipment, StockHold
from bookdesk.payments.models import Payment

_TABLES = {
    "booking": table(Booking),
    "reservation": table(Reservation),
    "grant": table(Grant),
    "stock_hold": table(StockHold),
    "line": table(OrderLine),
    "order": table(Order),
    "course": table(Course),
    "service": table(Service),
    "resource": table(Resource),
    "product": table(Product),
    "license": table(License),
    "payment": table(Payment),
    "shipment": table(Shipment),
}


@dataclass(frozen=True)
class _KindSql:
    table: str  # the hold table
    start: str | None  # the column of its start, None for licenses and goods
    joins: str  # what an item shows joins in (as c, s, r, p, x, sh)
    columns: str  # title, starts_at, ends_at, location, resource, license, license_tier, exclusive,
    # target_id, published, capacity (for goods: the product's stock), license_exclusive, downloads, quantity,
    # and the shipment's status, carrier, tracking_number, tracking_url


_KINDS: dict[BookingKind, _KindSql] = {
    BookingKind.COURSE: _KindSql(
        table=_TABLES["booking"],
        start="c.starts_at",
        joins=f"JOIN {_TABLES['course']} c ON c.id = h.course_id",
        columns="c.title, c.starts_at, c.ends_at, c.location, NULL, NULL, NULL, FALSE, "
        "h.course_id, c.published, c.capacity, FALSE, CAST(NULL AS INTEGER), CAST(NULL AS INTEGER), "
        "NULL, NULL, NULL, NULL",
    ),
    BookingKind.SERVICE: _KindSql(
        table=_TABLES["reservation"],
        start="h.starts_at",
        joins=f"JOIN {_TABLES['service']} s ON s.id = h.service_id "
        f"JOIN {_TABLES['resource']} r ON r.id = h.resource_id",
        columns="s.name, h.starts_at, h.ends_at, r.name, r.name, NULL, NULL, FALSE, "
        "h.resource_id, s.published, NULL, FALSE, CAST(NULL AS INTEGER), CAST(NULL AS INTEGER), "
        "NULL, NULL, NULL, NULL",
    ),
    BookingKind.PRODUCT: _KindSql(
        table=_TABLES["grant"],
        start=None,
        joins=f"JOIN {_TABLES['product']} p ON p.id = h.product_id JOIN {_TABLES['license']} x ON x.id = h.license_id",
        columns="p.title, NULL, NULL, NULL, NULL, x.name, x.tier, h.exclusive, "
        "h.product_id, p.published AND x.active, NULL, x.exclusive, h.download_count, CAST(NULL AS INTEGER), "
        "NULL, NULL, NULL, NULL",
    ),
    # Goods are sold again only as goods (`_plan_product`): published and still physical, counted against stock.
    BookingKind.GOODS: _KindSql(
        table=_TABLES["stock_hold"],
        start=None,
        joins=f"JOIN {_TABLES['product']} p ON p.id = h.product_id "
        f"LEFT JOIN {_TABLES['shipment']} sh ON sh.order_id = o.id",
        columns="p.title, NULL, NULL, NULL, NULL, NULL, NULL, FALSE, "
        f"h.product_id, p.published AND p.kind = '{Product.Kind.PHYSICAL}', p.stock, FALSE, CAST(NULL AS INTEGER), "
        "h.quantity, sh.status, sh.carrier, sh.tracking_number, sh.tracking_url",
    ),
}


_HOLD_COLUMNS = [
    *("kind", "id", "status", "created_at", "line_id", "amount"),
    *("order_id", "order_code", "order_status", "currency", "order_total", "hold_expires_at", "payment_status"),
    # What the refund policy decides a line by (`payments.policy`): the line's and its order's amounts.
    *("line_status", "line_tax", "order_subtotal", "order_tax", "order_shipping", "order_created_at"),
    *("title", "starts_at", "ends_at", "location", "resource", "license", "license_tier", "exclusive"),
    *("target_id", "published", "capacity", "license_exclusive", "downloads"),
    *("quantity", "shipment_status", "carrier", "tracking_number", "tracking_url"),
]


def _key_parts(*, user_id: int, filters: BookingFilters, now: datetime) -> tuple[list[str], list[Any]]:
    """One SELECT (kind, id, line_id, created_at) per kind the filters let through, and their parameters."""
    kinds = [filters.kind] if filters.kind is not None else list(BookingKind)
    statuses = STATUS_SETS[filters.status] if filters.status is not None else ()
    moment = at(now)
    parts: list[str] = []
    params: list[Any] = []
    for kind in kinds:
        sql = _KINDS[kind]
        if filters.upcoming and sql.start is None:
            continue  # a license or goods have no date: never upcoming
        # A seat's start is its course's: join it only when the filter needs it.
        join = sql.joins if kind == BookingKind.COURSE and filters.upcoming is not None else ""
        where = ["h.user_id = %s"]
        params.append(user_id)
        if statuses:
            where.append(f"h.status IN ({placeholders(statuses)})")
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
        return [], int(fetch(count, params)[0][0])
    rows = fetch(
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
    return [], int(fetch(count, params)[0][0])


# The columns every part of the holds query starts with, then its kind's own (`_KindSql.columns`).
_HOLD_SELECT = (
    "h.id, h.status, h.created_at, h.line_id, l.total_amount, o.id, o.code, o.status, o.currency, o.total_amount, "  # noqa: S608
    "o.hold_expires_at, "
    f"(SELECT pp.status FROM {_TABLES['payment']} pp WHERE pp.order_id = o.id ORDER BY pp.attempt DESC LIMIT 1), "
    "l.status, l.tax_amount, "
    "o.subtotal_amount, o.tax_amount, o.shipping_amount, o.created_at"
)


_HOLD_JOINS = f"JOIN {_TABLES['line']} l ON l.id = h.line_id JOIN {_TABLES['order']} o ON o.id = l.order_id"


def hold_rows(*, user_id: int, order_ids: Iterable[int]) -> list[dict[str, Any]]:
    """Every seat, slot, license and goods hold of these orders of the customer, with what they refer to, the
    order's latest payment status and its shipment (for goods): one query."""
    ids = sorted(set(order_ids))
    if not ids:
        return []
    parts: list[str] = []
    params: list[Any] = []
    for kind, sql in _KINDS.items():
        parts.append(
            f"SELECT '{kind.value}', {_HOLD_SELECT}, {sql.columns} FROM {sql.table} h {_HOLD_JOINS} {sql.joins} "  # noqa: S608
            f"WHERE h.user_id = %s AND o.id IN ({placeholders(ids)})"
        )
        params += [user_id, *ids]
    found = [dict(zip(_HOLD_COLUMNS, row, strict=True)) for row in fetch(" UNION ALL ".join(parts), params)]
    for row in found:
        for name in ("created_at", "hold_expires_at", "starts_at", "ends_at", "order_created_at"):
            row[name] = aware(row[name])
    return found


@dataclass
class Taken:
    """What is taken now of the courses, studios, products and goods some released holds would take back."""

    seats: dict[int, int] = field(default_factory=dict)
    own_seats: dict[int, int] = field(default_factory=dict)
    slots: list[tuple[int, datetime, datetime]] = field(default_factory=list)
    licensed: set[int] = field(default_factory=set)
    exclusive_sold: set[int] = field(default_factory=set)
    units: dict[int, int] = field(default_factory=dict)  # units of goods held or sold, by product


def taken_for(holds: list[dict[str, Any]], *, user_id: int, now: datetime) -> Taken:
    """What is taken now (by live holds) of the courses, studios, products and goods these holds are of: one query.

    Rows: per course (seats, the customer's own), per product (licenses, exclusive ones), per product of goods
    (units), and per studio the live slots overlapping one of the holds' (as no slot lasts a day — slots come
    from a day's opening hours — an overlapping one starts less than a day earlier, which keeps the index
    range short)."""
    taken = Taken()
    moment = at(now)
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
            f"FROM {_TABLES['booking']} t {lines} WHERE t.course_id IN ({placeholders(courses)}) AND {active} "
            "GROUP BY t.course_id"
        )
        params += [user_id, *courses, moment]
    products = sorted({h["target_id"] for h in holds if h["kind"] == BookingKind.PRODUCT})
    if products:
        parts.append(
            f"SELECT 'product', t.product_id, COUNT(*), SUM(CASE WHEN t.exclusive THEN 1 ELSE 0 END), {no_time}, "  # noqa: S608
            f"{no_time} "
            f"FROM {_TABLES['grant']} t {lines} WHERE t.product_id IN ({placeholders(products)}) AND {active} "
            "GROUP BY t.product_id"
        )
        params += [*products, moment]
    goods = sorted({h["target_id"] for h in holds if h["kind"] == BookingKind.GOODS})
    if goods:
        parts.append(
            f"SELECT 'goods', t.product_id, SUM(t.quantity), 0, {no_time}, {no_time} "  # noqa: S608
            f"FROM {_TABLES['stock_hold']} t {lines} WHERE t.product_id IN ({placeholders(goods)}) AND {active} "
            "GROUP BY t.product_id"
        )
        params += [*goods, moment]
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
            params += [
                h["target_id"],
                at(h["starts_at"] - timedelta(days=1)),
                at(h["ends_at"]),
                at(h["starts_at"]),
            ]
        params.append(moment)
    for kind, target, count, flagged, starts_at, ends_at in fetch(" UNION ALL ".join(parts), params) if parts else []:
        if kind == BookingKind.COURSE:
            taken.seats[target] = int(count)
            taken.own_seats[target] = int(flagged or 0)
        elif kind == BookingKind.PRODUCT:
            taken.licensed.add(target)
            if flagged:
                taken.exclusive_sold.add(target)
        elif kind == BookingKind.GOODS:
            taken.units[target] = int(count)
        else:
            taken.slots.append((target, aware(starts_at), aware(ends_at)))  # type: ignore[arg-type]
    return taken

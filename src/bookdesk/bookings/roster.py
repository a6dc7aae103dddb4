"""A course's roster for the operator: who is coming, whether they paid, and whether they are checked in.

The page is three queries whatever the roster's size (the course; its counts and the paid total; one page of
`PAGE_SIZE` attendees by name, optionally those matching a search), each planned for its course; the CSV streams
in constant memory whatever the roster's size: written by PostgreSQL itself (roster_copy), or on SQLite from a
cursor in chunks.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import BigIntegerField, Case, Count, F, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from bookdesk.bookings import roster_copy
from bookdesk.catalog.models import Course
from bookdesk.catalog.selectors import business_time_zone
from bookdesk.db.raw import RANDOM_PAGE_COST, local_settings
from bookdesk.errors import NotFound
from bookdesk.money import decimals
from bookdesk.orders.checkin import check_in_open
from bookdesk.orders.models import Booking, HoldStatus, OrderStatus

# Seats on the roster: the ones taken or given back (a lapsed, never-paid hold is not an attendee).
ON_ROSTER = (HoldStatus.CONFIRMED, HoldStatus.HELD, HoldStatus.CANCELLED)
# Orders whose seats' prices are in our account, less what each line refunded.
PAID = frozenset({OrderStatus.PAID, OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.NEEDS_REVIEW})
CSV_HEADER = ("name", "email", "seat", "order", "order status", "paid", "currency", "checked in at")
BOM = "\ufeff"  # first in the CSV, so spreadsheet programs read UTF-8 names right
# Rows read per round trip: the CSV holds at most this many in memory (500 rows ≈ 0.5 MB), however long the roster.
CSV_CHUNK = 500
PAGE_SIZE = 100
MAX_QUERY = 100  # characters of a roster search
# Prices the CSV keeps written out: a roster holds a few (its course's price, refunds, 0); more are written again.
CSV_PRICES_KEPT = 64


@dataclass(frozen=True)
class Attendee:
    booking_id: int
    name: str
    email: str
    status: str  # the seat's HoldStatus
    order_id: int
    order_code: str
    order_status: str
    paid_amount: int  # minor units of the course's currency
    currency: str
    checked_in_at: dt.datetime | None

    @property
    def status_label(self) -> str:
        return HoldStatus(self.status).label

    @property
    def order_status_label(self) -> str:
        return OrderStatus(self.order_status).label

    @property
    def can_check_in(self) -> bool:
        return self.status == HoldStatus.CONFIRMED


@dataclass(frozen=True)
class Roster:
    course: Course
    attendees: list[Attendee]  # this page's
    check_in_open: bool
    confirmed: int
    held: int
    checked_in: int
    paid_total: int
    matching: int  # attendees the search matches (all of them without one)
    page: int
    q: str

    @property
    def pages(self) -> int:
        return max(1, -(-self.matching // PAGE_SIZE))


def course_for_roster(course_id: int) -> Course:
    course = Course.objects.filter(pk=course_id).first()
    if course is None:
        raise NotFound("No such course.")
    return course


def _seats(course_id: int) -> QuerySet[Booking]:
    return Booking.objects.filter(course_id=course_id, status__in=ON_ROSTER).order_by(
        "user__last_name", "user__first_name", "user__email", "pk"
    )


def attendee_name(first: str, last: str, email: str) -> str:
    """First and last name, else the email (spaces trimmed as PostgreSQL's trim() does, for roster_copy)."""
    return f"{first} {last}".strip(" ") or email


def seat_paid() -> Case:
    """What a seat's customer paid for it and was not given back, in minor units, for a query of bookings: its
    line's price (with the line's tax when the order added tax on top, as the order's total tells), less what
    the line refunded, while the order is paid; else 0. A seat cancelled on its own and refunded counts
    nothing (or the part the policy kept); a refund of the whole order, the order's status."""
    tax_on_top = ~Q(line__order__total_amount=F("line__order__subtotal_amount") + F("line__order__shipping_amount"))
    charged = Case(
        When(tax_on_top, then=F("line__total_amount") + F("line__tax_amount")),
        default=F("line__total_amount"),
        output_field=BigIntegerField(),
    )
    return Case(
        When(line__order__status__in=sorted(PAID), then=charged - F("line__amount_refunded")),
        default=Value(0),
        output_field=BigIntegerField(),
    )


def roster(*, course_id: int, page: int = 1, q: str = "", now: dt.datetime | None = None) -> Roster:
    """The course, its counts, and one page of its attendees by name (three queries, planned for their values on
    PostgreSQL: one more statement); NotFound for an unknown course. `q` keeps the attendees whose name or email
    contains it."""
    with transaction.atomic():
        # A course of 10,000 seats and one of 20 want different plans: the generic plan PostgreSQL would keep
        # for a prepared statement after five runs sorted every seat's customer for a page of 100 (11 ms, not 2).
        # The totals' 20,000 index lookups take as long in parallel workers as in one process, at three times
        # the CPU; and RANDOM_PAGE_COST keeps them lookups (see there).
        local_settings(
            plan_cache_mode="force_custom_plan",
            max_parallel_workers_per_gather="0",
            random_page_cost=RANDOM_PAGE_COST,
        )
        return _roster(course_id=course_id, page=page, q=q, now=now)


def _roster(*, course_id: int, page: int, q: str, now: dt.datetime | None) -> Roster:
    course = course_for_roster(course_id)
    q = q.strip()[:MAX_QUERY]
    found = (
        Q(user__email__icontains=q) | Q(user__first_name__icontains=q) | Q(user__last_name__icontains=q) if q else Q()
    )
    totals = Booking.objects.filter(course_id=course_id, status__in=ON_ROSTER).aggregate(
        confirmed=Count("pk", filter=Q(status=HoldStatus.CONFIRMED)),
        held=Count("pk", filter=Q(status=HoldStatus.HELD)),
        checked_in=Count("pk", filter=Q(checked_in_at__isnull=False)),
        paid=Sum(seat_paid()),
        matching=Count("pk", filter=found) if q else Count("pk"),
    )
    pages = max(1, -(-int(totals["matching"]) // PAGE_SIZE))
    page = min(max(1, page), pages)
    start = (page - 1) * PAGE_SIZE
    # The page's seats are found first (sorted by name, one page of ids), and only those joined to their lines and
    # orders: joined before the sort, PostgreSQL read 10,000 lines and orders for 100 rows, or hashed whole tables.
    page_ids = _seats(course_id).filter(found).values("pk")[start : start + PAGE_SIZE]
    rows = (
        _seats(course_id)
        .filter(pk__in=page_ids)
        .annotate(paid=seat_paid())
        .values_list(
            "pk",
            "user__first_name",
            "user__last_name",
            "user__email",
            "status",
            "line__order_id",
            "line__order__code",
            "line__order__status",
            "paid",
            "checked_in_at",
        )
    )
    attendees = [
        Attendee(
            booking_id=pk,
            name=attendee_name(first, last, email),
            email=email,
            status=status,
            order_id=order_id,
            order_code=code,
            order_status=order_status,
            paid_amount=paid,
            currency=course.currency,
            checked_in_at=checked_in_at,
        )
        for pk, first, last, email, status, order_id, code, order_status, paid, checked_in_at in rows
    ]
    return Roster(
        course=course,
        attendees=attendees,
        check_in_open=check_in_open(course, now=now or timezone.now()),
        confirmed=int(totals["confirmed"]),
        held=int(totals["held"]),
        checked_in=int(totals["checked_in"]),
        paid_total=int(totals["paid"] or 0),
        matching=int(totals["matching"]),
        page=page,
        q=q,
    )


def plain_amount(amount: int, currency: str) -> str:
    """Minor units as a plain decimal for a spreadsheet: 9900 eur → "99.00", 1500 jpy → "1500"."""
    places = decimals(currency)
    whole, minor = divmod(amount, 10**places)
    return f"{whole}.{minor:0{places}d}" if places else str(whole)


def roster_csv(*, course: Course, by_database: bool | None = None) -> Iterator[bytes]:
    """The roster as a UTF-8 CSV download in chunks (a BOM, the header, a row per seat by name), in constant
    memory: written by PostgreSQL itself where it is the database (roster_copy), else row by row here.
    `by_database` picks the way (for the tests that hold one to the other)."""
    yield _csv_text([CSV_HEADER], bom=True)
    if roster_copy.available() if by_database is None else by_database:
        yield from roster_copy.csv_lines(
            _seats(course.pk),
            seat_labels=dict(HoldStatus.choices),
            order_labels=dict(OrderStatus.choices),
            paid=seat_paid(),
            currency=course.currency,
            places=decimals(course.currency),
            zone=str(business_time_zone()),
        )
        return
    rows = _csv_rows(course=course)
    while chunk := list(itertools.islice(rows, CSV_CHUNK)):
        yield _csv_text(chunk)


def _csv_text(rows: list[tuple[str, ...]], *, bom: bool = False) -> bytes:
    out = io.StringIO()
    if bom:
        out.write(BOM)
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def _csv_rows(*, course: Course) -> Iterator[tuple[str, ...]]:
    """The roster's CSV rows (no header), read from a cursor `CSV_CHUNK` rows at a time: the way written in
    Python (SQLite's; on PostgreSQL the database writes it, roster_copy)."""
    rows = (
        _seats(course.pk)
        .annotate(paid=seat_paid())
        .values_list(
            "user__first_name",
            "user__last_name",
            "user__email",
            "status",
            "line__order__code",
            "line__order__status",
            "paid",
            "checked_in_at",
        )
    )
    yield from _csv_lines(rows.iterator(chunk_size=CSV_CHUNK), course=course)


def _csv_lines(rows: Iterator[tuple[Any, ...]], *, course: Course) -> Iterator[tuple[str, ...]]:
    zone = business_time_zone()
    currency = course.currency.upper()
    seat_labels, order_labels = dict(HoldStatus.choices), dict(OrderStatus.choices)
    amounts: dict[int, str] = {}  # a roster holds a few prices: each written once
    for first, last, email, status, code, order_status, paid, checked_in_at in rows:
        if paid not in amounts:
            if len(amounts) >= CSV_PRICES_KEPT:
                amounts.clear()  # constant memory, whatever the prices
            amounts[paid] = plain_amount(paid, course.currency)
        yield (
            attendee_name(first, last, email),
            email,
            seat_labels[status],
            code,
            order_labels[order_status],
            amounts[paid],
            currency,
            checked_in_at.astimezone(zone).isoformat(timespec="seconds") if checked_in_at else "",
        )

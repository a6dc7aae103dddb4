"""Rosters: check-in on the course's day (audited, toggled, refused for a cancelled or unpaid seat or another
day, changing nothing) and the CSV, streamed, with every attendee and the money as plain decimals."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.db.models import F
from django.http import StreamingHttpResponse
from django.test import Client

from bookdesk.orders.models import AuditEntry, Booking, Order, OrderLine, OrderStatus
from factories import CourseFactory, UserFactory

from .conftest import course_today, seat_order

pytestmark = pytest.mark.django_db


def _check_in(client: Client, booking: Booking, value: str = "1") -> list[str]:
    response = client.post(
        f"/console/courses/{booking.course_id}/roster/{booking.pk}/check-in", {"checked_in": value}, follow=True
    )
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]]


def test_checking_in_and_undoing_it_is_audited_with_the_operator(operator: Client) -> None:
    course = course_today()
    booking = Booking.objects.get(line__order=seat_order(course, UserFactory(first_name="Ada", last_name="King")))
    assert _check_in(operator, booking) == ["Ada King checked in."]
    booking.refresh_from_db()
    assert booking.checked_in_at is not None
    page = operator.get(f"/console/courses/{course.pk}/roster").content.decode()
    assert "Undo check-in of Ada King" in page
    assert _check_in(operator, booking) == ["Ada King checked in."]  # twice: the same state, no second entry
    assert AuditEntry.objects.filter(action="booking.checked_in").count() == 1
    assert _check_in(operator, booking, "0") == ["Check-in of Ada King undone."]
    booking.refresh_from_db()
    assert booking.checked_in_at is None
    entries = list(AuditEntry.objects.filter(object_type="booking").values_list("action", "actor"))
    assert [action for action, _ in entries] == ["booking.checked_in", "booking.check_in_undone"]
    assert all(actor.startswith("staff:") for _, actor in entries)


@pytest.mark.parametrize(
    ("status", "why"), [(OrderStatus.REFUNDED, "it was cancelled"), (OrderStatus.PENDING, "not paid")]
)
def test_a_cancelled_or_unpaid_seat_cannot_be_checked_in(operator: Client, status: str, why: str) -> None:
    course = course_today()
    booking = Booking.objects.get(line__order=seat_order(course, status=status))
    (message,) = _check_in(operator, booking)
    assert why in message
    booking.refresh_from_db()
    assert booking.checked_in_at is None
    assert not AuditEntry.objects.filter(object_type="booking").exists()


def test_check_in_waits_for_the_course_s_day(operator: Client) -> None:
    course = CourseFactory()  # a week ahead
    booking = Booking.objects.get(line__order=seat_order(course))
    page = operator.get(f"/console/courses/{course.pk}/roster").content.decode()
    assert "Check-in opens on the course" in page
    assert "/check-in" not in page
    (message,) = _check_in(operator, booking)
    assert "course's day only" in message
    booking.refresh_from_db()
    assert booking.checked_in_at is None


def test_a_seat_of_another_course_is_not_found(operator: Client) -> None:
    booking = Booking.objects.get(line__order=seat_order(course_today()))
    other = course_today()
    response = operator.post(f"/console/courses/{other.pk}/roster/{booking.pk}/check-in", {"checked_in": "1"})
    assert response.status_code == 404
    booking.refresh_from_db()
    assert booking.checked_in_at is None


def _csv(response: Any) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_the_roster_csv_lists_every_attendee_with_plain_amounts(operator: Client) -> None:
    course = course_today(title="Mixing, basics")
    ada = seat_order(course, UserFactory(first_name="Ada", last_name="King", email="ada@example.com"))
    seat_order(course, UserFactory(first_name="Łukasz", last_name="Nowak", email="bob@example.com"), status="pending")
    seat_order(course, UserFactory(first_name="Cy", last_name="Zed", email="cy@example.com"), status="refunded")
    Booking.objects.filter(line__order=ada).update(checked_in_at=dt.datetime(2026, 12, 4, 9, 5, tzinfo=dt.UTC))
    response = operator.get(f"/console/courses/{course.pk}/roster?format=csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="roster-{course.slug}.csv"' in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == ["name", "email", "seat", "order", "order status", "paid", "currency", "checked in at"]
    assert rows[1] == [
        "Ada King",
        "ada@example.com",
        "Confirmed",
        ada.code,
        "Confirmed",
        "99.00",
        "EUR",
        "2026-12-04T10:05:00+01:00",
    ]
    assert rows[2][:3] == ["Łukasz Nowak", "bob@example.com", "Held"]
    assert rows[2][4:6] == ["Awaiting payment", "0.00"]
    assert rows[3][:3] == ["Cy Zed", "cy@example.com", "Cancelled"]
    assert rows[3][4:6] == ["Refunded", "0.00"]
    assert len(rows) == 4


def test_a_seat_counts_what_its_customer_paid_and_kept_paid(operator: Client) -> None:
    """The price with tax when the order added it on top; less what a cancelled seat's line refunded, in an
    order still paid for its other lines; nothing for a refunded order. The page, its total and the CSV agree."""
    course = course_today(price_amount=9900)
    kept = seat_order(course, UserFactory(first_name="Ann", last_name="A"))
    on_top = seat_order(course, UserFactory(first_name="Ben", last_name="B"))
    cancelled = seat_order(course, UserFactory(first_name="Cat", last_name="C"))
    seat_order(course, UserFactory(first_name="Dan", last_name="D"), status=OrderStatus.REFUNDED)
    Order.objects.filter(pk=on_top.pk).update(tax_amount=1881, total_amount=9900 + 1881)
    OrderLine.objects.filter(order=on_top).update(tax_amount=1881)
    OrderLine.objects.filter(order=cancelled).update(status=OrderLine.Status.CANCELLED, amount_refunded=4950)
    Order.objects.filter(pk=cancelled.pk).update(status=OrderStatus.PARTIALLY_REFUNDED, amount_refunded=4950)
    Booking.objects.filter(line__order=cancelled).update(status="cancelled")

    roster = operator.get(f"/console/courses/{course.pk}/roster").context["roster"]
    assert [(a.name, a.paid_amount) for a in roster.attendees] == [
        ("Ann A", 9900),
        ("Ben B", 11781),
        ("Cat C", 4950),
        ("Dan D", 0),
    ]
    assert roster.paid_total == 9900 + 11781 + 4950
    assert kept.total_amount == 9900
    rows = _csv(operator.get(f"/console/courses/{course.pk}/roster?format=csv"))
    assert [(row[0], row[5]) for row in rows[1:]] == [
        ("Ann A", "99.00"),
        ("Ben B", "117.81"),
        ("Cat C", "49.50"),
        ("Dan D", "0.00"),
    ]


def test_the_roster_csv_reads_its_rows_from_a_cursor_in_chunks(
    operator: Client, django_assert_max_num_queries: Any, settings: Any
) -> None:
    """The rows are fetched while streaming, not before: the response exists before any attendee is read."""
    course = course_today(capacity=30)
    for _ in range(25):
        seat_order(course)
    response = operator.get(f"/console/courses/{course.pk}/roster?format=csv")
    # The attendees' rows, read as the body streams (on PostgreSQL: the planner's settings read and set, the COPY,
    # the settings put back).
    with django_assert_max_num_queries(4):
        rows = _csv(response)
    assert len(rows) == 26


def test_the_roster_csv_leaves_the_connections_settings_as_it_found_them(operator: Client) -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the planner's settings are PostgreSQL's: SQLite has nothing to switch")
    course = course_today(capacity=5)
    seat_order(course)

    def settings() -> tuple[str, ...]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('jit'), current_setting('random_page_cost'), current_setting('TimeZone')"
            )
            return tuple(cursor.fetchone())

    before = settings()
    rows = _csv(operator.get(f"/console/courses/{course.pk}/roster?format=csv"))
    assert len(rows) == 2
    assert settings() == before


# Names a CSV must quote or keep as they are: a comma, quotes, a line break, a carriage return, spaces at the
# ends, letters beyond ASCII, no name at all (the email stands in), a name of a space.
AWKWARD_NAMES = [
    ("Ada", "King, Jr."),
    ('Bea "B"', "Lund"),
    ("Cy\nline", "Zed"),
    ("Dee\r", "Moss"),
    ("  Eve", "Ng  "),
    ("Łukasz", "Żółć 東京"),
    ("", ""),
    (" ", ""),
    ("Fay", ""),
    ("", "Gale"),
    ("\\.", "Hu;Ip\t"),
]


# Zones east and west of UTC, UTC itself, and offsets of half and three quarters of an hour.
CHECK_IN_ZONES = {
    "Europe/Berlin": {"2026-01-05T08:03:09+01:00", "2026-07-06T01:59:01+02:00"},
    "America/St_Johns": {"2026-01-05T03:33:09-03:30", "2026-07-05T21:29:01-02:30"},
    "UTC": {"2026-01-05T07:03:09+00:00", "2026-07-05T23:59:01+00:00"},
    "Asia/Kathmandu": {"2026-01-05T12:48:09+05:45", "2026-07-06T05:44:01+05:45"},
}


@pytest.mark.parametrize(
    ("currency", "price", "zone"),
    [
        ("eur", 9900, "Europe/Berlin"),
        ("jpy", 1500, "America/St_Johns"),
        ("usd", 5, "UTC"),
        ("inr", 12345, "Asia/Kathmandu"),
    ],
)
def test_postgresql_writes_the_roster_csv_byte_for_byte_as_python_does(
    operator: Client, settings: Any, currency: str, price: int, zone: str
) -> None:
    """roster_copy (PostgreSQL's COPY writes the CSV) against the plain path written in Python, on one roster
    of awkward names, every seat and order status, check-ins in winter and in summer time in zones east and
    west of UTC, and money in currencies of two decimals and of none, below one unit too."""
    from django.db import connection

    from bookdesk.bookings import roster

    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's: on SQLite the CSV is only ever written in Python")
    settings.BOOKDESK_TIME_ZONE = zone
    course = course_today(capacity=len(AWKWARD_NAMES) + 5, currency=currency, price_amount=price)
    statuses = [OrderStatus.CONFIRMED, OrderStatus.PENDING, OrderStatus.REFUNDED]
    for n, (first, last) in enumerate(AWKWARD_NAMES):
        user = UserFactory(first_name=first, last_name=last, email=f'p{n}."x"@example.com')
        seat_order(course, user, status=statuses[n % len(statuses)])
    winter, summer = dt.datetime(2026, 1, 5, 7, 3, 9, tzinfo=dt.UTC), dt.datetime(2026, 7, 5, 23, 59, 1, tzinfo=dt.UTC)
    seats = list(Booking.objects.filter(course=course, status="confirmed").order_by("pk"))
    Booking.objects.filter(pk=seats[0].pk).update(checked_in_at=winter)
    Booking.objects.filter(pk=seats[1].pk).update(checked_in_at=summer)
    Order.objects.filter(lines__booking__in=seats[2:3]).update(status=OrderStatus.PARTIALLY_REFUNDED)
    Order.objects.filter(lines__booking__in=seats[3:4]).update(status=OrderStatus.NEEDS_REVIEW)
    OrderLine.objects.filter(booking__in=seats[2:3]).update(amount_refunded=price // 3)  # a part refunded
    Order.objects.filter(lines__booking__in=seats[3:4]).update(total_amount=F("total_amount") + 7)  # tax on top
    OrderLine.objects.filter(booking__in=seats[3:4]).update(tax_amount=7)

    copied = b"".join(roster.roster_csv(course=course, by_database=True))
    assert copied == b"".join(roster.roster_csv(course=course, by_database=False))
    rows = list(csv.reader(io.StringIO(copied.decode()[1:])))
    assert len(rows) == len(AWKWARD_NAMES) + 1
    assert {row[6] for row in rows[1:]} == {currency.upper()}
    assert len({row[5] for row in rows[1:]}) == 4  # a full price, a part refunded, tax on top, nothing
    assert "Cy\nline Zed" in [row[0] for row in rows]
    assert {row[7] for row in rows[1:]} == {"", *CHECK_IN_ZONES[zone]}
    assert 'p6."x"@example.com' in [row[0] for row in rows]  # no name: the email stands in


def test_a_long_roster_is_paged_and_searchable(operator: Client, settings: Any) -> None:
    from bookdesk.bookings import roster

    course = course_today(capacity=roster.PAGE_SIZE + 10)
    for n in range(roster.PAGE_SIZE + 3):
        seat_order(course, UserFactory(first_name="Guest", last_name=f"{n:03d}", email=f"guest{n:03d}@example.com"))
    first = operator.get(f"/console/courses/{course.pk}/roster")
    assert first.context["roster"].pages == 2
    assert len(first.context["roster"].attendees) == roster.PAGE_SIZE
    assert first.context["roster"].confirmed == roster.PAGE_SIZE + 3
    second = operator.get(f"/console/courses/{course.pk}/roster?page=2")
    assert [a.email for a in second.context["roster"].attendees] == [
        f"guest{n:03d}@example.com" for n in (100, 101, 102)
    ]
    beyond = operator.get(f"/console/courses/{course.pk}/roster?page=99")
    assert beyond.context["roster"].page == 2
    found = operator.get(f"/console/courses/{course.pk}/roster?q=GUEST042")
    assert [a.email for a in found.context["roster"].attendees] == ["guest042@example.com"]
    assert (
        "Nobody on this roster matches" in operator.get(f"/console/courses/{course.pk}/roster?q=zzz").content.decode()
    )

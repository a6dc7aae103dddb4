"""The agenda's ranking and counting in the database against the plain rule written out in Python.

`agenda.agenda` ranks each local day's live reservations in SQL (day buckets by UTC instants, the held ones'
orders read once in a subquery) and counts seats by course id; this reads every reservation and seat through
the plain `live_hold` and sorts them in Python, and the two must list and count the same.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from django.utils import timezone

from bookdesk.bookings import agenda as agenda_module
from bookdesk.catalog.models import Resource
from bookdesk.catalog.selectors import business_time_zone
from bookdesk.orders.capacity import live_hold
from bookdesk.orders.models import Booking, HoldStatus, Order, OrderKind, OrderLine, OrderStatus, Reservation
from factories import CourseFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db

FIRST = dt.date(2026, 3, 27)  # the days span the switch to summer time (29 March in Europe/Berlin)
DAYS = 4
PER_DAY = 2


def local(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=business_time_zone()).astimezone(dt.UTC)


def order_for(hold: str, status: str, *, lapsed: bool, now: dt.datetime, **line: Any) -> OrderLine:
    buyer = UserFactory()
    order = Order.objects.create(
        user=buyer,
        email=buyer.email,
        kind=OrderKind.RESERVATION_PAYMENT if "service" in line else OrderKind.COURSE_BOOKING,
        status=status,
        currency="eur",
        subtotal_amount=100,
        total_amount=100,
        hold_expires_at=now + dt.timedelta(minutes=-5 if lapsed else 5),
    )
    kind = "service" if "service" in line else "course"
    return OrderLine.objects.create(order=order, kind=kind, description=hold, unit_amount=100, total_amount=100, **line)


def fill(now: dt.datetime) -> None:
    """Sessions in every (hold, order status, lapsed) state over the days and the day before; several rooms at
    the same hour (ties broken by the room's name, not its id); one session running past midnight into the
    first day; and seats of a course on the first day in every state."""
    rooms = [Resource.objects.create(name=name) for name in ("Studio C", "Booth", "Studio A", "Engineer Z")]
    service = ServiceFactory(resources=rooms)
    states = itertools.cycle(itertools.product(OrderStatus.values, (False, True), HoldStatus.values))
    for day_offset, hour, room in itertools.product(range(-1, DAYS + 1), (9, 12, 15, 18), rooms):
        status, lapsed, hold = next(states)
        starts = local(FIRST + dt.timedelta(days=day_offset), hour)
        line = order_for(hold, status, lapsed=lapsed, now=now, service=service)
        Reservation.objects.create(
            line=line,
            service=service,
            resource=room,
            user=line.order.user,
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=2),
            status=hold,
        )
    night = order_for(HoldStatus.CONFIRMED, OrderStatus.CONFIRMED, lapsed=False, now=now, service=service)
    Reservation.objects.create(
        line=night,
        service=service,
        resource=rooms[0],
        user=night.order.user,
        starts_at=local(FIRST - dt.timedelta(days=1), 22),
        ends_at=local(FIRST, 2),
        status=HoldStatus.CONFIRMED,
    )
    course = CourseFactory(starts_at=local(FIRST, 10), ends_at=local(FIRST, 12), capacity=200)
    for hold, status, lapsed in itertools.product(HoldStatus.values, OrderStatus.values, (False, True)):
        line = order_for(hold, status, lapsed=lapsed, now=now, course=course)
        Booking.objects.create(line=line, course=course, user=line.order.user, status=hold)


def plain_sessions(now: dt.datetime) -> dict[dt.date, tuple[list[int], int]]:
    """Each day's first `PER_DAY` live sessions and their number, read one by one."""
    zone = business_time_zone()
    start, end = local(FIRST, 0), local(FIRST + dt.timedelta(days=DAYS), 0)
    live = set(Reservation.objects.filter(live_hold(now)).values_list("pk", flat=True))
    by_day: dict[dt.date, list[Reservation]] = {FIRST + dt.timedelta(days=n): [] for n in range(DAYS)}
    for reservation in Reservation.objects.select_related("resource"):
        if reservation.pk in live and reservation.starts_at < end and reservation.ends_at > start:
            by_day[max(FIRST, reservation.starts_at.astimezone(zone).date())].append(reservation)
    ranked = {}
    for day, found in by_day.items():
        found.sort(key=lambda r: (r.starts_at, r.resource.name, r.pk))
        ranked[day] = ([r.pk for r in found[:PER_DAY]], len(found))
    return ranked


def test_the_agenda_ranks_and_counts_what_the_plain_rule_does(monkeypatch: Any) -> None:
    now = timezone.now()
    fill(now)
    monkeypatch.setattr(agenda_module, "SESSIONS_PER_DAY", PER_DAY)

    agenda = agenda_module.agenda(first=FIRST, days=DAYS, now=now)

    expected = plain_sessions(now)
    for day in agenda.days:
        listed, total = expected[day.day]
        assert [s.reservation_id for s in day.sessions] == listed, day.day
        assert day.more_sessions == max(0, total - PER_DAY), day.day
    assert all(day.more_sessions for day in agenda.days)  # the ranking cut every day
    (course,) = agenda.days[0].courses
    seats = Booking.objects.filter(live_hold(now), course_id=course.course_id)
    assert course.sold == seats.filter(status=HoldStatus.CONFIRMED).count() > 0
    assert course.held == seats.filter(status=HoldStatus.HELD).count() > 0


def test_a_session_s_hours_are_the_business_zone_s() -> None:
    slot = agenda_module.CourseSlot(
        course_id=1,
        title="Mixing",
        starts_at=dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC),  # 00:30 in Berlin (winter time)
        ends_at=dt.datetime(2026, 3, 29, 9, 5, tzinfo=dt.UTC),  # 11:05 (summer time)
        location="",
        capacity=1,
        sold=0,
        held=0,
        starting_soon=False,
    )
    assert slot.hours == "00:30–11:05"

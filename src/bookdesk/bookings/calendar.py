"""A resource's week for the operator: opening hours, reservations, holds that may still lapse, and free time.

Three queries whatever the data: the resources (to pick from), the chosen one's opening hours, and its
reservations of the week with their orders and customers. Times are in the business's zone.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum

from django.utils import timezone

from bookdesk.catalog.models import OpeningHours, Resource
from bookdesk.catalog.selectors import business_time_zone
from bookdesk.errors import InvalidInput, NotFound
from bookdesk.orders.capacity import live_hold
from bookdesk.orders.models import HoldStatus, Reservation
from bookdesk.orders.states import PAYABLE

# Weeks an operator may look at, either way from this one.
WEEK_HORIZON = 104
# The grid's rows: a quarter of an hour each (the page places blocks by row: no inline styles under the CSP).
ROW_MINUTES = 15
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class BlockKind(StrEnum):
    BOOKED = "booked"  # confirmed, or held while a payment is under way: it stays
    HELD = "held"  # held by an order that can still lapse unpaid
    FREE = "free"  # open and not taken


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    starts_at: dt.datetime  # local (business zone)
    ends_at: dt.datetime
    row: int  # the grid row it starts on (1 = the grid's first quarter hour)
    rows: int  # how many rows it spans
    service: str = ""
    customer: str = ""
    order_id: int | None = None
    order_code: str = ""
    lapses_at: dt.datetime | None = None


@dataclass
class CalendarDay:
    day: dt.date
    opening: list[tuple[dt.time, dt.time]] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return not self.opening


@dataclass(frozen=True)
class WeekCalendar:
    resources: list[Resource]
    resource: Resource | None
    monday: dt.date
    days: list[CalendarDay]
    zone: str
    grid_start: int  # minutes after midnight the grid shows from
    grid_end: int

    @property
    def week(self) -> str:
        return week_label(self.monday)

    @property
    def previous_week(self) -> str:
        return week_label(self.monday - dt.timedelta(days=7))

    @property
    def next_week(self) -> str:
        return week_label(self.monday + dt.timedelta(days=7))

    @property
    def total_rows(self) -> int:
        return (self.grid_end - self.grid_start) // ROW_MINUTES

    @property
    def hours(self) -> list[tuple[int, int]]:
        """(hour, grid row) for each full hour of the grid."""
        first = -(-self.grid_start // 60)
        last = self.grid_end // 60
        return [(hour, (hour * 60 - self.grid_start) // ROW_MINUTES + 1) for hour in range(first, last)]


def week_label(monday: dt.date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(raw: str | None, *, today: dt.date) -> dt.date:
    """The Monday of an ISO week `YYYY-Www` (this week when empty); InvalidInput when it is not one or too far."""
    this_monday = today - dt.timedelta(days=today.weekday())
    if not raw or not raw.strip():
        return this_monday
    found = _WEEK.match(raw.strip())
    if not found:
        raise InvalidInput("A week is written like 2026-W49 (year, W, week number).")
    try:
        monday = dt.date.fromisocalendar(int(found[1]), int(found[2]), 1)
    except ValueError:
        raise InvalidInput(f"{raw.strip()} is not a week of the calendar.") from None
    if abs((monday - this_monday).days) > WEEK_HORIZON * 7:
        raise InvalidInput(f"Pick a week within {WEEK_HORIZON} weeks of this one.")
    return monday


def _minutes(moment: dt.datetime | dt.time) -> int:
    return moment.hour * 60 + moment.minute


def resource_week(*, resource_id: int | None, monday: dt.date, now: dt.datetime | None = None) -> WeekCalendar:
    """The week from `monday` of one resource (the first active one when None); NotFound for an unknown id."""
    now = now or timezone.now()
    zone = business_time_zone()
    resources = list(Resource.objects.order_by("name", "pk"))
    if resource_id is None:
        resource = next((r for r in resources if r.active), resources[0] if resources else None)
    else:
        resource = next((r for r in resources if r.pk == resource_id), None)
        if resource is None:
            raise NotFound("No such studio or engineer.")
    days = [CalendarDay(monday + dt.timedelta(days=n)) for n in range(7)]
    if resource is None:
        return WeekCalendar(resources, None, monday, days, zone.key, 9 * 60, 18 * 60)
    for hours in OpeningHours.objects.filter(resource=resource).order_by("weekday", "opens_at"):
        days[hours.weekday].opening.append((hours.opens_at, hours.closes_at))
    start = dt.datetime.combine(monday, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(), tzinfo=zone).astimezone(dt.UTC)
    taken = list(
        Reservation.objects.filter(live_hold(now), resource=resource, starts_at__lt=end, ends_at__gt=start)
        .select_related("service", "user", "line__order")
        .order_by("starts_at", "pk")
    )
    edges = [_minutes(t) for day in days for window in day.opening for t in window]
    edges += [_minutes(r.starts_at.astimezone(zone)) for r in taken]
    edges += [_minutes(r.ends_at.astimezone(zone)) or 24 * 60 for r in taken]
    grid_start = (min(edges, default=9 * 60) // 60) * 60
    grid_end = min(24 * 60, -(-max(edges, default=18 * 60) // 60) * 60)
    if grid_end <= grid_start:
        grid_end = min(24 * 60, grid_start + 60)

    def place(begin: dt.datetime, finish: dt.datetime, day: dt.date) -> tuple[int, int]:
        first = _minutes(begin) if begin.date() == day else 0
        last = _minutes(finish) if finish.date() == day else 24 * 60
        first, last = max(first, grid_start), min(last, grid_end)
        row = (first - grid_start) // ROW_MINUTES + 1
        return row, max(1, -(-(last - grid_start) // ROW_MINUTES) + 1 - row)

    busy: dict[dt.date, list[tuple[dt.datetime, dt.datetime]]] = {day.day: [] for day in days}
    for reservation in taken:
        order = reservation.line.order
        begin, finish = reservation.starts_at.astimezone(zone), reservation.ends_at.astimezone(zone)
        lapsing = reservation.status == HoldStatus.HELD and order.status in PAYABLE
        for day in days:
            if begin.date() <= day.day <= finish.date() and not (finish.date() == day.day and _minutes(finish) == 0):
                row, rows = place(begin, finish, day.day)
                day.blocks.append(
                    Block(
                        kind=BlockKind.HELD if lapsing else BlockKind.BOOKED,
                        starts_at=begin,
                        ends_at=finish,
                        row=row,
                        rows=rows,
                        service=reservation.service.name,
                        customer=reservation.user.get_full_name() or reservation.user.email,
                        order_id=order.pk,
                        order_code=order.code,
                        lapses_at=order.hold_expires_at.astimezone(zone) if lapsing else None,
                    )
                )
                busy[day.day].append((begin, finish))
    for day in days:
        for opens, closes in day.opening:
            window_start = dt.datetime.combine(day.day, opens, tzinfo=zone)
            window_end = dt.datetime.combine(day.day, closes, tzinfo=zone)
            for free_start, free_end in _free(window_start, window_end, busy[day.day]):
                row, rows = place(free_start, free_end, day.day)
                day.blocks.append(Block(BlockKind.FREE, free_start, free_end, row, rows))
        day.blocks.sort(key=lambda block: (block.starts_at, block.kind != BlockKind.FREE))
    return WeekCalendar(resources, resource, monday, days, zone.key, grid_start, grid_end)


def _free(
    start: dt.datetime, end: dt.datetime, busy: list[tuple[dt.datetime, dt.datetime]]
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The parts of [start, end) that no busy interval covers."""
    free: list[tuple[dt.datetime, dt.datetime]] = []
    cursor = start
    for busy_start, busy_end in sorted(busy):
        if busy_end <= cursor or busy_start >= end:
            continue
        if busy_start > cursor:
            free.append((cursor, busy_start))
        cursor = max(cursor, busy_end)
    if cursor < end:
        free.append((cursor, end))
    return free

"""The operator's agenda: the courses and studio sessions of today and the coming days, in the business's zone.

Four queries whatever the data: the courses of the days; their seats (sold, held, free) counted by
subqueries; the studio sessions (live reservations) ranked and counted per day in the database, on the
reservations alone (a busy studio has a thousand a day; reading them all to show twenty cost a second); and
the first `SESSIONS_PER_DAY` of each day with their resource, service, customer and order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When, Window
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from bookdesk.bookings.calendar import week_label
from bookdesk.catalog.models import Course
from bookdesk.catalog.selectors import business_time_zone
from bookdesk.orders.capacity import live_hold
from bookdesk.orders.models import Booking, HoldStatus, Reservation
from bookdesk.orders.states import PAYABLE

# How far ahead the agenda looks by default, and at most.
AGENDA_DAYS = 7
MAX_AGENDA_DAYS = 31
# Something starting within this is "starting soon".
SOON = dt.timedelta(hours=2)
# Studio sessions listed per day; the rest are counted ("and 180 more"), the calendar shows them by room.
SESSIONS_PER_DAY = 20
# No studio session is longer: bounds the search for sessions still running when the first day starts.
MAX_SESSION = dt.timedelta(hours=24)


def _hours(starts_at: dt.datetime, ends_at: dt.datetime) -> str:
    """Start and end in the business's zone, "09:00–10:30": what `|time:"H:i"` shows, at a filter's fraction."""
    zone = business_time_zone()
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    return f"{start.hour:02d}:{start.minute:02d}–{end.hour:02d}:{end.minute:02d}"


@dataclass(frozen=True)
class CourseSlot:
    course_id: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    location: str
    capacity: int
    sold: int  # confirmed seats
    held: int  # seats held by orders being paid
    starting_soon: bool

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.sold - self.held)

    @property
    def hours(self) -> str:
        return _hours(self.starts_at, self.ends_at)


@dataclass(frozen=True)
class StudioSession:
    reservation_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    resource: str
    resource_id: int
    service: str
    customer: str
    email: str
    confirmed: bool  # else held while the customer pays
    order_id: int
    order_code: str
    starting_soon: bool

    @property
    def hours(self) -> str:
        return _hours(self.starts_at, self.ends_at)

    @property
    def week(self) -> str:
        """The ISO week of its day (business time zone), as the calendar takes it."""
        return week_label(self.starts_at.astimezone(business_time_zone()).date())


@dataclass
class AgendaDay:
    day: dt.date
    courses: list[CourseSlot] = field(default_factory=list)
    sessions: list[StudioSession] = field(default_factory=list)
    more_sessions: int = 0  # beyond SESSIONS_PER_DAY, not listed

    @property
    def empty(self) -> bool:
        return not self.courses and not self.sessions


@dataclass(frozen=True)
class Agenda:
    first: dt.date
    days: list[AgendaDay]
    zone: str
    now: dt.datetime

    @property
    def soon(self) -> list[CourseSlot | StudioSession]:
        """Everything starting within `SOON` of now, earliest first."""
        found: list[CourseSlot | StudioSession] = [c for day in self.days for c in day.courses if c.starting_soon]
        found += [s for day in self.days for s in day.sessions if s.starting_soon]
        return sorted(found, key=lambda item: item.starts_at)


def _day_bounds(first: dt.date, days: int) -> tuple[dt.datetime, dt.datetime]:
    zone = business_time_zone()
    start = dt.datetime.combine(first, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(first + dt.timedelta(days=days), dt.time(), tzinfo=zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _seat_count(condition: Q) -> Coalesce:
    seats = (
        Booking.objects.filter(condition, course=OuterRef("pk"))
        .order_by()
        .values("course")
        .annotate(n=Count("*"))  # not Count("pk"): counted from the (course, status) index alone
        .values("n")
    )
    return Coalesce(Subquery(seats, output_field=IntegerField()), Value(0))


def _seat_counts(course_ids: list[int], now: dt.datetime) -> dict[int, tuple[int, int]]:
    """Each course's (sold, held) seats.

    Counted for the listed courses by id, not in the courses' own query: there PostgreSQL cannot tell how few
    courses overlap the days (it guesses thousands), prices two subqueries for each, and spends longer
    compiling the plan (JIT) than running it.
    """
    counts = Course.objects.filter(pk__in=course_ids).values_list(
        "pk",
        _seat_count(Q(status=HoldStatus.CONFIRMED)),
        _seat_count(Q(status=HoldStatus.HELD) & live_hold(now)),
    )
    return {pk: (sold, held) for pk, sold, held in counts}


def _starting_soon(starts_at: dt.datetime, ends_at: dt.datetime, now: dt.datetime) -> bool:
    return now <= starts_at <= now + SOON or starts_at <= now < ends_at


def _live_sessions(now: dt.datetime, window: Q) -> QuerySet[Reservation]:
    """The live reservations in `window`: what `live_hold` keeps, with only the held ones' orders read.

    Joining every confirmed reservation of the week to its line and order (or testing each held one's order in
    an EXISTS, which PostgreSQL prices as if run for every row, then compiles the plan: JIT) cost more than the
    ranking; the held ones are few, so their live ids are read once (a hashed subquery) and looked up.
    tests/bookings/test_agenda.py checks this against `live_hold`.
    """
    held_live = Reservation.objects.filter(window, live_hold(now), status=HoldStatus.HELD).values("pk")
    return Reservation.objects.filter(window).filter(
        Q(status=HoldStatus.CONFIRMED) | Q(status=HoldStatus.HELD, pk__in=held_live)
    )


def _day_index(first: dt.date, days: int) -> Case:
    """Which of the `days` local days from `first` a session starting at `starts_at` is listed on (0 = `first`).

    A session started before the first day (and still on) is listed on the first day. Compared with each
    day's start (UTC instants computed here) rather than converted to the business zone row by row: PostgreSQL
    takes a third of the time.
    """
    starts = [_day_bounds(first + dt.timedelta(days=n), 1)[0] for n in range(1, days)]
    return Case(
        *(When(starts_at__lt=day_start, then=Value(n)) for n, day_start in enumerate(starts)),
        default=Value(days - 1),
        output_field=IntegerField(),
    )


def _ranked_sessions(first: dt.date, days: int, now: dt.datetime) -> dict[int, int]:
    """The first `SESSIONS_PER_DAY` live reservations of each local day, as {id: that day's total}.

    Ranked and counted on the reservations alone (and their resource's name, which orders them): their
    service, customer and order are read afterwards for the few kept.
    """
    start, end = _day_bounds(first, days)
    day = _day_index(first, days)
    window = Q(starts_at__lt=end, starts_at__gte=start - MAX_SESSION, ends_at__gt=start)
    ranked = (
        _live_sessions(now, window)
        .annotate(
            rank=Window(RowNumber(), partition_by=[day], order_by=[F("starts_at"), F("resource__name"), F("pk")]),
            day_total=Window(Count("pk"), partition_by=[day]),
        )
        .filter(rank__lte=SESSIONS_PER_DAY)
        .order_by()
        .values_list("pk", "day_total")
    )
    return dict(ranked)


def agenda(*, first: dt.date, days: int = AGENDA_DAYS, now: dt.datetime | None = None) -> Agenda:
    """The courses and studio sessions of `days` local days from `first` (four queries: the courses, their
    seats, the sessions ranked per day, the kept sessions with their resource, service, customer and order)."""
    now = now or timezone.now()
    zone = business_time_zone()
    start, end = _day_bounds(first, days)
    by_day = {first + dt.timedelta(days=n): AgendaDay(first + dt.timedelta(days=n)) for n in range(days)}
    courses = list(
        Course.objects.filter(starts_at__lt=end, ends_at__gt=start)
        .order_by("starts_at", "pk")
        .values_list("pk", "title", "starts_at", "ends_at", "location", "capacity")
    )
    seats = _seat_counts([course[0] for course in courses], now)
    for pk, title, starts_at, ends_at, location, capacity in courses:
        sold, held = seats.get(pk, (0, 0))
        slot = CourseSlot(
            course_id=pk,
            title=title,
            starts_at=starts_at,
            ends_at=ends_at,
            location=location,
            capacity=capacity,
            sold=sold,
            held=held,
            starting_soon=_starting_soon(starts_at, ends_at, now),
        )
        by_day[max(first, starts_at.astimezone(zone).date())].courses.append(slot)
    day_totals = _ranked_sessions(first, days, now)
    sessions = (
        Reservation.objects.filter(pk__in=list(day_totals))
        .order_by("starts_at", "resource__name", "pk")
        .values_list(
            "pk",
            "starts_at",
            "ends_at",
            "status",
            "resource_id",
            "resource__name",
            "service__name",
            "user__first_name",
            "user__last_name",
            "user__email",
            "line__order_id",
            "line__order__email",
            "line__order__status",
            "line__order__code",
        )
    )
    for row in sessions:
        (
            pk,
            starts_at,
            ends_at,
            status,
            resource_id,
            resource,
            service,
            first_name,
            last_name,
            user_email,
            order_id,
            email,
            order_status,
            code,
        ) = row
        local_day = max(first, starts_at.astimezone(zone).date())
        by_day[local_day].sessions.append(
            StudioSession(
                reservation_id=pk,
                starts_at=starts_at,
                ends_at=ends_at,
                resource=resource,
                resource_id=resource_id,
                service=service,
                customer=f"{first_name} {last_name}".strip() or user_email,
                email=email,
                confirmed=status == HoldStatus.CONFIRMED or order_status not in PAYABLE,
                order_id=order_id,
                order_code=code,
                starting_soon=_starting_soon(starts_at, ends_at, now),
            )
        )
        by_day[local_day].more_sessions = max(0, day_totals[pk] - SESSIONS_PER_DAY)
    return Agenda(first=first, days=list(by_day.values()), zone=zone.key, now=now)

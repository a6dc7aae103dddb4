"""The operator's agenda: the courses and studio sessions of today and the coming days, in the business's zone.

Two queries whatever the data: the courses of the days with their seats (sold, held, free) counted by
subqueries, and the studio sessions (live reservations) with their resource, service, customer and order:
the first `SESSIONS_PER_DAY` of each day, ranked and counted in the database (a busy studio has a thousand
a day; reading them all to show twenty cost a second).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Value, Window
from django.db.models.functions import Coalesce, Greatest, RowNumber, TruncDate
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


def _seat_count(now: dt.datetime, condition: Q) -> Coalesce:
    seats = (
        Booking.objects.filter(condition, course=OuterRef("pk"))
        .order_by()
        .values("course")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(seats, output_field=IntegerField()), Value(0))


def _starting_soon(starts_at: dt.datetime, ends_at: dt.datetime, now: dt.datetime) -> bool:
    return now <= starts_at <= now + SOON or starts_at <= now < ends_at


def agenda(*, first: dt.date, days: int = AGENDA_DAYS, now: dt.datetime | None = None) -> Agenda:
    """The courses and studio sessions of `days` local days from `first` (two queries)."""
    now = now or timezone.now()
    zone = business_time_zone()
    start, end = _day_bounds(first, days)
    by_day = {first + dt.timedelta(days=n): AgendaDay(first + dt.timedelta(days=n)) for n in range(days)}
    held_live = live_hold(now) & Q(status=HoldStatus.HELD)
    courses = (
        Course.objects.filter(starts_at__lt=end, ends_at__gt=start)
        .annotate(
            sold=_seat_count(now, Q(status=HoldStatus.CONFIRMED)),
            held=_seat_count(now, held_live),
        )
        .order_by("starts_at", "pk")
    )
    for course in courses:
        local_day = course.starts_at.astimezone(zone).date()
        slot = CourseSlot(
            course_id=course.pk,
            title=course.title,
            starts_at=course.starts_at,
            ends_at=course.ends_at,
            location=course.location,
            capacity=course.capacity,
            sold=course.sold,  # type: ignore[attr-defined]
            held=course.held,  # type: ignore[attr-defined]
            starting_soon=_starting_soon(course.starts_at, course.ends_at, now),
        )
        by_day[max(first, local_day)].courses.append(slot)
    # A session started before the first day (and still on) is listed on the first day, as the loop below does.
    day = Greatest(TruncDate("starts_at", tzinfo=zone), Value(first))
    reservations = (
        Reservation.objects.filter(
            live_hold(now), starts_at__lt=end, starts_at__gte=start - MAX_SESSION, ends_at__gt=start
        )
        .select_related("resource", "service", "user", "line__order")
        .annotate(
            rank=Window(RowNumber(), partition_by=[day], order_by=[F("starts_at"), F("resource__name"), F("pk")]),
            day_total=Window(Count("pk"), partition_by=[day]),
        )
        .filter(rank__lte=SESSIONS_PER_DAY)
        .order_by("starts_at", "resource__name", "pk")
    )
    for reservation in reservations:
        order = reservation.line.order
        local_day = reservation.starts_at.astimezone(zone).date()
        by_day[max(first, local_day)].sessions.append(
            StudioSession(
                reservation_id=reservation.pk,
                starts_at=reservation.starts_at,
                ends_at=reservation.ends_at,
                resource=reservation.resource.name,
                resource_id=reservation.resource_id,
                service=reservation.service.name,
                customer=reservation.user.get_full_name() or reservation.user.email,
                email=order.email,
                confirmed=reservation.status == HoldStatus.CONFIRMED or order.status not in PAYABLE,
                order_id=order.pk,
                order_code=order.code,
                starting_soon=_starting_soon(reservation.starts_at, reservation.ends_at, now),
            )
        )
        total: int = reservation.day_total  # type: ignore[attr-defined]
        by_day[max(first, local_day)].more_sessions = max(0, total - SESSIONS_PER_DAY)
    return Agenda(first=first, days=list(by_day.values()), zone=zone.key, now=now)

"""Checking attendees in at the door: a confirmed seat of a course, on the course's day, toggled and audited."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from bookdesk.catalog.models import Course
from bookdesk.catalog.selectors import business_time_zone
from bookdesk.errors import Conflict, NotFound
from bookdesk.orders.audit import audit
from bookdesk.orders.models import Booking, HoldStatus


class CheckInRefused(Conflict):
    code = "check_in_refused"
    title = "This seat cannot be checked in"


def check_in_open(course: Course, *, now: dt.datetime) -> bool:
    """Check-in is open on the course's days (business time zone): from its first day to its last."""
    zone = business_time_zone()
    today = now.astimezone(zone).date()
    return course.starts_at.astimezone(zone).date() <= today <= course.ends_at.astimezone(zone).date()


@transaction.atomic
def booking_check_in(
    *, booking_id: int, checked_in: bool, actor: str, course_id: int | None = None, now: dt.datetime | None = None
) -> Booking:
    """Check the seat's attendee in (or undo it). Refused, changing nothing, for a seat that is not confirmed
    (cancelled, or still unpaid) or outside the course's days; asking for the state it is in changes nothing.
    With `course_id`, a seat of another course is not found."""
    now = now or timezone.now()
    seats = Booking.objects.select_for_update(of=("self",)).select_related("course", "line__order", "user")
    if course_id is not None:
        seats = seats.filter(course_id=course_id)
    booking = seats.filter(pk=booking_id).first()
    if booking is None:
        raise NotFound("No such seat.")
    if booking.status != HoldStatus.CONFIRMED:
        why = "it was cancelled" if booking.status == HoldStatus.CANCELLED else "it is not paid"
        raise CheckInRefused(f"This seat cannot be checked in: {why}.")
    if not check_in_open(booking.course, now=now):
        raise CheckInRefused("Check-in is open on the course's day only.")
    if (booking.checked_in_at is not None) == checked_in:
        return booking
    booking.checked_in_at = now if checked_in else None
    booking.save(update_fields=["checked_in_at"])
    audit(
        actor=actor,
        action="booking.checked_in" if checked_in else "booking.check_in_undone",
        obj=booking,
        order=booking.line.order,
        data={"course": booking.course_id},
    )
    return booking

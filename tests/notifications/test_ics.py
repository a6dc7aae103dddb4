"""The .ics file: RFC 5545 escaping, folding at 75 octets, CRLF, UTC times, stable UIDs."""

from __future__ import annotations

import datetime as dt

import pytest

from bookdesk.notifications import ics
from bookdesk.orders.models import Booking, HoldStatus
from bookdesk.orders.services import ItemRequest
from factories import BeatFactory, CourseFactory, UserFactory

from . import icsparse
from .conftest import confirmed_order, studio_slot

pytestmark = pytest.mark.django_db


def test_text_values_escape_commas_semicolons_backslashes_and_newlines() -> None:
    course = CourseFactory(title="Mixing, mastering; more\nDay 2", location="Hall 1, Berlin; back\\side")
    order = confirmed_order(user=UserFactory(), items=[ItemRequest(kind="course", course_id=course.pk)])

    data = ics.calendar_for(order)

    assert data is not None
    (event,) = icsparse.events(data)
    assert event["SUMMARY"] == "Mixing\\, mastering\\; more\\nDay 2"
    assert event["LOCATION"] == "Hall 1\\, Berlin\\; back\\\\side"
    assert icsparse.unescape(event["SUMMARY"]) == course.title
    assert icsparse.unescape(event["LOCATION"]) == course.location


def test_escape_text_turns_every_newline_form_into_backslash_n() -> None:
    assert ics.escape_text("a\r\nb\rc\nd") == "a\\nb\\nc\\nd"


def test_long_lines_fold_at_75_octets_without_splitting_a_character() -> None:
    title = "Übungskurs für Fortgeschrittene € " * 5  # multi-byte characters across every fold
    course = CourseFactory(title=title.strip())
    order = confirmed_order(user=UserFactory(), items=[ItemRequest(kind="course", course_id=course.pk)])

    data = ics.calendar_for(order)

    assert data is not None
    lines = icsparse.physical_lines(data)
    assert all(len(line) <= 75 for line in lines)
    for line in lines:
        line.decode("utf-8")  # no fold cuts a UTF-8 sequence in two
    continuation = [line for line in lines if line.startswith(b" ")]
    assert len(continuation) >= 2
    (event,) = icsparse.events(data)
    assert icsparse.unescape(event["SUMMARY"]) == course.title


def test_fold_keeps_short_lines_and_restores_long_ones() -> None:
    assert ics.fold("SUMMARY:short") == "SUMMARY:short"
    long = "DESCRIPTION:" + "x" * 200
    folded = ics.fold(long)
    assert [len(part) for part in folded.split("\r\n")] == [75, 75, 64]  # 212 octets: 75, then 1 + 74, then 1 + 63
    assert folded.replace("\r\n ", "") == long


def test_calendar_has_one_event_per_seat_and_slot_in_utc() -> None:
    course = CourseFactory()
    service, slot = studio_slot(hour=15)
    beat = BeatFactory()
    order = confirmed_order(
        user=UserFactory(),
        items=[
            ItemRequest(kind="course", course_id=course.pk),
            ItemRequest(kind="service", service_id=service.pk, starts_at=slot),
            ItemRequest(kind="product", product_id=beat.pk, license_id=beat.licenses.get(tier="basic").pk),
        ],
    )

    data = ics.calendar_for(order)

    assert data is not None
    text = icsparse.unfold(data).decode()
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert "\r\nMETHOD:PUBLISH\r\n" in text
    assert text.endswith("END:VCALENDAR\r\n")
    events = icsparse.events(data)
    assert len(events) == 2
    starts = sorted(event["DTSTART"] for event in events)
    expected = sorted(moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ") for moment in (course.starts_at, slot))
    assert starts == expected
    assert all(event["DTSTART"].endswith("Z") and event["DTSTAMP"].endswith("Z") for event in events)


def test_uids_are_stable_per_booking() -> None:
    course = CourseFactory()
    order = confirmed_order(user=UserFactory(), items=[ItemRequest(kind="course", course_id=course.pk)])
    booking = Booking.objects.get(line__order=order)

    first, second = ics.calendar_for(order), ics.calendar_for(order)

    assert first is not None
    assert second is not None
    uids = [event["UID"] for event in icsparse.events(first)]
    assert uids == [event["UID"] for event in icsparse.events(second)]
    assert uids == [f"booking-{booking.pk}@127.0.0.1"]


def test_no_calendar_for_an_order_without_dates() -> None:
    beat = BeatFactory()
    order = confirmed_order(
        user=UserFactory(),
        items=[ItemRequest(kind="product", product_id=beat.pk, license_id=beat.licenses.get(tier="basic").pk)],
    )

    assert ics.calendar_for(order) is None


def test_released_seats_are_left_out() -> None:
    order = confirmed_order(user=UserFactory(), items=[ItemRequest(kind="course", course_id=CourseFactory().pk)])
    Booking.objects.filter(line__order=order).update(status=HoldStatus.RELEASED)

    assert ics.calendar_for(order) is None

"""Free slots of a service: opening hours stepped by the duration, in local time, across DST, minus taken/past."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from bookdesk.catalog.selectors import (
    OpeningWindow,
    Slot,
    business_today,
    service_free_slots,
    service_get,
    slots_from_windows,
)
from bookdesk.orders.availability import taken_for
from factories import OpeningHoursFactory, ResourceFactory, ServiceFactory

BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC
MONDAY = dt.date(2027, 3, 1)  # an ordinary Monday, safely in the future
SPRING_FORWARD = dt.date(2027, 3, 28)  # Sunday: 02:00 CET → 03:00 CEST
FALL_BACK = dt.date(2027, 10, 31)  # Sunday: 03:00 CEST → 02:00 CET
LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _berlin(settings):  # type: ignore[no-untyped-def]
    settings.BOOKDESK_TIME_ZONE = "Europe/Berlin"


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def studio(*, weekday: int, opens: dt.time, closes: dt.time, name: str | None = None):  # type: ignore[no-untyped-def]
    resource = ResourceFactory(**({"name": name} if name else {}))
    OpeningHoursFactory(resource=resource, weekday=weekday, opens_at=opens, closes_at=closes)
    return resource


def assert_well_formed(slots: list[Slot], *, duration: dt.timedelta, opens: dt.time, closes: dt.time, day: dt.date):
    """Exactly `duration` long, inside the opening window in local time, never overlapping per resource."""
    for slot in slots:
        assert slot.starts_at.utcoffset() == dt.timedelta(0)
        assert slot.ends_at - slot.starts_at == duration
        start_local, end_local = slot.starts_at.astimezone(BERLIN), slot.ends_at.astimezone(BERLIN)
        assert start_local.date() == day
        assert end_local.date() == day
        assert start_local.time() >= opens
        assert end_local.time() <= closes
    resource_ids = {rid for slot in slots for rid in slot.resource_ids}
    for rid in resource_ids:
        own = [slot for slot in slots if rid in slot.resource_ids]
        for earlier, later in itertools.pairwise(own):
            assert earlier.ends_at <= later.starts_at
    assert [slot.starts_at for slot in slots] == sorted(slot.starts_at for slot in slots)


# --- against the database --------------------------------------------------------------------------


@pytest.mark.django_db
def test_normal_day_steps_the_window_by_the_duration():
    resource = studio(weekday=0, opens=dt.time(9), closes=dt.time(12, 30))
    service = ServiceFactory(duration_minutes=60, resources=[resource])

    slots = service_free_slots(service=service, day=MONDAY)

    # 09:00 CET is 08:00 UTC; 12:00–13:00 would end after closing.
    assert slots == [
        Slot(utc(2027, 3, 1, 8), utc(2027, 3, 1, 9), (resource.pk,)),
        Slot(utc(2027, 3, 1, 9), utc(2027, 3, 1, 10), (resource.pk,)),
        Slot(utc(2027, 3, 1, 10), utc(2027, 3, 1, 11), (resource.pk,)),
    ]


@pytest.mark.django_db
def test_no_slots_on_a_day_without_opening_hours():
    resource = studio(weekday=0, opens=dt.time(9), closes=dt.time(17))
    service = ServiceFactory(resources=[resource])
    assert service_free_slots(service=service, day=MONDAY + dt.timedelta(days=1)) == []


@pytest.mark.django_db
def test_service_longer_than_the_window_has_no_slots():
    resource = studio(weekday=0, opens=dt.time(9), closes=dt.time(10, 30))
    service = ServiceFactory(duration_minutes=120, resources=[resource])
    assert service_free_slots(service=service, day=MONDAY) == []


@pytest.mark.django_db
def test_two_resources_merge_equal_times():
    room = studio(weekday=0, opens=dt.time(9), closes=dt.time(11), name="Room")
    engineer = studio(weekday=0, opens=dt.time(10), closes=dt.time(12), name="Engineer")
    service = ServiceFactory(duration_minutes=60, resources=[room, engineer])

    slots = service_free_slots(service=service, day=MONDAY)

    assert slots == [
        Slot(utc(2027, 3, 1, 8), utc(2027, 3, 1, 9), (room.pk,)),
        Slot(utc(2027, 3, 1, 9), utc(2027, 3, 1, 10), tuple(sorted((room.pk, engineer.pk)))),
        Slot(utc(2027, 3, 1, 10), utc(2027, 3, 1, 11), (engineer.pk,)),
    ]


@pytest.mark.django_db
def test_inactive_resources_and_other_services_resources_are_ignored():
    room = studio(weekday=0, opens=dt.time(9), closes=dt.time(10), name="Room")
    retired = studio(weekday=0, opens=dt.time(9), closes=dt.time(10), name="Retired")
    retired.active = False
    retired.save()
    studio(weekday=0, opens=dt.time(9), closes=dt.time(10), name="Elsewhere")
    service = ServiceFactory(duration_minutes=60, resources=[room, retired])

    assert service_free_slots(service=service, day=MONDAY) == [Slot(utc(2027, 3, 1, 8), utc(2027, 3, 1, 9), (room.pk,))]


@pytest.mark.django_db
def test_taken_time_removes_overlapping_slots_of_that_resource_only():
    room = studio(weekday=0, opens=dt.time(9), closes=dt.time(13), name="Room")
    engineer = studio(weekday=0, opens=dt.time(9), closes=dt.time(13), name="Engineer")
    service = ServiceFactory(duration_minutes=60, resources=[room, engineer])
    # The room is taken 09:30–10:30 local (08:30–09:30 UTC): the 09:00 and 10:00 slots overlap it.
    taken = [(room.pk, utc(2027, 3, 1, 8, 30), utc(2027, 3, 1, 9, 30))]

    slots = service_free_slots(service=service, day=MONDAY, taken=taken)

    by_start = {slot.starts_at: slot.resource_ids for slot in slots}
    both = tuple(sorted((room.pk, engineer.pk)))
    assert by_start == {
        utc(2027, 3, 1, 8): (engineer.pk,),
        utc(2027, 3, 1, 9): (engineer.pk,),
        utc(2027, 3, 1, 10): both,
        utc(2027, 3, 1, 11): both,
    }


@pytest.mark.django_db
def test_taken_time_touching_a_slot_does_not_remove_it():
    room = studio(weekday=0, opens=dt.time(9), closes=dt.time(11))
    service = ServiceFactory(duration_minutes=60, resources=[room])
    taken = [(room.pk, utc(2027, 3, 1, 9), utc(2027, 3, 1, 10))]  # exactly the second slot
    assert [slot.starts_at for slot in service_free_slots(service=service, day=MONDAY, taken=taken)] == [
        utc(2027, 3, 1, 8)
    ]


@pytest.mark.django_db
def test_slots_that_start_in_the_past_are_removed():
    today = business_today()
    resource = studio(weekday=today.weekday(), opens=dt.time(0), closes=dt.time(23, 59))
    service = ServiceFactory(duration_minutes=30, resources=[resource])
    now = timezone.now()

    slots = service_free_slots(service=service, day=today)

    assert all(slot.starts_at >= now for slot in slots)
    assert len(slots) < 47  # the day's earlier slots are gone
    yesterday = today - dt.timedelta(days=1)
    OpeningHoursFactory(resource=resource, weekday=yesterday.weekday(), opens_at=dt.time(0), closes_at=dt.time(23))
    assert service_free_slots(service=service, day=yesterday) == []


@pytest.mark.django_db
def test_taken_for_is_empty_until_reservations_exist():
    service = ServiceFactory(resources=[studio(weekday=0, opens=dt.time(9), closes=dt.time(17))])
    assert taken_for(service_get(service_id=service.pk), MONDAY) == ()


@pytest.mark.django_db
def test_spring_forward_skips_the_missing_hour():
    resource = studio(weekday=6, opens=dt.time(1), closes=dt.time(5))
    service = ServiceFactory(duration_minutes=60, resources=[resource])

    slots = service_free_slots(service=service, day=SPRING_FORWARD)

    # 02:00 local does not exist that night; 01:00 CET = 00:00 UTC, 03:00 CEST = 01:00 UTC.
    assert [(slot.starts_at, slot.ends_at) for slot in slots] == [
        (utc(2027, 3, 28, 0), utc(2027, 3, 28, 1)),
        (utc(2027, 3, 28, 1), utc(2027, 3, 28, 2)),
        (utc(2027, 3, 28, 2), utc(2027, 3, 28, 3)),
    ]


@pytest.mark.django_db
def test_fall_back_takes_the_first_of_the_repeated_hour():
    resource = studio(weekday=6, opens=dt.time(1), closes=dt.time(5))
    service = ServiceFactory(duration_minutes=60, resources=[resource])

    slots = service_free_slots(service=service, day=FALL_BACK)

    # 01:00 CEST = 23:00 UTC the day before; 02:00 is ambiguous → fold=0 (CEST) = 00:00 UTC; 03:00 CET = 02:00 UTC.
    assert [(slot.starts_at, slot.ends_at) for slot in slots] == [
        (utc(2027, 10, 30, 23), utc(2027, 10, 31, 0)),
        (utc(2027, 10, 31, 0), utc(2027, 10, 31, 1)),
        (utc(2027, 10, 31, 2), utc(2027, 10, 31, 3)),
        (utc(2027, 10, 31, 3), utc(2027, 10, 31, 4)),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("day", [SPRING_FORWARD, FALL_BACK])
@pytest.mark.parametrize("minutes", [30, 45, 60, 90, 120, 150, 180])
@pytest.mark.parametrize(("opens", "closes"), [(dt.time(0), dt.time(23, 59)), (dt.time(1, 15), dt.time(6, 45))])
def test_dst_days_give_exact_non_overlapping_slots_inside_opening_hours(day, minutes, opens, closes):
    resource = studio(weekday=6, opens=opens, closes=closes)
    service = ServiceFactory(duration_minutes=minutes, resources=[resource])

    slots = service_free_slots(service=service, day=day)

    assert slots
    assert_well_formed(slots, duration=dt.timedelta(minutes=minutes), opens=opens, closes=closes, day=day)


# --- properties of the pure computation ------------------------------------------------------------

minutes_of_day = st.integers(min_value=0, max_value=24 * 60 - 1)
future_days = st.one_of(
    st.dates(min_value=dt.date(2027, 1, 1), max_value=dt.date(2031, 12, 31)),
    st.sampled_from([SPRING_FORWARD, FALL_BACK, dt.date(2028, 3, 26), dt.date(2028, 10, 29)]),
)


@st.composite
def windows(draw: st.DrawFn) -> tuple[dt.time, dt.time]:
    opens = draw(st.integers(min_value=0, max_value=24 * 60 - 2))
    closes = draw(st.integers(min_value=opens + 1, max_value=24 * 60 - 1))
    return dt.time(opens // 60, opens % 60), dt.time(closes // 60, closes % 60)


def minutes_between(opens: dt.time, closes: dt.time) -> int:
    return (closes.hour * 60 + closes.minute) - (opens.hour * 60 + opens.minute)


def is_dst_change_day(day: dt.date) -> bool:
    start = dt.datetime.combine(day, dt.time(0), tzinfo=BERLIN)
    end = dt.datetime.combine(day, dt.time(23, 59), tzinfo=BERLIN)
    return start.utcoffset() != end.utcoffset()


@settings(max_examples=300, deadline=None)
@given(window=windows(), minutes=st.integers(min_value=5, max_value=8 * 60), day=future_days)
def test_slots_are_exact_inside_the_window_and_never_overlap(window, minutes, day):
    opens, closes = window
    duration = dt.timedelta(minutes=minutes)

    slots = slots_from_windows(
        windows=[OpeningWindow(1, opens, closes)], duration=duration, day=day, tz=BERLIN, now=LONG_AGO
    )

    assert_well_formed(slots, duration=duration, opens=opens, closes=closes, day=day)
    if not is_dst_change_day(day):
        assert len(slots) == minutes_between(opens, closes) // minutes
    else:  # the clock skips or repeats an hour: never more slots than the wall-clock window holds
        assert len(slots) <= minutes_between(opens, closes) // minutes


@settings(max_examples=150, deadline=None)
@given(
    first=windows(),
    second=windows(),
    minutes=st.integers(min_value=15, max_value=4 * 60),
    day=future_days,
    taken_starts=st.lists(minutes_of_day, max_size=4),
)
def test_merging_and_taking_match_each_resource_on_its_own(first, second, minutes, day, taken_starts):
    duration = dt.timedelta(minutes=minutes)
    day_start = dt.datetime.combine(day, dt.time(0), tzinfo=BERLIN).astimezone(UTC)
    taken = [(1, day_start + dt.timedelta(minutes=m), day_start + dt.timedelta(minutes=m + 30)) for m in taken_starts]

    def alone(resource_id: int, window: tuple[dt.time, dt.time], busy: list) -> set[tuple[dt.datetime, dt.datetime]]:  # type: ignore[type-arg]
        return {
            (slot.starts_at, slot.ends_at)
            for slot in slots_from_windows(
                windows=[OpeningWindow(resource_id, *window)],
                duration=duration,
                day=day,
                tz=BERLIN,
                taken=busy,
                now=LONG_AGO,
            )
        }

    merged = slots_from_windows(
        windows=[OpeningWindow(1, *first), OpeningWindow(2, *second)],
        duration=duration,
        day=day,
        tz=BERLIN,
        taken=taken,
        now=LONG_AGO,
    )

    for rid, window, busy in ((1, first, taken), (2, second, [])):
        own = {(slot.starts_at, slot.ends_at) for slot in merged if rid in slot.resource_ids}
        assert own == alone(rid, window, busy)
        untaken = alone(rid, window, [])
        assert own == {(start, end) for start, end in untaken if not any(s < end and start < e for _, s, e in busy)}
    assert len({slot.starts_at for slot in merged}) == len(merged)  # equal times merged into one slot

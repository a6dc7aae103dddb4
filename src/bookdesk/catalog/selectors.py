"""Reads of the catalog alone: services and their resources, opening hours and the slots they make, the
business's time zone. What is left of each (seats, free slots, licenses) is the orders layer's to say:
`bookdesk.orders.availability`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from bookdesk.catalog.models import OpeningHours, Resource, Service
from bookdesk.errors import NotFound

# How far from today a client may ask for a service's slots, or book one (either way, in days).
SLOT_HORIZON_DAYS = 365

# (resource id, start, end) of time that is not free, aware datetimes.
TakenInterval = tuple[int, dt.datetime, dt.datetime]


def _services() -> QuerySet[Service]:
    active_resources = Resource.objects.filter(active=True).order_by("name", "id")
    return Service.objects.filter(published=True).prefetch_related(Prefetch("resources", queryset=active_resources))


def service_list() -> QuerySet[Service]:
    """Published services with their active resources prefetched."""
    return _services().order_by("name", "id")


def service_get(*, service_id: int) -> Service:
    try:
        return _services().get(pk=service_id)
    except Service.DoesNotExist:
        raise NotFound("Service not found.") from None


@dataclass(frozen=True)
class Slot:
    """A bookable time of a service: aware UTC datetimes and the resources free for all of it."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    resource_ids: tuple[int, ...]


@dataclass(frozen=True)
class OpeningWindow:
    resource_id: int
    opens_at: dt.time
    closes_at: dt.time


def business_time_zone() -> ZoneInfo:
    return ZoneInfo(settings.BOOKDESK_TIME_ZONE)


def within_slot_horizon(day: dt.date) -> bool:
    return abs((day - business_today()).days) <= SLOT_HORIZON_DAYS


def business_today() -> dt.date:
    return timezone.now().astimezone(business_time_zone()).date()


def _local_to_utc(naive_local: dt.datetime, tz: ZoneInfo) -> dt.datetime | None:
    """The UTC instant of a wall-clock time, or None when the clock skips it (spring forward).

    An ambiguous time (fall back) is taken at its first occurrence (fold=0).
    """
    aware = naive_local.replace(tzinfo=tz, fold=0)
    as_utc = aware.astimezone(dt.UTC)
    if as_utc.astimezone(tz).replace(tzinfo=None) != naive_local:
        return None
    return as_utc


def slots_from_windows(
    *,
    windows: Iterable[OpeningWindow],
    duration: dt.timedelta,
    day: dt.date,
    tz: ZoneInfo,
    taken: Iterable[TakenInterval] = (),
    now: dt.datetime,
) -> list[Slot]:
    """Free slots of `duration` on `day` from opening windows in local time (pure; no database).

    Each window is stepped by `duration` from its opening, in wall-clock time. A start the clock
    skips is dropped; the end is start + duration in real time and must fall, in local time, on
    `day` no later than closing (so a slot is always exactly `duration` long, even across a DST
    change). A start inside the previous slot of the same resource (possible when the clock jumps
    forward) is dropped too. Slots overlapping `taken` for their resource, or starting before
    `now`, are removed; equal times on several resources merge into one `Slot`.
    """
    if duration <= dt.timedelta(0):
        raise ValueError("duration must be positive")
    taken_by_resource: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for resource_id, taken_start, taken_end in taken:
        taken_by_resource[resource_id].append((taken_start, taken_end))

    windows_by_resource: dict[int, set[tuple[dt.time, dt.time]]] = defaultdict(set)
    for window in windows:
        windows_by_resource[window.resource_id].add((window.opens_at, window.closes_at))

    free: dict[tuple[dt.datetime, dt.datetime], set[int]] = defaultdict(set)
    for resource_id, resource_windows in windows_by_resource.items():
        busy = taken_by_resource.get(resource_id, [])
        candidates: set[tuple[dt.datetime, dt.datetime]] = set()
        for opens_at, closes_at in resource_windows:
            closes_local = dt.datetime.combine(day, closes_at)
            wall_clock = dt.datetime.combine(day, opens_at)
            previous_end: dt.datetime | None = None
            while wall_clock + duration <= closes_local:
                start = _local_to_utc(wall_clock, tz)
                wall_clock += duration
                if start is None:
                    continue
                end = start + duration
                end_local = end.astimezone(tz).replace(tzinfo=None)
                if end_local > closes_local:
                    continue
                if previous_end is not None and start < previous_end:
                    continue
                previous_end = end
                candidates.add((start, end))
        # Overlapping opening windows of one resource could yield overlapping slots: keep the earliest.
        last_end: dt.datetime | None = None
        for start, end in sorted(candidates):
            if last_end is not None and start < last_end:
                continue
            last_end = end
            if start < now:
                continue
            if any(start < busy_end and busy_start < end for busy_start, busy_end in busy):
                continue
            free[(start, end)].add(resource_id)

    return [
        Slot(starts_at=start, ends_at=end, resource_ids=tuple(sorted(resource_ids)))
        for (start, end), resource_ids in sorted(free.items())
    ]


def service_free_slots(*, service: Service, day: dt.date, taken: Iterable[TakenInterval] = ()) -> list[Slot]:
    """The free slots of `service` on the local `day` (business time zone), sorted by start."""
    resource_ids = [resource.pk for resource in service.resources.all() if resource.active]
    hours = OpeningHours.objects.filter(resource_id__in=resource_ids, weekday=day.weekday())
    windows = [OpeningWindow(h.resource_id, h.opens_at, h.closes_at) for h in hours]
    return slots_from_windows(
        windows=windows,
        duration=dt.timedelta(minutes=service.duration_minutes),
        day=day,
        tz=business_time_zone(),
        taken=taken,
        now=timezone.now(),
    )

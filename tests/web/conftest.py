"""A small published catalog for the page tests: courses (open, few seats, past), a service, beats, merch."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from bookdesk.catalog.models import Course, License, Product, Service
from factories import (
    BeatFactory,
    CourseFactory,
    OpeningHoursFactory,
    PhysicalProductFactory,
    ResourceFactory,
    ServiceFactory,
)


@dataclass
class Catalog:
    course: Course
    few_seats_course: Course
    past_course: Course
    service: Service
    beat: Product
    merch: Product


def _starting_in(delta: dt.timedelta) -> dict[str, dt.datetime]:
    starts_at = timezone.now() + delta
    return {"starts_at": starts_at, "ends_at": starts_at + dt.timedelta(hours=3)}


@pytest.fixture
def catalog(db: None) -> Catalog:
    course = CourseFactory(
        title="Mixing basics",
        slug="mixing-basics",
        location="Studio A, Berlin",
        capacity=12,
        price_amount=14900,
        **_starting_in(dt.timedelta(days=10)),
    )
    few = CourseFactory(
        title="Mastering clinic", slug="mastering-clinic", capacity=2, **_starting_in(dt.timedelta(days=20))
    )
    past = CourseFactory(title="Old workshop", slug="old-workshop", **_starting_in(-dt.timedelta(days=3)))
    studio = ResourceFactory(name="Studio A")
    for weekday in range(7):
        OpeningHoursFactory(resource=studio, weekday=weekday, opens_at=dt.time(10), closes_at=dt.time(18))
    service = ServiceFactory(
        name="Recording session",
        description="Two hours in Studio A with an engineer.",
        duration_minutes=120,
        price_amount=9000,
        resources=[studio],
    )
    beat = BeatFactory(title="Night Drive")
    License.objects.filter(product=beat, tier=License.Tier.EXCLUSIVE).update(name="Exclusive rights")
    merch = PhysicalProductFactory(title="Studio T-shirt", price_amount=2500, description="Organic cotton.")
    return Catalog(course=course, few_seats_course=few, past_course=past, service=service, beat=beat, merch=merch)

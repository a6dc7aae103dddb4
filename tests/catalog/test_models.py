"""The database itself refuses catalog rows that break the rules (not only forms and serializers)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from bookdesk.catalog.models import License
from factories import (
    CourseFactory,
    LicenseFactory,
    OpeningHoursFactory,
    PhysicalProductFactory,
    ProductFactory,
    ServiceFactory,
)

pytestmark = pytest.mark.django_db


def refused(factory, **fields) -> bool:  # type: ignore[no-untyped-def]
    """True when the database refuses the row (raised inside a savepoint, so the test can go on)."""
    try:
        with transaction.atomic():
            factory(**fields)
    except IntegrityError:
        return True
    return False


def test_valid_rows_are_accepted():
    course = CourseFactory()
    assert course.pk
    assert OpeningHoursFactory().pk
    assert ServiceFactory().pk
    assert LicenseFactory(tier=License.Tier.EXCLUSIVE).exclusive


@pytest.mark.parametrize("capacity", [0, -1])
def test_course_without_seats_is_refused(capacity):
    assert refused(CourseFactory, capacity=capacity)


def test_course_with_negative_price_is_refused():
    assert refused(CourseFactory, price_amount=-1)
    assert not refused(CourseFactory, price_amount=0)  # free courses exist


def test_course_with_unknown_currency_is_refused():
    assert refused(CourseFactory, currency="xxx")
    assert refused(CourseFactory, currency="EUR")  # currencies are lowercase


def test_course_ending_before_it_starts_is_refused():
    starts_at = timezone.now() + dt.timedelta(days=3)
    assert refused(CourseFactory, starts_at=starts_at, ends_at=starts_at - dt.timedelta(minutes=1))
    assert refused(CourseFactory, starts_at=starts_at, ends_at=starts_at)


def test_opening_hours_closing_before_opening_are_refused():
    assert refused(OpeningHoursFactory, opens_at=dt.time(17), closes_at=dt.time(9))
    assert refused(OpeningHoursFactory, opens_at=dt.time(9), closes_at=dt.time(9))


def test_opening_hours_with_invalid_weekday_are_refused():
    assert refused(OpeningHoursFactory, weekday=7)


def test_service_with_zero_duration_or_negative_price_is_refused():
    assert refused(ServiceFactory, duration_minutes=0)
    assert refused(ServiceFactory, price_amount=-100)
    assert refused(ServiceFactory, currency="eu")


def test_product_with_negative_price_or_invalid_currency_is_refused():
    assert refused(PhysicalProductFactory, price_amount=-1)
    assert refused(ProductFactory, currency="xyz")


def test_physical_product_without_price_is_refused():
    assert refused(PhysicalProductFactory, price_amount=None)
    assert not refused(ProductFactory, price_amount=None)  # digital ones are priced by license


def test_license_with_negative_price_is_refused():
    assert refused(LicenseFactory, price_amount=-1)


def test_exclusive_tier_that_is_not_exclusive_is_refused():
    assert refused(LicenseFactory, tier=License.Tier.EXCLUSIVE, exclusive=False)


def test_second_license_of_the_same_tier_is_refused():
    product = ProductFactory()
    LicenseFactory(product=product, tier=License.Tier.PREMIUM)
    assert refused(LicenseFactory, product=product, tier=License.Tier.PREMIUM)
    assert not refused(LicenseFactory, product=product, tier=License.Tier.BASIC)


def test_course_is_past_and_bookable():
    now = timezone.now()
    upcoming = CourseFactory(starts_at=now + dt.timedelta(hours=1), ends_at=now + dt.timedelta(hours=3))
    started = CourseFactory(starts_at=now - dt.timedelta(minutes=1), ends_at=now + dt.timedelta(hours=1))
    hidden = CourseFactory(published=False)
    assert not upcoming.is_past
    assert upcoming.is_bookable
    assert started.is_past
    assert not started.is_bookable
    assert not hidden.is_bookable


def test_product_ships_only_when_physical():
    assert PhysicalProductFactory().ships
    assert not ProductFactory().ships

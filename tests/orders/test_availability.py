"""Catalog reads: what is published, seats left, search, and what products offer."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from bookdesk.catalog.models import License
from bookdesk.catalog.selectors import service_get, service_list
from bookdesk.errors import NotFound
from bookdesk.orders.availability import course_get, course_list, license_available, product_get, product_list
from factories import BeatFactory, CourseFactory, LicenseFactory, ResourceFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def test_course_list_shows_published_courses_by_start_with_seats_left():
    now = timezone.now()
    later = CourseFactory(starts_at=now + dt.timedelta(days=9), ends_at=now + dt.timedelta(days=9, hours=2))
    sooner = CourseFactory(
        starts_at=now + dt.timedelta(days=2), ends_at=now + dt.timedelta(days=2, hours=2), capacity=4
    )
    CourseFactory(published=False)

    courses = list(course_list())

    assert courses == [sooner, later]
    assert [course.seats_left for course in courses] == [4, 10]


def test_course_list_upcoming_filters_by_start():
    now = timezone.now()
    past = CourseFactory(starts_at=now - dt.timedelta(days=3), ends_at=now - dt.timedelta(days=3, hours=-2))
    future = CourseFactory(starts_at=now + dt.timedelta(days=3), ends_at=now + dt.timedelta(days=3, hours=2))

    assert list(course_list(upcoming=True)) == [future]
    assert list(course_list(upcoming=False)) == [past]
    assert list(course_list(upcoming=None)) == [past, future]


def test_course_list_searches_title_description_and_location_ignoring_case():
    by_title = CourseFactory(title="Advanced MIXING")
    by_description = CourseFactory(description="We mix a live band.")
    by_location = CourseFactory(location="Mixhaus Berlin")
    CourseFactory(title="Drums", description="Groove", location="Studio B")

    assert set(course_list(q="mix")) == {by_title, by_description, by_location}
    assert set(course_list(q="  berlin ")) == {by_location}
    assert course_list(q="").count() == 4


def test_course_get_by_id_or_slug_and_not_found():
    course = CourseFactory(slug="synths")
    hidden = CourseFactory(published=False)

    assert course_get(course_id=course.pk).seats_left == course.capacity
    assert course_get(slug="synths") == course
    with pytest.raises(NotFound, match=r"Course not found\."):
        course_get(course_id=hidden.pk)
    with pytest.raises(NotFound):
        course_get(slug="nope")


def test_services_list_published_with_active_resources():
    room, retired = ResourceFactory(name="Room"), ResourceFactory(name="Retired", active=False)
    service = ServiceFactory(resources=[room, retired])
    hidden = ServiceFactory(published=False)

    assert list(service_list()) == [service]
    assert list(service_list()[0].resources.all()) == [room]
    with pytest.raises(NotFound, match=r"Service not found\."):
        service_get(service_id=hidden.pk)


def test_products_list_only_active_licenses_cheapest_first():
    beat = BeatFactory()
    beat.licenses.filter(tier=License.Tier.PREMIUM).update(active=False)
    BeatFactory(published=False)

    (product,) = product_list()

    assert product == beat
    assert [license.tier for license in product.licenses.all()] == ["basic", "exclusive"]
    assert all(license_available(product, license) for license in product.licenses.all())
    assert product_get(product_id=beat.pk) == beat


def test_product_get_unknown_is_not_found():
    hidden = LicenseFactory(product__published=False).product
    with pytest.raises(NotFound, match=r"Product not found\."):
        product_get(product_id=hidden.pk)

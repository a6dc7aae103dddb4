"""The operators' catalog admin renders for a superuser."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bookdesk.catalog.models import Course
from factories import BeatFactory, CourseFactory, OpeningHoursFactory, PhysicalProductFactory, ServiceFactory

pytestmark = pytest.mark.django_db

MODELS = ["course", "resource", "service", "product"]


@pytest.fixture
def catalog():  # type: ignore[no-untyped-def]
    hours = OpeningHoursFactory()
    return {
        "course": CourseFactory(),
        "resource": hours.resource,
        "service": ServiceFactory(resources=[hours.resource]),
        "product": BeatFactory(),
        "physical": PhysicalProductFactory(),
    }


@pytest.mark.parametrize("model", MODELS)
def test_changelist_renders_with_money_formatted(admin_client, catalog, model):
    response = admin_client.get(reverse(f"admin:catalog_{model}_changelist"))
    assert response.status_code == 200
    if model in {"course", "service", "product"}:
        assert "€" in response.content.decode()


@pytest.mark.parametrize("model", MODELS)
def test_add_page_renders(admin_client, model):
    assert admin_client.get(reverse(f"admin:catalog_{model}_add")).status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_change_page_renders(admin_client, catalog, model):
    obj = catalog[model]
    assert admin_client.get(reverse(f"admin:catalog_{model}_change", args=[obj.pk])).status_code == 200


def test_course_changelist_search_and_date_hierarchy(admin_client, catalog):
    course = catalog["course"]
    url = reverse("admin:catalog_course_changelist")
    response = admin_client.get(url, {"q": course.title, "starts_at__year": course.starts_at.year})
    assert response.status_code == 200
    assert course.title in response.content.decode()


def test_admin_form_reports_a_broken_rule_instead_of_failing(admin_client):
    response = admin_client.post(
        reverse("admin:catalog_course_add"),
        {
            "title": "Backwards",
            "slug": "backwards",
            "description": "",
            "starts_at_0": "2027-05-01",
            "starts_at_1": "18:00",
            "ends_at_0": "2027-05-01",
            "ends_at_1": "17:00",
            "location": "",
            "capacity": "5",
            "price_amount": "10.00",
            "currency": "eur",
            "published": "on",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "A course must end after it starts." in response.content.decode()
    assert not Course.objects.filter(slug="backwards").exists()

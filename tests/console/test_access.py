"""Who may open each console page and take each action: anonymous → sign-in page, a customer → 403, staff
without the console's permission → 403, an operator and a superuser → the page; each action needs its own
permission on top (a staff member who may only look gets 403 and nothing changes)."""

from __future__ import annotations

import pytest
from django.test import Client

from bookdesk.orders.models import AuditEntry, Booking

from .conftest import course_today, seat_order

pytestmark = pytest.mark.django_db

PAGES = [
    "/console/",
    "/console/calendar",
    "/console/attention",
    "/console/shipping",
    "/console/sales",
    "/console/health",
]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("path", PAGES)
def test_customers_and_staff_without_the_permission_get_403(customer: Client, bare_staff: Client, path: str) -> None:
    for who in (customer, bare_staff):
        response = who.get(path)
        assert response.status_code == 403
        assert b"for the shop&#x27;s staff" in response.content or b"for the shop's staff" in response.content
        assert response["X-Robots-Tag"].startswith("noindex")


@pytest.mark.parametrize("path", PAGES)
def test_operators_and_superusers_see_every_page(
    operator: Client, superuser: Client, viewer: Client, path: str
) -> None:
    for who in (operator, superuser, viewer):
        response = who.get(path)
        assert response.status_code == 200, response.content[:500]
        assert "no-store" in response["Cache-Control"]


def test_the_roster_and_its_csv_need_the_console(client: Client, customer: Client, operator: Client) -> None:
    course = course_today()
    for suffix in ("", "?format=csv"):
        assert client.get(f"/console/courses/{course.pk}/roster{suffix}").status_code == 302
        assert customer.get(f"/console/courses/{course.pk}/roster{suffix}").status_code == 403
        assert operator.get(f"/console/courses/{course.pk}/roster{suffix}").status_code == 200


def test_an_action_needs_its_own_permission_and_changes_nothing_without_it(
    client: Client, customer: Client, viewer: Client, operator: Client
) -> None:
    course = course_today()
    booking = Booking.objects.get(line__order=seat_order(course))
    url = f"/console/courses/{course.pk}/roster/{booking.pk}/check-in"
    assert client.post(url, {"checked_in": "1"}).status_code == 302
    assert customer.post(url, {"checked_in": "1"}).status_code == 403
    assert viewer.post(url, {"checked_in": "1"}).status_code == 403
    booking.refresh_from_db()
    assert booking.checked_in_at is None
    assert not AuditEntry.objects.filter(action="booking.checked_in").exists()
    assert operator.get(url).status_code == 405
    assert operator.post(url, {"checked_in": "1"}).status_code == 302
    booking.refresh_from_db()
    assert booking.checked_in_at is not None


@pytest.mark.parametrize(
    "path",
    [
        "/console/attention/events/1/replay",
        "/console/attention/emails/1/retry",
        "/console/attention/orders/1/refund",
        "/console/attention/orders/1/resolve",
        "/console/shipping/1/ship",
        "/console/shipping/1/deliver",
    ],
)
def test_attention_actions_refuse_customers_and_lookers(customer: Client, viewer: Client, path: str) -> None:
    assert customer.post(path).status_code == 403
    assert viewer.post(path).status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/console/attention/events/999999/replay",
        "/console/attention/emails/999999/retry",
        "/console/attention/orders/999999/refund",
        "/console/attention/orders/999999/resolve",
        "/console/courses/999999/roster/1/check-in",
        "/console/shipping/999999/ship",
        "/console/shipping/999999/deliver",
    ],
)
def test_actions_on_unknown_ids_are_404_pages(operator: Client, path: str) -> None:
    response = operator.post(path, {"note": "x"})
    assert response.status_code == 404
    assert b"No such" in response.content


def test_unknown_and_absurd_ids_are_404_pages(operator: Client) -> None:
    for path in (
        "/console/courses/999999/roster",
        "/console/courses/999999/roster?format=csv",
        "/console/courses/99999999999999999999999/roster",
        "/console/calendar?resource=999999",
        "/console/calendar?resource=abc",
        "/console/shipping/999999/packing-slip",
    ):
        response = operator.get(path)
        assert response.status_code == 404, path
        assert b"No such" in response.content


def test_numbers_that_are_digits_only_to_unicode_are_no_numbers(operator: Client) -> None:
    """ "²" and "١٢" are digits to `str.isdigit` and no number to `int`: a page, a count or an id they stand in
    for is the default, or no such thing (they were a 500)."""
    course = course_today()
    for raw in ("²", "١٢"):
        assert operator.get(f"/console/courses/{course.pk}/roster", {"page": raw}).status_code == 200
        assert operator.get("/console/", {"days": raw}).status_code == 200
        assert operator.get("/console/shipping", {"page": raw}).status_code == 200
        assert operator.get("/console/calendar", {"resource": raw}).status_code == 404

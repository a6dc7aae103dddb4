"""Whatever an operator's browser sends the console — any query string to any page, any form to any action, any
id in the path — the answer is a page, a download, a redirect with a message, or the 404 page: never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factories import PhysicalProductFactory

from .conftest import course_today, goods_shipment, seat_order

pytestmark = pytest.mark.django_db

FIELDS = ["from", "days", "resource", "week", "page", "q", "format", "by", "to", "currency"]
VALUES = (
    st.text(max_size=30)
    | st.integers().map(str)
    | st.sampled_from(["csv", "2026-13-01", "2026-W54", "0", "-1", "99999999999999999999", "²", "١٢", "month", "week"])
)
FORM_FIELDS = ["carrier", "tracking_number", "checked_in", "note"]


@pytest.fixture
def shop(db: None) -> dict[str, int]:
    course = course_today(capacity=5)
    seat_order(course)
    return {"course": course.pk, "shipment": goods_shipment(PhysicalProductFactory(), paid_hours_ago=60).pk}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    page=st.sampled_from(
        ["/console/", "/console/calendar", "/console/attention", "/console/shipping", "/console/sales"]
    ),
    query=st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=5),
)
def test_whatever_a_console_page_is_asked_it_answers_with_a_page(
    operator: Client, shop: dict[str, int], page: str, query: dict[str, str]
) -> None:
    response = operator.get(page, query)
    assert response.status_code in (200, 400, 404), (page, query, response.status_code)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=4), known=st.booleans())
def test_whatever_a_roster_is_asked_it_answers_with_a_page(
    operator: Client, shop: dict[str, int], query: dict[str, str], known: bool
) -> None:
    course = shop["course"] if known else 999_999
    response = operator.get(f"/console/courses/{course}/roster", query)
    assert response.status_code in (200, 400, 404), (query, response.status_code)  # 400: a NUL byte, say


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    action=st.sampled_from(["ship", "deliver"]),
    form=st.dictionaries(st.sampled_from(FORM_FIELDS), VALUES, max_size=4),
    known=st.booleans(),
)
def test_whatever_a_shipping_form_sends_it_is_answered_plainly(
    operator: Client, shop: dict[str, int], action: str, form: dict[str, Any], known: bool
) -> None:
    shipment = shop["shipment"] if known else 999_999
    response = operator.post(f"/console/shipping/{shipment}/{action}", form)
    assert response.status_code in (302, 400, 404), (action, form, response.status_code)
    if response.status_code == 302:
        assert response["Location"] == f"/console/shipping#shipment-{shipment}"

"""What each console page shows, and that each page costs the same number of queries with one row or many."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from bookdesk.bookings import agenda as agenda_module
from bookdesk.catalog.selectors import business_today
from bookdesk.orders.models import Order, OrderStatus, Shipment, ShipmentStatus
from bookdesk.payments.models import Payment
from factories import PhysicalProductFactory

from .conftest import fill_shop, goods_shipment

pytestmark = pytest.mark.django_db


def _text(response: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_the_agenda_shows_today_s_course_with_its_seats_and_tomorrow_s_sessions(operator: Client) -> None:
    shop = fill_shop(2)
    response = operator.get("/console/")
    assert response.status_code == 200
    text = _text(response)
    assert "Europe/Berlin" in text
    course = shop["course"]
    # 2 confirmed, 1 held of 7 seats: 4 free.
    assert re.search(rf"{re.escape(course.title)} .*? 2 / 7 1 4 Roster", text), text[:2000]
    session = shop["sessions"][0]
    assert session.code in text
    assert f"/admin/orders/order/{session.pk}/change/" in response.content.decode()
    assert f"/console/courses/{course.pk}/roster" in response.content.decode()


def test_a_busy_day_lists_its_first_sessions_and_counts_the_rest(operator: Client, monkeypatch: Any) -> None:
    monkeypatch.setattr(agenda_module, "SESSIONS_PER_DAY", 2)
    shop = fill_shop(5)  # five studio sessions tomorrow, 9:00 to 13:00

    response = operator.get("/console/")

    html = response.content.decode()
    first = min(shop["sessions"], key=lambda order: order.lines.get().reservation.starts_at)
    assert first.code in html
    assert sum(order.code in html for order in shop["sessions"]) == 2
    assert 'data-more-sessions="3"' in html
    assert "And 3 more studio sessions this day" in _text(response)


def test_the_agenda_explains_a_bad_date_and_shows_today(operator: Client) -> None:
    for raw in ("tomorrow", "2026-13-01", "1900-01-01"):
        response = operator.get(f"/console/?from={raw}")
        assert response.status_code == 400
        assert "Showing today" in _text(response)


def test_the_calendar_shows_opening_hours_bookings_holds_and_free_time(operator: Client) -> None:
    shop = fill_shop(2)
    resource = shop["service"].resources.get()
    day = shop["day"]
    week = f"{day.isocalendar()[0]}-W{day.isocalendar()[1]:02d}"
    response = operator.get(f"/console/calendar?resource={resource.pk}&week={week}")
    assert response.status_code == 200
    html = response.content.decode()
    text = _text(response)
    assert "Open 09:00–18:00" in text
    assert html.count("block block-booked") == 2
    assert "block block-free" in html
    assert "Europe/Berlin" in text
    for session in shop["sessions"]:
        assert f"/admin/orders/order/{session.pk}/change/" in html
    assert "Previous week" in text
    assert "Next week" in text


def test_the_calendar_explains_a_bad_week(operator: Client) -> None:
    for raw in ("2026-W60", "next", "1990-W01"):
        response = operator.get(f"/console/calendar?week={raw}")
        assert response.status_code == 400
        assert "Showing this week" in _text(response)


def test_the_roster_lists_attendees_with_paid_amounts(operator: Client) -> None:
    shop = fill_shop(3)
    response = operator.get(f"/console/courses/{shop['course'].pk}/roster")
    text = _text(response)
    assert response.status_code == 200
    for order in shop["orders"]:
        assert order.email in text
    assert "€99.00" in text
    assert "Awaiting payment" in text


def test_sales_explains_bad_ranges(operator: Client) -> None:
    for query in (
        "by=year",
        "from=2026-02-30",
        "from=2026-12-01&to=2026-11-01",
        "from=1999-01-01",
        "by=day&from=2020-01-01",
    ):
        response = operator.get(f"/console/sales?{query}")
        assert response.status_code == 400, query
        assert "Showing the last 30 days" in _text(response)


def test_attention_lists_goods_waiting_to_ship_longer_than_the_set_time(operator: Client, settings: Any) -> None:
    settings.SHIP_WITHIN_HOURS = 48
    vinyl = PhysicalProductFactory()
    late = goods_shipment(vinyl, paid_hours_ago=50)
    fresh = goods_shipment(vinyl, paid_hours_ago=47)
    shipped = goods_shipment(vinyl, paid_hours_ago=60)
    Shipment.objects.filter(pk=shipped.pk).update(status=ShipmentStatus.SHIPPED, tracking_number="00340434")
    cancelled = goods_shipment(vinyl, paid_hours_ago=60, status=OrderStatus.REFUNDED)

    response = operator.get("/console/attention")

    html = response.content.decode()
    section = html[html.index('id="to-ship"') :]
    assert f'id="shipment-{late.pk}"' in section
    assert late.order.code in section
    assert f"/console/shipping#shipment-{late.pk}" in section
    assert f"/admin/orders/order/{late.order_id}/change/" in section
    assert "Waiting 2 d 2 h" in _text(response)
    for waiting in (fresh, shipped, cancelled):
        assert f'id="shipment-{waiting.pk}"' not in section
        assert waiting.order.code not in section
    # A shorter promise makes the fresh one late too.
    settings.SHIP_WITHIN_HOURS = 24
    assert f'id="shipment-{fresh.pk}"' in operator.get("/console/attention").content.decode()


def test_health_flags_no_worker(operator: Client) -> None:
    assert "No worker is running" in _text(operator.get("/console/health"))


# --- a fixed number of queries, whatever the data ---------------------------------------------------------

# Every page: the session, the user, the user's own and group permissions, the header's cart count (5);
# then the page's own reads.
OVERHEAD = 5
PAGE_QUERIES = {
    # The courses, their seats (counted by id: see `agenda._seat_counts`), the sessions ranked per day, the kept
    # sessions' details (ranking on the reservations alone, then reading twenty a day, beats one joined query).
    "agenda": OVERHEAD + 4,
    "calendar": OVERHEAD + 3,
    # The course, its counts, a page of its seats, in a savepoint and its release, planned for their values on
    # PostgreSQL (SET LOCAL).
    "roster": OVERHEAD + 2 + 3 + (connection.vendor == "postgresql"),
    "attention": OVERHEAD + 5,
    # Both lists' counts and rows, and the goods of the orders shown.
    "shipping": OVERHEAD + 5,
    # The roll-up brought up to date (a savepoint and its release, the state row, the rows written lately, the state
    # saved; the shop's payments were written again, so their days are summed again: a delete and an INSERT … SELECT
    # per table), then
    # five reads of it in a savepoint, planned for their values on PostgreSQL (SET LOCAL). With nothing changed
    # the refresh is 3 queries (tests/console/test_sales_rollup.py).
    "sales": OVERHEAD + 2 + 3 + 6 + 2 + 5 + (connection.vendor == "postgresql"),
    "health": OVERHEAD + 5,
}


def _paths(shop: dict[str, Any]) -> dict[str, str]:
    resource = shop["service"].resources.get()
    day = shop["day"]
    week = f"{day.isocalendar()[0]}-W{day.isocalendar()[1]:02d}"
    return {
        "agenda": "/console/",
        "calendar": f"/console/calendar?resource={resource.pk}&week={week}",
        "roster": f"/console/courses/{shop['course'].pk}/roster",
        "attention": "/console/attention",
        "shipping": "/console/shipping",
        "sales": f"/console/sales?from={business_today().replace(day=1).isoformat()}",
        "health": "/console/health",
    }


@pytest.mark.parametrize("rows", [1, 12])
@pytest.mark.parametrize("page", list(PAGE_QUERIES))
def test_each_page_takes_a_fixed_number_of_queries(
    operator: Client, django_assert_num_queries: Any, rows: int, page: str
) -> None:
    path = _paths(fill_shop(rows))[page]
    if page == "sales":
        operator.get(path)  # the first view sums every day into the roll-up
        Payment.objects.update(updated_at=timezone.now())  # every payment's day changes: summed again, in 6 queries
    with django_assert_num_queries(PAGE_QUERIES[page]):
        response = operator.get(path)
    assert response.status_code == 200
    assert Order.objects.count() >= rows

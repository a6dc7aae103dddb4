"""GET /api/bookings: one list of the caller's seats, slots and licenses, filtered, paged, in fixed queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookdesk.bookings.filters import BookingFilters, BookingStatusFilter
from bookdesk.bookings.selectors import booking_page
from bookdesk.catalog.models import Course, License
from bookdesk.orders.models import HoldStatus, Order
from factories import BeatFactory, CourseFactory, confirm, login_token, place, signed_in, slot, studio
from problems import assert_problem

from .conftest import course_item, expire, fail, license_item, refund, slot_item

pytestmark = pytest.mark.django_db


def get(client: Client, token: str | None = None, **params: Any) -> Any:
    headers = {"X-Session-Token": token} if token else {}
    return client.get("/api/bookings", params, headers=headers)


def listed(response: Any) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.content
    return [(item["kind"], item["title"]) for item in response.json()["items"]]


@pytest.fixture
def mixed(ada: Any, beat: Any) -> dict[str, Order]:
    """Ada's three orders, placed in this order: a confirmed course, a pending studio slot, a confirmed license."""
    service, day = studio(days_ahead=5)
    course = CourseFactory(title="Mixing basics", location="Studio A, Berlin")
    return {
        "course": confirm(place(ada, course_item(course))),
        "slot": place(ada, slot_item(service, slot(day, 10))),
        "license": confirm(place(ada, license_item(beat, License.Tier.PREMIUM))),
    }


def test_the_list_carries_what_the_page_needs(ada: Any, mixed: dict[str, Order]) -> None:
    response = get(Client(), login_token(ada.email))

    body = response.json()
    assert (body["page"], body["pages"], body["total"]) == (1, 1, 3)
    license_, slot_, course = body["items"]  # newest first
    assert license_["kind"] == "product"
    assert license_["title"] == "Night Drive"
    assert (license_["license"], license_["license_tier"], license_["exclusive"]) == ("Premium lease", "premium", False)
    assert license_["starts_at"] is None
    assert license_["ends_at"] is None
    assert license_["status"] == "confirmed"
    assert license_["download_url"].startswith("http")
    assert "/downloads/" in license_["download_url"]
    assert license_["calendar_url"] is None
    # A license is refundable within its days while no file of it was downloaded (`payments.policy`).
    assert license_["can_cancel"] is True
    assert license_["cancel_refund"] == {"amount": 7999, "currency": "eur"}
    assert license_["amount"] == {"amount": 7999, "currency": "eur"}

    order = mixed["slot"]
    assert slot_["kind"] == "service"
    assert slot_["order"] == {
        "code": order.code,
        "status": "pending",
        "status_label": "Awaiting payment",
        "payment_status": None,
    }
    assert slot_["status"] == "held"
    assert slot_["resource"]
    assert slot_["location"] == slot_["resource"]
    assert slot_["can_retry_payment"] is True  # pending, its hold still live: it can be paid now
    assert slot_["calendar_url"] is None
    assert slot_["download_url"] is None

    assert course["kind"] == "course"
    assert course["title"] == "Mixing basics"
    assert course["location"] == "Studio A, Berlin"
    assert course["starts_at"]
    assert course["ends_at"]
    assert course["calendar_url"].endswith(f"/orders/{mixed['course'].code}/calendar.ics")
    assert course["can_cancel"] is True  # a week ahead, beyond the 48-hour cutoff
    assert course["cancel_refund"] == {"amount": mixed["course"].total_amount, "currency": "eur"}
    assert course["can_retry_payment"] is False


def test_a_browser_session_works_too(ada: Any, mixed: dict[str, Order]) -> None:
    assert len(listed(get(signed_in(ada)))) == 3


def test_filters(ada: Any, beat: Any) -> None:
    service, day = studio(days_ahead=5)
    confirm(place(ada, course_item(CourseFactory(title="Future course"))))
    fail(place(ada, slot_item(service, slot(day, 10))))
    refund(confirm(place(ada, license_item(beat))))
    started = CourseFactory(title="Started course")
    confirm(place(ada, course_item(started)))
    Course.objects.filter(pk=started.pk).update(starts_at=timezone.now() - dt.timedelta(hours=1))  # since booked
    client, token = Client(), login_token(ada.email)

    assert listed(get(client, token, status="confirmed")) == [("course", "Started course"), ("course", "Future course")]
    assert listed(get(client, token, status="released")) == [("service", service.name)]
    assert listed(get(client, token, status="cancelled")) == [("product", "Night Drive")]
    assert len(listed(get(client, token, status="active"))) == 2
    assert len(listed(get(client, token, status="inactive"))) == 2
    assert listed(get(client, token, kind="product")) == [("product", "Night Drive")]
    assert listed(get(client, token, kind="service")) == [("service", service.name)]
    # Upcoming: dated items in the future; not upcoming: started ones and licenses (they have no date).
    assert listed(get(client, token, upcoming="true")) == [("service", service.name), ("course", "Future course")]
    assert listed(get(client, token, upcoming="false")) == [("course", "Started course"), ("product", "Night Drive")]
    assert listed(get(client, token, upcoming="true", kind="product")) == []
    assert listed(get(client, token, upcoming="false", kind="course", status="confirmed")) == [
        ("course", "Started course")
    ]


def test_paging_walks_the_whole_list_once(ada: Any) -> None:
    for n in range(5):
        confirm(place(ada, course_item(CourseFactory(title=f"Course {n}"))))
    client, token = Client(), login_token(ada.email)

    pages = [get(client, token, page=n, page_size=2).json() for n in (1, 2, 3, 4)]

    assert [(p["page"], p["pages"], p["total"], len(p["items"])) for p in pages] == [
        (1, 3, 5, 2),
        (2, 3, 5, 2),
        (3, 3, 5, 1),
        (4, 3, 5, 0),  # beyond the end: empty, not an error
    ]
    titles = [item["title"] for p in pages for item in p["items"]]
    assert titles == [f"Course {n}" for n in (4, 3, 2, 1, 0)]
    far = get(client, token, page=6195553327404307456, page_size=20).json()  # no OFFSET overflow
    assert (far["items"], far["total"], far["pages"]) == ([], 5, 1)


def test_another_customers_items_never_appear(ada: Any, bob: Any, mixed: dict[str, Order], beat: Any) -> None:
    confirm(place(bob, course_item(CourseFactory(title="Bob's course"))))
    fail(place(bob, license_item(beat, License.Tier.BASIC)))
    client, token = Client(), login_token(bob.email)

    assert listed(get(client, token)) == [("product", "Night Drive"), ("course", "Bob's course")]
    for params in ({"status": "confirmed"}, {"kind": "course"}, {"upcoming": "false"}, {"page_size": 100}):
        codes = {item["order"]["code"] for item in get(client, token, **params).json()["items"]}
        assert not codes & {order.code for order in mixed.values()}


def test_sign_in_is_required() -> None:
    assert_problem(Client().get("/api/bookings"), status=401, code="not_authenticated")
    assert_problem(get(Client(), "not-a-token"), status=401, code="not_authenticated")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "paid"}, "status"),
        ({"kind": "beat"}, "kind"),
        ({"upcoming": "soon"}, "upcoming"),
        ({"page": "0"}, "page"),
        ({"page_size": "101"}, "page_size"),
    ],
)
def test_bad_filters_are_problems(ada: Any, params: dict[str, str], field: str) -> None:
    body = assert_problem(get(signed_in(ada), **params), status=422, code="invalid")
    assert [(error["field"], error["in"]) for error in body["errors"]] == [(field, "query")]


# --- next steps ----------------------------------------------------------------------------------


def flags(client: Client, kind: str) -> list[tuple[str, bool]]:
    return [(i["title"], i["can_retry_payment"]) for i in client.get("/api/bookings", {"kind": kind}).json()["items"]]


def test_a_failed_payment_can_be_retried_only_while_what_it_held_is_free(ada: Any, bob: Any) -> None:
    roomy, full = CourseFactory(title="Roomy", capacity=5), CourseFactory(title="Full", capacity=1)
    fail(place(ada, course_item(roomy)))
    fail(place(ada, course_item(full)))
    confirm(place(bob, course_item(full)))  # Bob took the only seat meanwhile
    started = CourseFactory(title="Started")
    fail(place(ada, course_item(started)))
    Course.objects.filter(pk=started.pk).update(starts_at=timezone.now())

    assert flags(signed_in(ada), "course") == [("Started", False), ("Full", False), ("Roomy", True)]


def test_a_failed_slot_or_license_is_retryable_while_free(ada: Any, bob: Any) -> None:
    service, day = studio(days_ahead=4)
    fail(place(ada, slot_item(service, slot(day, 10))))
    fail(place(ada, slot_item(service, slot(day, 14))))
    confirm(place(bob, slot_item(service, slot(day, 14))))
    exclusive_gone, free = BeatFactory(title="Sold beat"), BeatFactory(title="Free beat")
    fail(place(ada, license_item(exclusive_gone, License.Tier.BASIC)))
    fail(place(ada, license_item(free, License.Tier.EXCLUSIVE)))
    confirm(place(bob, license_item(exclusive_gone, License.Tier.EXCLUSIVE)))
    client = signed_in(ada)

    assert [retry for _, retry in flags(client, "service")] == [False, True]  # 14:00 taken, 10:00 free
    assert flags(client, "product") == [("Free beat", True), ("Sold beat", False)]


def test_an_expired_order_is_offered_a_retry_while_its_seat_is_free(ada: Any, bob: Any) -> None:
    expire(place(ada, course_item(CourseFactory(title="Expired"))))
    full = CourseFactory(title="Expired, full", capacity=1)
    expire(place(ada, course_item(full)))
    confirm(place(bob, course_item(full)))
    lapsed = place(ada, course_item(CourseFactory(title="Lapsed")))
    Order.objects.filter(pk=lapsed.pk).update(hold_expires_at=timezone.now() - dt.timedelta(minutes=1))

    assert flags(signed_in(ada), "course") == [("Lapsed", False), ("Expired, full", False), ("Expired", True)]


def test_cancel_is_offered_until_the_cutoff_before_the_first_start(ada: Any, beat: Any, settings: Any) -> None:
    settings.CANCELLATION_CUTOFF_HOURS = 48
    settings.CANCELLATION_REFUND_PERCENT = 50
    later = CourseFactory(title="Later", starts_at=timezone.now() + dt.timedelta(days=10))
    soon = CourseFactory(title="Soon", starts_at=timezone.now() + dt.timedelta(hours=47))
    confirm(place(ada, course_item(later)))
    confirm(place(ada, course_item(soon)))
    mixed = confirm(place(ada, course_item(CourseFactory(title="With a beat")), license_item(beat)))
    pending = place(ada, course_item(CourseFactory(title="Unpaid")))

    items = {i["title"]: i for i in signed_in(ada).get("/api/bookings").json()["items"]}

    assert items["Later"]["can_cancel"] is True
    assert items["Later"]["cancel_refund"]["amount"] == items["Later"]["amount"]["amount"] // 2
    deadline = dt.datetime.fromisoformat(items["Later"]["cancel_until"])
    assert abs(deadline - (later.starts_at - dt.timedelta(hours=48))) < dt.timedelta(seconds=1)
    assert items["Soon"]["can_cancel"] is False
    assert items["Soon"]["cancel_until"] is None
    assert items["Unpaid"]["can_cancel"] is False
    # Cancelling acts on the whole order: the license bought with a course goes with it.
    assert items["With a beat"]["can_cancel"] is True
    assert items["Night Drive"]["can_cancel"] is True
    assert items["Night Drive"]["order"]["code"] == mixed.code == items["With a beat"]["order"]["code"]
    assert pending.code == items["Unpaid"]["order"]["code"]


def test_a_refunded_booking_offers_nothing(ada: Any) -> None:
    refund(confirm(place(ada, course_item(CourseFactory()))))
    (item,) = signed_in(ada).get("/api/bookings").json()["items"]
    assert item["status"] == HoldStatus.CANCELLED
    assert item["order"]["status"] == "refunded"
    offered = {key: item[key] for key in ("can_cancel", "can_retry_payment", "calendar_url", "download_url")}
    assert offered == {"can_cancel": False, "can_retry_payment": False, "calendar_url": None, "download_url": None}


# --- queries -------------------------------------------------------------------------------------


@pytest.fixture
def many(ada: Any, bob: Any) -> None:
    """Fifty-odd items of Ada's in every state (and kind), with Bob's in between."""
    service, day = studio(days_ahead=6)
    for n in range(8):
        confirm(place(ada, course_item(CourseFactory()), license_item(BeatFactory())))
        fail(place(ada, course_item(CourseFactory()), slot_item(service, slot(day, 9 + n))))
        fail(place(ada, license_item(BeatFactory(), License.Tier.EXCLUSIVE)))
        confirm(place(ada, slot_item(service, slot(day + dt.timedelta(days=7), 9 + n))))
        expire(place(ada, course_item(CourseFactory())))
        place(ada, course_item(CourseFactory()), license_item(BeatFactory()))
        confirm(place(bob, course_item(CourseFactory())))


def count_queries(client: Client, **params: Any) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/bookings", params)
    assert response.status_code == 200
    return len(queries), len(response.json()["items"])


def test_a_page_takes_the_same_few_queries_whatever_it_holds(ada: Any, many: None) -> None:
    client = signed_in(ada)
    client.get("/api/bookings")  # warm up the session

    one = count_queries(client, page_size=1)
    fifty = count_queries(client, page_size=50)
    failed_only = count_queries(client, status="released", page_size=50)
    last = count_queries(client, page=2, page_size=50)

    assert [n for _, n in (one, fifty, failed_only, last)] == [1, 50, 32, 22]
    # Session and user (2) + keys and total, the orders' holds, and — as failed orders are on these pages —
    # what is taken of their courses, studios and products (3).
    assert fifty[0] == failed_only[0] == last[0] == 5
    assert one[0] <= 5


def test_the_selector_reads_a_page_in_at_most_three_queries(
    ada: Any, many: None, django_assert_max_num_queries: Any
) -> None:
    for size in (1, 50):
        with django_assert_max_num_queries(3):
            page = booking_page(user=ada, filters=BookingFilters(), page=1, page_size=size)
        assert len(page.items) == size
    confirmed = BookingFilters(status=BookingStatusFilter.CONFIRMED)
    with django_assert_max_num_queries(2):  # nothing to pay again: keys and total, holds
        assert len(booking_page(user=ada, filters=confirmed, page=1, page_size=50).items) == 24
    with django_assert_max_num_queries(2):  # beyond the end: no rows, so a separate count
        page = booking_page(user=ada, filters=BookingFilters(), page=9, page_size=50)
    assert (page.items, page.total, page.pages) == ([], 72, 2)

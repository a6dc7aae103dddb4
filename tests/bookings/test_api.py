"""GET /api/bookings: one list of the caller's seats, slots, licenses and goods, filtered, paged, in fixed queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookdesk.bookings.filters import BookingFilters, BookingKind, BookingStatusFilter
from bookdesk.bookings.selectors import booking_page, order_actions
from bookdesk.catalog.models import Course, License, Product
from bookdesk.orders.models import HoldStatus, Order
from bookdesk.orders.services import order_rehold
from bookdesk.orders.shipping import shipment_mark_shipped
from factories import (
    BeatFactory,
    CourseFactory,
    PhysicalProductFactory,
    confirm,
    login_token,
    place,
    signed_in,
    slot,
    studio,
)
from problems import assert_problem

from .conftest import TRACKING_NUMBER, course_item, expire, fail, goods_item, license_item, parcel, refund, slot_item

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


def test_another_customers_items_never_appear(
    ada: Any, bob: Any, mixed: dict[str, Order], beat: Any, vinyl: Product
) -> None:
    adas_goods = confirm(place(ada, goods_item(vinyl, 2)))
    parcel(adas_goods, shipped=True)
    confirm(place(bob, course_item(CourseFactory(title="Bob's course"))))
    fail(place(bob, license_item(beat, License.Tier.BASIC)))
    parcel(confirm(place(bob, goods_item(PhysicalProductFactory(title="Bob's shirt")))))
    client, token = Client(), login_token(bob.email)

    assert listed(get(client, token)) == [
        ("goods", "Bob's shirt"),
        ("product", "Night Drive"),
        ("course", "Bob's course"),
    ]
    filters = (
        {"status": "confirmed"},
        {"kind": "course"},
        {"kind": "goods"},
        {"upcoming": "false"},
        {"page_size": 100},
    )
    for params in filters:
        codes = {item["order"]["code"] for item in get(client, token, **params).json()["items"]}
        assert not codes & {order.code for order in [*mixed.values(), adas_goods]}
    assert TRACKING_NUMBER not in get(client, token).content.decode()


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


# --- goods ---------------------------------------------------------------------------------------


def test_goods_are_listed_with_their_quantity_and_parcel(ada: Any, vinyl: Product) -> None:
    waiting = confirm(place(ada, course_item(CourseFactory(title="Mixing basics")), goods_item(vinyl, 2)))
    parcel(waiting)
    sent = parcel(confirm(place(ada, goods_item(PhysicalProductFactory(title="Studio T-shirt")))), shipped=True)
    place(ada, goods_item(PhysicalProductFactory(title="Poster")))

    items = {item["title"]: item for item in get(signed_in(ada)).json()["items"]}

    record = items["Night Sessions LP"]
    assert (record["kind"], record["quantity"], record["status"]) == ("goods", 2, "confirmed")
    assert record["amount"] == {"amount": 5600, "currency": "eur"}
    assert record["order"]["code"] == waiting.code
    assert record["shipment"] == {
        "status": "to_ship",
        "status_label": "To ship",
        "carrier": None,
        "tracking_number": None,
        "tracking_url": None,
    }
    undated = ("starts_at", "ends_at", "location", "license", "download_url", "calendar_url")
    assert [record[key] for key in undated] == [None] * len(undated)
    assert record["can_cancel"] is True  # not shipped yet
    # The seat bought with it is no parcel: quantity and shipment are the goods' alone.
    seat = items["Mixing basics"]
    assert (seat["quantity"], seat["shipment"], seat["calendar_url"] is not None) == (None, None, True)

    shirt = items["Studio T-shirt"]
    assert shirt["quantity"] == 1
    assert shirt["shipment"] == {
        "status": "shipped",
        "status_label": "Shipped",
        "carrier": "dhl",
        "tracking_number": TRACKING_NUMBER,
        "tracking_url": sent.tracking_url,
    }
    assert sent.tracking_url.startswith("https://")
    assert TRACKING_NUMBER in sent.tracking_url
    assert (shirt["can_cancel"], shirt["cancel_refund"]) == (False, None)  # shipped: a return, not a cancel

    poster = items["Poster"]  # unpaid: no address yet, so no shipment; it can be paid now
    assert (poster["status"], poster["shipment"], poster["can_retry_payment"]) == ("held", None, True)


def test_goods_are_a_kind_of_their_own_and_never_upcoming(ada: Any, vinyl: Product) -> None:
    confirm(place(ada, course_item(CourseFactory(title="Future course"))))
    parcel(confirm(place(ada, goods_item(vinyl, 3))))
    fail(place(ada, goods_item(PhysicalProductFactory(title="Poster"))))
    client, token = Client(), login_token(ada.email)

    assert listed(get(client, token, kind="goods")) == [("goods", "Poster"), ("goods", "Night Sessions LP")]
    assert listed(get(client, token, kind="goods", status="released")) == [("goods", "Poster")]
    assert listed(get(client, token, kind="goods", status="confirmed")) == [("goods", "Night Sessions LP")]
    # Goods have no date: never upcoming, always among "everything else".
    assert listed(get(client, token, upcoming="true")) == [("course", "Future course")]
    assert listed(get(client, token, upcoming="false")) == [("goods", "Poster"), ("goods", "Night Sessions LP")]
    assert listed(get(client, token, upcoming="true", kind="goods")) == []


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


def test_failed_goods_are_offered_a_retry_only_while_their_stock_is_free(ada: Any, bob: Any) -> None:
    roomy, scarce, withdrawn = (PhysicalProductFactory(title=title, stock=3) for title in ("Roomy", "Scarce", "Gone"))
    orders = {
        "Roomy": fail(place(ada, goods_item(roomy, 2))),
        "Scarce": fail(place(ada, goods_item(scarce, 2))),
        "Gone": expire(place(ada, goods_item(withdrawn))),
    }
    confirm(place(bob, goods_item(roomy, 1)))  # 2 of 3 left: enough for Ada's 2
    place(bob, goods_item(scarce, 2))  # held by Bob's unpaid order: 1 of 3 left
    Product.objects.filter(pk=withdrawn.pk).update(published=False)

    assert flags(signed_in(ada), "goods") == [("Gone", False), ("Scarce", False), ("Roomy", True)]
    # The list's answer is what paying again does: take the units back, or refuse and change nothing.
    retaken = {title: order_rehold(order=order, actor=f"user:{ada.pk}") for title, order in orders.items()}
    assert retaken == {"Roomy": True, "Scarce": False, "Gone": False}


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


def test_cancelling_an_order_with_goods_gives_back_what_its_page_says(ada: Any, vinyl: Product, settings: Any) -> None:
    settings.CANCELLATION_REFUND_PERCENT = 50
    shirt = PhysicalProductFactory(title="Studio T-shirt", price_amount=2500)
    course = CourseFactory(title="Mixing basics", price_amount=9900)
    # €53 of goods, under the €60 of free shipping: the order pays for shipping.
    both = confirm(place(ada, course_item(course), goods_item(vinyl), goods_item(shirt)))
    shipment = parcel(both)
    alone = confirm(place(ada, goods_item(PhysicalProductFactory(title="Poster", price_amount=1500))))
    parcel(alone)
    assert both.shipping_amount > 0
    assert alone.shipping_amount > 0
    client = signed_in(ada)

    def compare(order: Order) -> int:
        """The list's terms of the order, line by line and whole, against its page's; the whole amount."""
        page = order_actions(order=order)
        listed_items = [
            item
            for item in booking_page(user=ada, filters=BookingFilters(), page=1, page_size=20).items
            if item.order.id == order.pk
        ]
        assert {item.actions.cancel_refund_amount for item in listed_items} == {page.cancel_refund_amount}
        by_line = {item["title"]: item for item in client.get("/api/bookings").json()["items"]}
        for item in listed_items:
            terms = page.line(item.line_id)
            expected = None if terms is None else {"amount": terms.total, "currency": "eur"}
            assert by_line[item.title]["cancel_refund"] == expected, item.title
        assert page.cancel_refund_amount is not None
        return page.cancel_refund_amount

    # Tax is included in the prices: each line brought in its price, the shipping the rest of the total.
    assert compare(both) == 9900 // 2 + 2800 + 2500 + both.shipping_amount
    goods = client.get("/api/bookings", {"kind": "goods"}).json()["items"]
    # Shipping goes back with the last goods line: neither of two, all of it with the order or a lone line.
    assert {item["title"]: item["cancel_refund"]["amount"] for item in goods} == {
        "Poster": 1500 + alone.shipping_amount,
        "Studio T-shirt": 2500,
        "Night Sessions LP": 2800,
    }
    assert compare(alone) == 1500 + alone.shipping_amount

    shipment_mark_shipped(shipment_id=shipment.pk, carrier="dhl", tracking_number=TRACKING_NUMBER, actor="staff:1")
    assert compare(both) == 9900 // 2  # the goods left: a return refunds them, the seat is still cancellable


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
    """Ninety-odd items of Ada's in every state (and kind), with Bob's in between."""
    service, day = studio(days_ahead=6)
    for n in range(8):
        confirm(place(ada, course_item(CourseFactory()), license_item(BeatFactory())))
        fail(place(ada, course_item(CourseFactory()), slot_item(service, slot(day, 9 + n))))
        fail(place(ada, license_item(BeatFactory(), License.Tier.EXCLUSIVE)))
        confirm(place(ada, slot_item(service, slot(day + dt.timedelta(days=7), 9 + n))))
        expire(place(ada, course_item(CourseFactory())))
        place(ada, course_item(CourseFactory()), license_item(BeatFactory()))
        parcel(
            confirm(place(ada, course_item(CourseFactory()), goods_item(PhysicalProductFactory(), 2))), shipped=n % 2
        )
        fail(place(ada, goods_item(PhysicalProductFactory())))
        confirm(place(bob, course_item(CourseFactory()), goods_item(PhysicalProductFactory())))


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

    assert [n for _, n in (one, fifty, failed_only, last)] == [1, 50, 40, 46]
    # Session and user (2) + keys and total, the orders' holds (with their shipments), and — as failed orders
    # are on these pages — what is taken of their courses, studios, products and goods (3).
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
        assert len(booking_page(user=ada, filters=confirmed, page=1, page_size=50).items) == 40
    goods = BookingFilters(kind=BookingKind.GOODS)
    with django_assert_max_num_queries(3):
        page = booking_page(user=ada, filters=goods, page=1, page_size=50)
    assert [item.kind for item in page.items] == [BookingKind.GOODS] * 16
    assert sum(item.shipment is not None and item.shipment.tracking_url is not None for item in page.items) == 4
    with django_assert_max_num_queries(2):  # beyond the end: no rows, so a separate count
        page = booking_page(user=ada, filters=BookingFilters(), page=9, page_size=50)
    assert (page.items, page.total, page.pages) == ([], 96, 2)

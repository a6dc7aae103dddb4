"""No crowd oversells: seats, studio slots and exclusive licenses, under real parallel requests.

Each guard is first shown to be needed: the same availability check without the lock, run by many
threads at once, approves more than there is. Then real requests, one thread each, go through the
live server (which answers in threads) to the sandbox, on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time, timedelta
from typing import Any

import pytest
import stripe
from django.db import connection
from django.utils import timezone

from bookdesk.catalog.models import OpeningHours
from bookdesk.catalog.selectors import business_time_zone, business_today
from bookdesk.errors import BookdeskError
from bookdesk.orders.models import ACTIVE_HOLD, Booking, Grant, HoldStatus, Order, OrderStatus, Reservation, StockHold
from bookdesk.orders.services import ItemRequest, plan_items
from bookdesk.payments.models import Payment
from factories import (
    BeatFactory,
    CourseFactory,
    OpeningHoursFactory,
    PhysicalProductFactory,
    ResourceFactory,
    ServiceFactory,
    login_token,
)
from payments.conftest import SECRET, deliver, pay, run_inbox, session_events

from .conftest import Crowd

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("stripe_sandbox")]


def unguarded_approvals(items: ItemRequest, buyers: int) -> int:
    """How many of `buyers` threads the availability check approves when nothing serialises them."""
    from bookdesk.accounts.services import user_ensure_verified

    users = [user_ensure_verified(email=f"naive{i}@example.com", password="x-passphrase-99")[0] for i in range(buyers)]
    barrier = threading.Barrier(buyers)

    def check(user: Any) -> bool:
        try:
            plan_items(user=user, items=[items], now=timezone.now(), lock=False)
            return True
        except BookdeskError:  # a refusal is what we count
            return False
        finally:
            barrier.wait(timeout=30)
            connection.close()

    with ThreadPoolExecutor(max_workers=buyers) as pool:
        return sum(pool.map(check, users))


def tokens(count: int, prefix: str) -> list[str]:
    return [login_token(f"{prefix}{i}@example.com") for i in range(count)]


def codes(responses: list[Any]) -> Counter[str]:
    return Counter("created" if r.status_code == 201 else r.json().get("code", str(r.status_code)) for r in responses)


def test_fifty_buyers_for_five_seats(crowd: Crowd) -> None:
    course = CourseFactory(capacity=5)
    # Without the lock, every one of the crowd sees a free seat at the same moment.
    assert unguarded_approvals(ItemRequest(kind="course", course_id=course.pk), buyers=20) == 20

    responses = crowd([(t, "/api/stripe/checkout", {"course_id": course.pk}) for t in tokens(50, "buyer")])

    assert codes(responses) == {"created": 5, "sold_out": 45}
    assert all(r.headers["Content-Type"] == "application/problem+json" for r in responses if r.status_code != 201)
    assert Booking.objects.filter(course=course, status__in=ACTIVE_HOLD).count() == 5
    assert Order.objects.count() == 5
    assert Payment.objects.filter(status=Payment.Status.OPEN).count() == 5
    assert len({r.json()["session_id"] for r in responses if r.status_code == 201}) == 5


def test_two_hundred_buyers_for_ten_seats_end_as_ten_paid_bookings(
    crowd: Crowd, stripe_client: stripe.StripeClient, settings: Any
) -> None:
    """DESIGN §8: exactly 10 paid bookings, 190 clean sold_out answers, no 5xx, no deadlock.

    50 at a time here (the live server's threads each hold a database connection); bench_checkout.py
    sends all 200 at once to the production server.
    """
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    course = CourseFactory(capacity=10)

    responses = crowd([(t, "/api/stripe/checkout", {"course_id": course.pk}) for t in tokens(200, "many")])

    assert codes(responses) == {"created": 10, "sold_out": 190}
    for answer in (r.json() for r in responses if r.status_code == 201):
        pay(stripe_client, answer["session_id"])
        for event in session_events(stripe_client, answer["session_id"]):
            assert deliver(event).status_code == 200
    run_inbox()
    assert Booking.objects.filter(course=course, status=HoldStatus.CONFIRMED).count() == 10
    assert Order.objects.filter(status=OrderStatus.CONFIRMED).count() == Order.objects.count() == 10


def _next_weekday_slot(hour: int) -> datetime:
    day = business_today() + timedelta(days=2)
    return datetime.combine(day, time(hour), tzinfo=business_time_zone())


def test_overlapping_slots_of_two_services_on_one_resource(crowd: Crowd) -> None:
    room = ResourceFactory()
    start = _next_weekday_slot(10)
    OpeningHoursFactory(resource=room, weekday=start.weekday(), opens_at=time(8), closes_at=time(20))
    hour = ServiceFactory(duration_minutes=60, resources=[room])
    two_hours = ServiceFactory(duration_minutes=120, resources=[room])
    assert OpeningHours.objects.filter(resource=room).count() == 1
    wanted = ItemRequest(kind="service", service_id=hour.pk, starts_at=start)
    assert unguarded_approvals(wanted, buyers=10) == 10

    # 10:00–11:00 of one service and 10:00–12:00 of the other, twelve buyers each.
    calls = [
        (token, "/api/cart/items", {"kind": "service", "service_id": service.pk, "starts_at": start.isoformat()})
        for service, batch in ((hour, tokens(12, "hour")), (two_hours, tokens(12, "long")))
        for token in batch
    ]
    assert codes(crowd(calls)) == {"created": 24}  # carts do not hold anything
    results = crowd([(token, "/api/checkout", {}) for token, _, _ in calls])

    assert codes(results) == {"created": 1, "slot_taken": 23}
    (reservation,) = Reservation.objects.filter(resource=room, status__in=ACTIVE_HOLD)
    assert reservation.starts_at == start


def test_two_buyers_of_one_exclusive_license(crowd: Crowd) -> None:
    beat = BeatFactory()
    exclusive = beat.licenses.get(exclusive=True)
    item = {"kind": "product", "product_id": beat.pk, "license_id": exclusive.pk}
    assert unguarded_approvals(ItemRequest(kind="product", product_id=beat.pk, license_id=exclusive.pk), 10) == 10

    buyers = tokens(16, "exclusive")
    assert codes(crowd([(t, "/api/cart/items", item) for t in buyers])) == {"created": 16}
    results = crowd([(t, "/api/checkout", {}) for t in buyers])

    assert codes(results) == {"created": 1, "sold_out": 15}
    assert Grant.objects.filter(product=beat, status__in=ACTIVE_HOLD).count() == 1


def test_exclusive_and_basic_licenses_at_once_never_both(crowd: Crowd) -> None:
    beat = BeatFactory()
    exclusive, basic = beat.licenses.get(exclusive=True), beat.licenses.get(tier="basic")
    buyers = tokens(10, "mixed")
    adds = [
        (t, "/api/cart/items", {"kind": "product", "product_id": beat.pk, "license_id": lic.pk})
        for t, lic in zip(buyers, [exclusive, basic] * 5, strict=True)
    ]
    assert codes(crowd(adds)) == {"created": 10}
    crowd([(t, "/api/checkout", {}) for t in buyers])

    held = list(Grant.objects.filter(product=beat, status__in=ACTIVE_HOLD).order_by("pk"))
    # The marketplace convention: leases bought before the exclusive stay; none is sold after it.
    exclusives = [grant.pk for grant in held if grant.exclusive]
    assert len(exclusives) <= 1
    assert all(grant.pk < exclusives[0] for grant in held if not grant.exclusive) if exclusives else True


def test_a_crowd_for_the_last_units_of_a_record_gets_exactly_the_stock(crowd: Crowd) -> None:
    """DESIGN §5.6 and §8: held + sold units never exceed the stock; the rest get a clean sold_out, no 5xx."""
    vinyl = PhysicalProductFactory(stock=7)
    wanted = ItemRequest(kind="product", product_id=vinyl.pk, quantity=1)
    # Without the product's row lock, every one of the crowd sees a unit left at the same moment.
    assert unguarded_approvals(wanted, buyers=12) == 12

    buyers = tokens(40, "vinyl")
    adds = [(t, "/api/cart/items", {"kind": "product", "product_id": vinyl.pk, "quantity": 1}) for t in buyers]
    assert codes(crowd(adds)) == {"created": 40}  # carts hold nothing
    results = crowd([(t, "/api/checkout", {}) for t in buyers])

    assert codes(results) == {"created": 7, "sold_out": 33}
    assert all(r.status_code < 500 for r in results)
    assert sum(StockHold.objects.filter(product=vinyl, status__in=ACTIVE_HOLD).values_list("quantity", flat=True)) == 7
    assert Order.objects.count() == 7

"""The hand-written SQL against the ORM's own rules: what `live_sql` counts is what `live_hold` counts."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from bookdesk.orders.capacity import lapsed_holders, live_hold, live_sql, seats_taken
from bookdesk.orders.models import Booking, HoldStatus, Order, OrderKind, OrderLine, OrderStatus
from bookdesk.orders.states import PAYABLE
from factories import CourseFactory, UserFactory

pytestmark = pytest.mark.django_db


def place_every_combination(course: Any, now: dt.datetime) -> list[Order]:
    """One order per (hold status, order status, lapsed or not), each holding a seat of `course`."""
    placed = []
    for hold, order, lapsed in itertools.product(HoldStatus.values, OrderStatus.values, (False, True)):
        buyer = UserFactory()
        placed.append(
            Order.objects.create(
                user=buyer,
                email=buyer.email,
                kind=OrderKind.COURSE_BOOKING,
                status=order,
                currency="eur",
                subtotal_amount=100,
                total_amount=100,
                hold_expires_at=now + (dt.timedelta(minutes=-5) if lapsed else dt.timedelta(minutes=5)),
            )
        )
        line = OrderLine.objects.create(
            order=placed[-1], kind="course", description="seat", unit_amount=100, total_amount=100, course=course
        )
        Booking.objects.create(line=line, course=course, user=buyer, status=hold)
    return placed


def test_live_sql_counts_exactly_what_live_hold_counts() -> None:
    now = timezone.now()
    place_every_combination(CourseFactory(slug="live"), now)

    by_orm = set(Booking.objects.filter(live_hold(now)).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.id FROM {Booking._meta.db_table} t JOIN {OrderLine._meta.db_table} tl ON tl.id = t.line_id "  # noqa: S608
            f"JOIN {Order._meta.db_table} tor ON tor.id = tl.order_id WHERE {live_sql('t', 'tor')}",
            [connection.ops.adapt_datetimefield_value(now)],
        )
        by_sql = {row[0] for row in cursor.fetchall()}

    assert by_sql == by_orm
    assert 0 < len(by_orm) < Booking.objects.count()


def test_seats_taken_counts_what_live_hold_counts_for_the_course_and_the_customer() -> None:
    now = timezone.now()
    course, elsewhere = CourseFactory(slug="counted"), CourseFactory(slug="elsewhere")
    orders = place_every_combination(course, now)
    place_every_combination(elsewhere, now)
    live = Booking.objects.filter(live_hold(now), course=course)
    ignored = next(order for order in orders if live.filter(line__order=order).exists())
    customer = next(order.user for order in orders if order != ignored and live.filter(user=order.user).exists())

    lapsed = Booking.objects.filter(
        course=course, status=HoldStatus.HELD, line__order__status__in=PAYABLE, line__order__hold_expires_at__lte=now
    )

    taken, mine, held_past_time = seats_taken(course_id=course.pk, user_id=customer.pk, now=now, ignoring=ignored.pk)

    assert taken == live.exclude(line__order=ignored).count()
    assert mine == live.filter(user=customer).count() == 1
    assert held_past_time == lapsed.count() == len(PAYABLE)  # the ignored order's would count too
    assert seats_taken(course_id=course.pk, user_id=None, now=now, ignoring=None) == (live.count(), 0, len(PAYABLE))


def test_lapsed_holders_are_the_unpaid_orders_past_their_hold_still_holding() -> None:
    now = timezone.now()
    course, elsewhere = CourseFactory(slug="contended"), CourseFactory(slug="not-contended")
    place_every_combination(course, now)
    place_every_combination(elsewhere, now)
    by_orm = set(
        Order.objects.filter(
            hold_expires_at__lte=now,
            status__in=PAYABLE,
            lines__booking__course=course,
            lines__booking__status=HoldStatus.HELD,
        ).values_list("pk", flat=True)
    )

    found = lapsed_holders(course_ids=[course.pk], resource_ids=[], product_ids=[], now=now)

    assert set(found) == by_orm
    assert len(by_orm) == len(PAYABLE)  # one per payable status: held and lapsed
    assert lapsed_holders(course_ids=[], resource_ids=[], product_ids=[], now=now) == []

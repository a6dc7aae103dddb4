"""The bookings list's SQL against the ORM's own rules: what `live_sql` counts is what `live_hold` counts."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from bookdesk.orders.models import Booking, HoldStatus, Order, OrderKind, OrderLine, OrderStatus
from bookdesk.orders.selectors import live_hold, live_sql
from factories import CourseFactory

pytestmark = pytest.mark.django_db


def test_live_sql_counts_exactly_what_live_hold_counts(ada: Any) -> None:
    now = timezone.now()
    for number, (hold, order, lapsed) in enumerate(
        itertools.product(HoldStatus.values, OrderStatus.values, (False, True))
    ):
        expires = now + (dt.timedelta(minutes=-5) if lapsed else dt.timedelta(minutes=5))
        placed = Order.objects.create(
            user=ada,
            email=ada.email,
            kind=OrderKind.COURSE_BOOKING,
            status=order,
            currency="eur",
            subtotal_amount=100,
            total_amount=100,
            hold_expires_at=expires,
        )
        course = CourseFactory(slug=f"live-{number}")
        line = OrderLine.objects.create(
            order=placed, kind="course", description="seat", unit_amount=100, total_amount=100, course=course
        )
        Booking.objects.create(line=line, course=course, user=ada, status=hold)

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

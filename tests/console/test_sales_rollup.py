"""The sales roll-up (`payments.sales_days`) against the plain version: sales summed in Python from every payment,
refund and order line, after payments, refunds, late payments and status changes spread over seven weeks, in
two currencies, by day, week and month; after a change to an old day; after the business's zone changed."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookdesk.bookings.sales import MONEY_IN, Grain, period_start, sales
from bookdesk.catalog.selectors import business_time_zone, business_today
from bookdesk.orders.models import Order, OrderLine, OrderStatus
from bookdesk.payments import sales_days
from bookdesk.payments.models import ItemsDay, Payment, Refund, SalesRollup
from bookdesk.payments.sales_days import ORDERS_PAID, REFUNDS_MADE, sales_days_refresh

from .conftest import course_today, local, seat_order

pytestmark = pytest.mark.django_db

DAYS = 49


def item_number(line: OrderLine) -> int:
    if line.course_id:
        return line.course_id * 4
    if line.service_id:
        return line.service_id * 4 + 1
    if line.license_id:
        return line.license_id * 4 + 2
    assert line.product_id
    return line.product_id * 4 + 3


def plain_sales(grain: Grain, first: dt.date, last: dt.date, currency: str) -> dict[str, Any]:
    """What the sales page must show, from the source rows one by one (no SQL sums, no roll-up)."""
    zone = business_time_zone()
    periods: dict[dt.date, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def period_of(moment: dt.datetime) -> dt.date | None:
        day = moment.astimezone(zone).date()
        return period_start(day, grain) if first <= day <= last else None

    for payment in Payment.objects.filter(currency=currency):
        if (start := period_of(payment.created_at)) is None:
            continue
        numbers = periods[start]
        if payment.status in MONEY_IN:
            numbers["revenue"] += payment.amount_received
            numbers["paid"] += 1
        if payment.status == Payment.Status.PAID:
            numbers["orders"] += 1
            numbers["order_money"] += payment.amount_received
        numbers["failed"] += payment.status == Payment.Status.FAILED
        numbers["abandoned"] += payment.status == Payment.Status.EXPIRED
    for refund in Refund.objects.filter(currency=currency, status__in=REFUNDS_MADE):
        if (start := period_of(refund.created_at)) is not None:
            periods[start]["refunds"] += refund.amount
    items: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for line in OrderLine.objects.filter(order__currency=currency, order__status__in=ORDERS_PAID).select_related(
        "order"
    ):
        if period_of(line.order.created_at) is not None:
            items[item_number(line)][0] += line.quantity
            items[item_number(line)][1] += line.total_amount
    ranked = sorted(items.items(), key=lambda item: (-item[1][1], item[0]))
    return {
        "periods": {
            start: {name: value for name, value in numbers.items() if value}
            for start, numbers in periods.items()
            if any(numbers.values())
        },
        "top": [(quantity, revenue) for _, (quantity, revenue) in ranked[:10]],
    }


def rolled_up(grain: Grain, first: dt.date, last: dt.date, currency: str) -> dict[str, Any]:
    found = sales(grain=grain, first=first, last=last, currency=currency)
    assert found.currency == currency
    names = ("revenue", "refunds", "orders", "order_money", "paid", "failed", "abandoned")
    periods = {}
    for period in found.periods:
        numbers = {name: getattr(period, name) for name in names if getattr(period, name)}
        if numbers:
            periods[period.start] = numbers
    return {"periods": periods, "top": [(item.quantity, item.revenue) for item in found.top_items]}


def assert_agree() -> None:
    today = business_today()
    first = today - dt.timedelta(days=DAYS)
    for grain in Grain:
        for currency in ("eur", "usd"):
            assert rolled_up(grain, first, today, currency) == plain_sales(grain, first, today, currency), (
                grain,
                currency,
            )


def spread_shop(rng: random.Random, orders: int) -> list[Payment]:
    """Orders on random days of the last seven weeks, with one or two payments each of any status, and refunds."""
    today = business_today()
    course = course_today(capacity=orders * 2)
    payments = []
    for n in range(orders):
        status = rng.choice([OrderStatus.CONFIRMED, OrderStatus.PENDING, OrderStatus.REFUNDED])
        order = seat_order(course, status=status)
        currency = "usd" if n % 4 == 0 else "eur"
        day = today - dt.timedelta(days=rng.randrange(DAYS))
        Order.objects.filter(pk=order.pk).update(created_at=local(day, rng.randrange(24)), currency=currency)
        for attempt in range(1, rng.choice([2, 2, 3])):
            paid = rng.choice(list(Payment.Status))
            payment = Payment.objects.create(
                order=order,
                attempt=attempt,
                session_id=f"cs_{order.code}_{attempt}",
                status=paid if paid not in ("creating", "open") else Payment.Status.EXPIRED,
                amount=order.total_amount,
                amount_received=order.total_amount if paid in MONEY_IN else 0,
                currency=currency,
                expires_at=timezone.now(),
            )
            later = day + dt.timedelta(days=rng.randrange(2))  # a retry may come the next day
            Payment.objects.filter(pk=payment.pk).update(created_at=local(min(later, today), rng.randrange(24)))
            payments.append(payment)
            if paid in MONEY_IN and rng.random() < 0.4:
                refund = Refund.objects.create(
                    payment=payment,
                    stripe_refund_id=f"re_{payment.pk}",
                    amount=rng.randrange(1, order.total_amount + 1),
                    currency=currency,
                    status=rng.choice(list(Refund.Status)),
                    reason="test",
                )
                Refund.objects.filter(pk=refund.pk).update(
                    created_at=local(min(later + dt.timedelta(days=3), today), 9)
                )
    return payments


def written_long_ago() -> None:
    """As if the shop's rows were written an hour ago: the roll-up's next look sees them as old."""
    an_hour_ago = timezone.now() - dt.timedelta(hours=1)
    for model in (Payment, Refund, Order):
        model.objects.update(updated_at=an_hour_ago)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_roll_up_agrees_with_the_plain_sums_as_old_days_change(seed: int) -> None:
    rng = random.Random(seed)
    payments = spread_shop(rng, orders=24)
    written_long_ago()
    assert sales_days_refresh() is None  # the first look sums every day
    assert_agree()
    # Old days change the way the services write: a late payment, a refund of an old order, a failed refund,
    # an order paid on a later day; each saves its updated_at.
    for payment in rng.sample(payments, 8):
        payment.status = rng.choice([Payment.Status.PAID, Payment.Status.REFUNDED, Payment.Status.EXPIRED])
        payment.amount_received = payment.amount if payment.status in MONEY_IN else 0
        payment.save(update_fields=["status", "amount_received", "updated_at"])
    for refund in Refund.objects.all()[:3]:
        refund.status = Refund.Status.FAILED
        refund.save(update_fields=["status", "updated_at"])
    for order in Order.objects.filter(status=OrderStatus.PENDING)[:3]:
        order.status = OrderStatus.PAID
        order.save(update_fields=["status", "updated_at"])
    changed = sales_days_refresh()
    assert changed is not None
    assert 0 < changed < DAYS  # only the days those writes touched are summed again
    assert_agree()


def test_a_look_with_nothing_changed_reads_the_roll_up_only(django_assert_num_queries: Any) -> None:
    spread_shop(random.Random(3), orders=6)
    written_long_ago()
    assert sales_days_refresh() is None
    # The savepoint and its release (the test's transaction), the state row, the changed days, the state saved.
    with django_assert_num_queries(5):
        assert sales_days_refresh() == 0
    payment = Payment.objects.first()
    assert payment is not None
    payment.save(update_fields=["updated_at"])
    # A day changed: for each table, its rows deleted and summed again (INSERT … SELECT), whatever the data.
    with CaptureQueriesContext(connection) as queries:
        assert sales_days_refresh() == 1
    assert len(queries) == 5 + 6
    assert_agree()


def test_a_write_seen_at_the_last_look_is_not_summed_again_but_one_committed_after_it_is() -> None:
    spread_shop(random.Random(5), orders=8)
    written_long_ago()
    assert sales_days_refresh() is None
    payment = Payment.objects.order_by("pk").first()
    assert payment is not None
    payment.save(update_fields=["updated_at"])  # a write now
    SalesRollup.objects.update(zone="Asia/Tokyo")  # as if the zone had changed: every day is summed again
    assert sales_days_refresh() is None
    assert sales_days_refresh() == 0  # the write was summed with every day: not again
    payment.save(update_fields=["updated_at"])  # another write: the next look sums its day
    assert sales_days_refresh() == 1
    # Within the margin of that look, the write it saw is not summed again, look after look.
    assert sales_days_refresh() == 0
    assert sales_days_refresh() == 0
    # A transaction still open at the last look commits now: its updated_at is before that look, its rows are
    # new in the margin. Its day (an old one) is summed, with the margin's others.
    last_look = SalesRollup.objects.get().checked_at
    late = Payment.objects.exclude(pk=payment.pk).order_by("-pk").first()
    assert late is not None
    Payment.objects.filter(pk=late.pk).update(
        status=Payment.Status.PAID, amount_received=late.amount, updated_at=last_look - dt.timedelta(seconds=30)
    )
    days = {created.astimezone(business_time_zone()).date() for created in (payment.created_at, late.created_at)}
    assert sales_days_refresh() == len(days)
    assert_agree()
    assert sales_days_refresh() == 0


def test_a_new_zone_sums_every_day_again(settings: Any) -> None:
    spread_shop(random.Random(4), orders=8)
    sales_days_refresh()
    settings.BOOKDESK_TIME_ZONE = "Pacific/Auckland"  # far from Berlin: many payments move to another day
    assert sales_days_refresh() is None
    assert_agree()


@pytest.mark.parametrize(("spread", "queries"), [("skewed", 2), ("even", 3)])
def test_the_best_sellers_are_those_of_the_plain_sum(
    spread: str, queries: int, monkeypatch: pytest.MonkeyPatch, django_assert_num_queries: Any
) -> None:
    """Each day's first 12 items are the candidates. With ten items far ahead every day, the candidates prove
    the ten best (two queries); with sales spread evenly they cannot, and every item is summed (three)."""
    monkeypatch.setattr(sales_days, "ITEMS_DAY_CANDIDATES", 12)
    rng = random.Random(spread)
    first = dt.date(2026, 1, 1)
    rows = []
    for offset in range(40):
        day = first + dt.timedelta(days=offset)
        money = {
            item: (rng.randrange(50_000, 90_000) if spread == "skewed" and item <= 10 else rng.randrange(0, 5_000))
            for item in [*range(1, 11), *rng.sample(range(11, 60), 20)]
        }
        ranked = sorted(money, key=lambda item: (-money[item], item))
        rows += [
            ItemsDay(
                day=day,
                currency="eur",
                kind="course",
                item=item,
                quantity=1,
                revenue=money[item],
                rank=ranked.index(item) + 1,
            )
            for item in money
        ]
    ItemsDay.objects.bulk_create(rows)
    last = first + dt.timedelta(days=29)
    totals: dict[int, int] = defaultdict(int)
    for row in rows:
        if row.day <= last:
            totals[row.item] += row.revenue
    plain = sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:10]
    with django_assert_num_queries(queries):
        best = sales_days.best_sellers(currency="eur", first=first, last=last, count=10)
    assert [(row["item"], row["revenue"]) for row in best] == plain

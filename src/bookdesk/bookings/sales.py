"""Sales for the operator: money in, money back, orders, payment success and the best sellers, by day, week or
month in the business's zone, for one currency at a time.

The numbers come from the daily roll-up (`payments.sales_days`: each business day's payments by status,
refunds made and items sold), brought up to date from the source rows before every read, so a year reads a
few hundred rows, not a year of payments. They are the payments' and refunds' own (what Stripe moved), so they
agree with the orders and with Stripe:
- revenue: money received (payments paid, including those paid twice and refunded automatically);
- refunds: refunds issued (pending or succeeded) in the period;
- orders: orders paid (one kept payment each); average order value = their money ÷ their number;
- payment success rate: paid ÷ (paid + failed) of the attempts that finished; abandoned sessions (expired)
  are counted apart, not as failures.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import transaction

from bookdesk.catalog.models import product_line_label
from bookdesk.catalog.selectors import business_time_zone
from bookdesk.db.raw import custom_plans
from bookdesk.errors import InvalidInput
from bookdesk.orders.models import OrderLine
from bookdesk.payments.models import Payment, PaymentsDay, RefundsDay
from bookdesk.payments.sales_days import best_sellers, sales_days_refresh


class Grain(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


# The default range ends today and spans this many periods; a range may hold at most MAX_PERIODS.
DEFAULT_PERIODS = {Grain.DAY: 30, Grain.WEEK: 12, Grain.MONTH: 12}
MAX_PERIODS = {Grain.DAY: 400, Grain.WEEK: 260, Grain.MONTH: 120}
EARLIEST = dt.date(2000, 1, 1)
TOP_ITEMS = 10
MONEY_IN = (Payment.Status.PAID, Payment.Status.REFUNDING, Payment.Status.REFUNDED)


@dataclass
class Period:
    start: dt.date
    grain: Grain
    revenue: int = 0
    refunds: int = 0
    orders: int = 0
    order_money: int = 0  # received by the orders' kept payments (for the average)
    paid: int = 0
    failed: int = 0
    abandoned: int = 0

    @property
    def label(self) -> str:
        if self.grain == Grain.MONTH:
            return self.start.strftime("%b %Y")
        if self.grain == Grain.WEEK:
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return self.start.isoformat()

    @property
    def net(self) -> int:
        return self.revenue - self.refunds

    @property
    def average_order(self) -> int | None:
        return self.order_money // self.orders if self.orders else None

    @property
    def success_permille(self) -> int | None:
        """Paid ÷ finished attempts, in tenths of a percent (no floats); None when nothing finished."""
        finished = self.paid + self.failed
        return self.paid * 1000 // finished if finished else None


@dataclass(frozen=True)
class TopItem:
    kind: str
    name: str
    quantity: int
    revenue: int


@dataclass
class Sales:
    grain: Grain
    first: dt.date
    last: dt.date
    currency: str
    currencies: list[str]
    zone: str
    periods: list[Period] = field(default_factory=list)
    top_items: list[TopItem] = field(default_factory=list)

    def _sum(self, name: str) -> int:
        return sum(getattr(period, name) for period in self.periods)

    @property
    def total(self) -> Period:
        whole = Period(self.first, self.grain)
        for name in ("revenue", "refunds", "orders", "order_money", "paid", "failed", "abandoned"):
            setattr(whole, name, self._sum(name))
        return whole


def period_start(day: dt.date, grain: Grain) -> dt.date:
    if grain == Grain.MONTH:
        return day.replace(day=1)
    if grain == Grain.WEEK:
        return day - dt.timedelta(days=day.weekday())
    return day


def next_period(start: dt.date, grain: Grain) -> dt.date:
    if grain == Grain.MONTH:
        return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start + dt.timedelta(days=7 if grain == Grain.WEEK else 1)


def _periods_back(last: dt.date, grain: Grain, count: int) -> dt.date:
    start = period_start(last, grain)
    for _ in range(count - 1):
        start = period_start(start - dt.timedelta(days=1), grain)
    return start


def parse_range(
    *, grain: str | None, first: str | None, last: str | None, today: dt.date
) -> tuple[Grain, dt.date, dt.date]:
    """The grain and the range of days asked for, with defaults; InvalidInput with a readable reason otherwise."""
    try:
        chosen = Grain((grain or Grain.DAY).strip())
    except ValueError:
        raise InvalidInput(
            "Group by day, week or month.", errors=[{"field": "by", "message": "day|week|month"}]
        ) from None
    try:
        end = dt.date.fromisoformat(last.strip()) if last and last.strip() else today
        start = (
            dt.date.fromisoformat(first.strip())
            if first and first.strip()
            else _periods_back(end, chosen, DEFAULT_PERIODS[chosen])
        )
    except ValueError:
        raise InvalidInput("Dates are written like 2026-12-04 (year-month-day).") from None
    latest = today + dt.timedelta(days=366)
    if not EARLIEST <= start <= latest or not EARLIEST <= end <= latest:
        raise InvalidInput(f"Pick dates between {EARLIEST.isoformat()} and {latest.isoformat()}.")
    if start > end:
        raise InvalidInput("The range starts after it ends: swap the dates.")
    periods, cursor = 0, period_start(start, chosen)
    while cursor <= end:
        periods += 1
        if periods > MAX_PERIODS[chosen]:
            raise InvalidInput(
                f"That is more than {MAX_PERIODS[chosen]} {chosen}s: pick a shorter range or group by a longer period."
            )
        cursor = next_period(cursor, chosen)
    return chosen, start, end


def sales_currencies() -> list[str]:
    """The currencies that have payments (the business's own first); reads the roll-up, so refresh it first."""
    found = set(PaymentsDay.objects.order_by().values_list("currency", flat=True).distinct())
    home = settings.BOOKDESK_CURRENCY
    return [home, *sorted(found - {home})]


def sales(*, grain: Grain, first: dt.date, last: dt.date, currency: str | None = None) -> Sales:
    """The sales of the days `first`..`last` by `grain`, from the daily roll-up brought up to date first
    (`payments.sales_days`): 3 queries to refresh it when nothing changed, then 5 reads (the best sellers: 2, and
    1 more when the day's first items cannot prove them) in one transaction, planned for their values on
    PostgreSQL (1 more statement)."""
    sales_days_refresh()
    with transaction.atomic():
        custom_plans()
        return _sales(grain=grain, first=first, last=last, currency=currency)


def _item_kind(row: dict[str, Any]) -> str:
    """A line's kind as the shop says it: a product line is a license (of a beat) or goods."""
    if row["kind"] != OrderLine.Kind.PRODUCT:
        return str(OrderLine.Kind(row["kind"]).label)
    return product_line_label(licensed=bool(row["license_name"]))


def _sales(*, grain: Grain, first: dt.date, last: dt.date, currency: str | None) -> Sales:
    zone = business_time_zone()
    currencies = sales_currencies()
    chosen = currency if currency in currencies else currencies[0]
    result = Sales(grain, first, last, chosen, currencies, zone.key)
    periods: dict[dt.date, Period] = {}
    cursor = period_start(first, grain)
    while cursor <= last:
        periods[cursor] = Period(cursor, grain)
        cursor = next_period(cursor, grain)
    result.periods = list(periods.values())
    days = {"currency": chosen, "day__gte": first, "day__lte": last}
    for day, status, count, received in PaymentsDay.objects.filter(**days).values_list(
        "day", "status", "count", "received"
    ):
        period = periods[period_start(day, grain)]
        if status in MONEY_IN:
            period.revenue += received
            period.paid += count
        if status == Payment.Status.PAID:
            period.orders += count
            period.order_money += received
        elif status == Payment.Status.FAILED:
            period.failed += count
        elif status == Payment.Status.EXPIRED:
            period.abandoned += count
    for day, amount in RefundsDay.objects.filter(**days).values_list("day", "amount"):
        periods[period_start(day, grain)].refunds += amount
    top = best_sellers(currency=chosen, first=first, last=last, count=TOP_ITEMS)
    result.top_items = [
        TopItem(
            kind=_item_kind(row),
            name=row["course_title"]
            or row["service_name"]
            or (f"{row['product_title']} — {row['license_name']}" if row["license_name"] else row["product_title"])
            or "?",
            quantity=int(row["quantity"] or 0),
            revenue=int(row["revenue"] or 0),
        )
        for row in top
    ]
    return result

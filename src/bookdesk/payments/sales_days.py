"""The sales roll-up: each business day's payments (by currency and status), refunds made and items sold in paid
orders, summed, so that the console's sales of a month or a year read a few hundred rows, not a year of payments.

The roll-up is exact, not a cache that may be stale: before the sales are read, `sales_days_refresh` finds the
days whose payments, refunds or orders changed since it last looked (their `updated_at`, indexed) and sums those
days again from the source rows. It looks back `MARGIN` before its last look, so a change written by a
transaction that was still open then is found too; the rows of that margin it saw at its last look are kept as a
digest, so while that digest still matches, nothing written before the last look is summed twice (a shop's sales
page read a minute after its last order sums nothing). The first look, or a change of the business's zone, sums
every day. A test holds the roll-up equal to summing the source rows directly, after checkouts, payments,
refunds and expiries spread over several days.

Queries: 3 when nothing changed (the state row, locked; the rows written lately; the state saved), 6 more when
days changed, whatever their number: for each table, delete those days and insert their sums (INSERT … SELECT).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from functools import reduce
from operator import or_
from typing import Any

from django.db import connection, models, transaction
from django.db.models import CharField, Count, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from bookdesk.catalog.models import Course, License, Product, Service
from bookdesk.catalog.selectors import business_time_zone
from bookdesk.orders.models import Order, OrderLine, OrderStatus
from bookdesk.payments.models import (
    ITEMS_DAY_CANDIDATES,
    ItemsDay,
    Payment,
    PaymentsDay,
    Refund,
    RefundsDay,
    SalesRollup,
)

# A write is seen by the roll-up at most this long after its `updated_at` (the longest transaction it allows for).
MARGIN = dt.timedelta(minutes=2)
# Refunds that count as money given back: issued and not (yet) failed or cancelled.
REFUNDS_MADE = (Refund.Status.PENDING, Refund.Status.SUCCEEDED)
# Orders whose lines count as sold.
ORDERS_PAID = (
    OrderStatus.PAID,
    OrderStatus.CONFIRMED,
    OrderStatus.PARTIALLY_REFUNDED,
    OrderStatus.REFUNDED,
    OrderStatus.NEEDS_REVIEW,
)
ITEM_KEY = ("kind", "course_id", "service_id", "product_id", "license_id")
# A line's item as one number (ItemsDay.item): a licence before its product, as a beat's lines carry both.
ITEM_NUMBER = Coalesce(F("course_id") * 4, F("service_id") * 4 + 1, F("license_id") * 4 + 2, F("product_id") * 4 + 3)


# A row version written to a source table: (table, id, updated_at, its day in the business zone).
Written = tuple[str, int, dt.datetime, dt.date]


def _written_since(since: dt.datetime) -> list[Written]:
    """The payments, refunds and orders written since `since` (one query)."""
    zone = business_time_zone()

    def written(model: type[Payment] | type[Refund] | type[Order]) -> QuerySet:  # type: ignore[type-arg]
        return (
            model.objects.filter(updated_at__gte=since)
            .annotate(table=Value(model._meta.model_name, output_field=CharField()))
            .annotate(day=TruncDate("created_at", tzinfo=zone))
            .order_by()
            .values_list("table", "pk", "updated_at", "day")
        )

    return list(written(Payment).union(written(Refund), written(Order), all=True))


def _digest(rows: Iterable[Written]) -> str:
    """The row versions, as one value: equal digests, the same rows at the same `updated_at`."""
    digest = hashlib.sha256()
    for table, pk, updated_at, _day in sorted(rows):
        digest.update(f"{table}:{pk}:{updated_at.isoformat()};".encode())
    return digest.hexdigest()


def _spans(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive days as (first, day after last) spans: [1, 2, 3, 7] → [(1, 4), (7, 8)]."""
    spans: list[tuple[dt.date, dt.date]] = []
    for day in sorted(days):
        if spans and spans[-1][1] == day:
            spans[-1] = (spans[-1][0], day + dt.timedelta(days=1))
        else:
            spans.append((day, day + dt.timedelta(days=1)))
    return spans


def _within(spans: list[tuple[dt.date, dt.date]], field: str) -> Q:
    """`field` (an aware datetime) falls on one of the spans' days in the business zone."""
    zone = business_time_zone()

    def instant(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), tzinfo=zone)

    return reduce(or_, (Q(**{f"{field}__gte": instant(a), f"{field}__lt": instant(b)}) for a, b in spans))


def _insert_sums(
    model: type[models.Model],
    columns: Sequence[str],
    sums: QuerySet,  # type: ignore[type-arg]
    *,
    ranked_within: Sequence[str] = (),
) -> None:
    """INSERT INTO model's table (columns) the rows of `sums`, in one statement: the sums never pass through
    Python, and the statement count is the same for one day or two years. `sums` selects `columns` (the table's
    column names) in order.

    With `ranked_within` (aliases of `sums`), a last column is added: each row's place by revenue (then item)
    among the rows that share those values, numbered from 1 over the sums as a subquery."""
    sql, params = sums.query.sql_with_params()
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(column) for column in columns)
    if ranked_within:
        partition = ", ".join(f"sums.{quote(alias)}" for alias in ranked_within)
        place = f"ROW_NUMBER() OVER (PARTITION BY {partition} ORDER BY sums.revenue DESC, sums.item)"
        sql = f"SELECT sums.*, {place} FROM ({sql}) AS sums"  # noqa: S608 (names from models; values bound)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({names}) {sql}", params)


def _sum_again(spans: list[tuple[dt.date, dt.date]] | None) -> None:
    """Replace the roll-up's rows of the spans' days (of every day when None) by sums of the source rows
    (six statements: a delete and an insert of sums per table)."""
    zone = business_time_zone()
    on_days = reduce(or_, (Q(day__gte=a, day__lt=b) for a, b in spans)) if spans is not None else Q()
    for model in (PaymentsDay, RefundsDay, ItemsDay):
        model.objects.filter(on_days).delete()
    created = _within(spans, "created_at") if spans is not None else Q()
    payments = (
        Payment.objects.filter(created)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .order_by()
        .values("day", "currency", "status")
        .annotate(n=Count("pk"), received=Sum("amount_received"))
    )
    _insert_sums(PaymentsDay, ["day", "currency", "status", "count", "received"], payments)
    refunds = (
        Refund.objects.filter(created, status__in=REFUNDS_MADE)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .order_by()
        .values("day", "currency")
        .annotate(total=Sum("amount"))
    )
    _insert_sums(RefundsDay, ["day", "currency", "amount"], refunds)
    ordered = _within(spans, "order__created_at") if spans is not None else Q()
    items = (
        OrderLine.objects.filter(ordered, order__status__in=ORDERS_PAID)
        .annotate(day=TruncDate("order__created_at", tzinfo=zone), item=ITEM_NUMBER)
        .order_by()
        .values("day", "order__currency", "item", *ITEM_KEY)
        .annotate(quantity=Sum("quantity"), revenue=Sum("total_amount"))
    )
    columns = ["day", "currency", "item", *ITEM_KEY, "quantity", "revenue", "rank"]
    _insert_sums(ItemsDay, columns, items, ranked_within=["day", "order__currency"])


@transaction.atomic
def sales_days_refresh(*, now: dt.datetime | None = None) -> int | None:
    """Bring the roll-up up to date: sum again the days changed since the last look (every day on the first
    look, or when the business's zone changed). Returns how many days were summed again, None for all of them.

    The rows written within `MARGIN` before the last look were summed then, unless a transaction still open at
    that look wrote them: when they are the rows that look saw (its `margin_digest`), only the rows written since
    count; otherwise their days are summed again too. Concurrent callers take turns on the state row; the second
    finds nothing left to do."""
    now = now or timezone.now()
    zone = business_time_zone().key
    state, created = SalesRollup.objects.select_for_update().get_or_create(
        pk=1, defaults={"zone": zone, "checked_at": now}
    )
    summed: int | None
    if created or state.zone != zone:
        _sum_again(None)
        summed, written = None, _written_since(now - MARGIN)  # every row is summed: the margin's as seen now
    else:
        written = _written_since(state.checked_at - MARGIN)
        margin = [row for row in written if row[2] < state.checked_at]
        unseen = written if _digest(margin) != state.margin_digest else [r for r in written if r[2] >= state.checked_at]
        changed = {day for _table, _pk, _at, day in unseen}
        if changed:
            _sum_again(_spans(changed))
        summed = len(changed)
    state.margin_digest = _digest(row for row in written if now - MARGIN <= row[2] < now)
    state.zone, state.checked_at = zone, now
    state.save()
    return summed


def best_sellers(*, currency: str, first: dt.date, last: dt.date, count: int) -> list[dict[str, Any]]:
    """The `count` items that brought the most money in the days `first`..`last` (ties: the lower item number
    first), each a dict of ITEM_KEY, quantity, revenue and the item's names. Exact, in two queries mostly:

    1. The candidates: every item among the first `ITEMS_DAY_CANDIDATES` of some day of the range (a small
       partial index), and the bound: the sum over the days of each day's last candidate's money. An item that
       is no candidate made at most that much on each day, so at most the bound in the range.
    2. The candidates' sums over the range. If the `count`-th of them made more than the bound, no other item
       can pass it, and these are the best sellers. If not (sales spread so evenly that the candidates prove
       nothing), a third query sums every item of the range.
    """
    in_range = ItemsDay.objects.filter(currency=currency, day__gte=first, day__lte=last)
    cut = ITEMS_DAY_CANDIDATES
    candidates: list[int] = []
    bound = cut_days = 0
    for item, at_cut, days_cut in (
        in_range.filter(rank__lte=cut)
        .order_by()
        .values("item")
        .annotate(at_cut=Sum("revenue", filter=Q(rank=cut)), days_cut=Count("pk", filter=Q(rank=cut)))
        .values_list("item", "at_cut", "days_cut")
    ):
        candidates.append(item)
        bound += at_cut or 0
        cut_days += days_cut
    if not candidates:
        return []

    def ranked(rows: QuerySet[ItemsDay]) -> list[dict[str, Any]]:
        return list(
            rows.order_by()
            .values("item", *ITEM_KEY)
            .annotate(quantity=Sum("quantity"), revenue=Sum("revenue"))
            .annotate(
                course_title=Subquery(Course.objects.filter(pk=OuterRef("course_id")).values("title")),
                service_name=Subquery(Service.objects.filter(pk=OuterRef("service_id")).values("name")),
                product_title=Subquery(Product.objects.filter(pk=OuterRef("product_id")).values("title")),
                license_name=Subquery(License.objects.filter(pk=OuterRef("license_id")).values("name")),
            )
            .order_by("-revenue", "item")[:count]
        )

    best = ranked(in_range.filter(item__in=candidates))
    if not cut_days or (len(best) == count and best[-1]["revenue"] > bound):
        return best  # every item was a candidate, or no other item can pass the last of these
    return ranked(in_range)

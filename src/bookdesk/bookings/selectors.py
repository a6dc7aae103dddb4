"""What a customer reads of their orders: the bookings list (course seats, studio slots and licenses in
one list, each with its order, latest payment and next steps) and one order's page.

It reads orders with their payments and the cancellation terms, so it sits above `payments`; its SQL
is in `bookings.queries`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone

from bookdesk.bookings.filters import BookingFilters, BookingKind
from bookdesk.bookings.queries import Taken, booking_keys, hold_rows, taken_for
from bookdesk.money import MoneyDict, money
from bookdesk.orders.downloads import download_url
from bookdesk.orders.models import Grant, HoldStatus, Order, OrderLine, OrderStatus
from bookdesk.orders.selectors import owned
from bookdesk.paging import Page
from bookdesk.payments.models import Payment

# An order that can be paid again after a failed payment or a lapsed hold takes back what it held if it is
# still free (`payments.checkout.payment_retry` → `order_rehold`).
RETRY_AFTER_REHOLD = frozenset({OrderStatus.FAILED, OrderStatus.EXPIRED})


@dataclass(frozen=True)
class OrderActions:
    """What the customer can do next with a whole order (cheap answers; the action itself decides)."""

    can_retry_payment: bool = False
    can_cancel: bool = False
    cancel_until: datetime | None = None
    cancel_refund_amount: int | None = None


@dataclass(frozen=True)
class BookingOrder:
    """The order an item belongs to, as the list shows it."""

    id: int
    code: str
    status: str
    currency: str
    payment_status: str | None  # the latest payment attempt's, None before any

    @property
    def status_label(self) -> str:
        return str(OrderStatus(self.status).label)


@dataclass(frozen=True)
class BookingItem:
    """One course seat, studio slot or license of the customer, with its order and next steps."""

    kind: BookingKind
    id: int
    order: BookingOrder
    title: str
    starts_at: datetime | None
    ends_at: datetime | None
    location: str | None
    resource: str | None
    license: str | None
    license_tier: str | None
    exclusive: bool
    status: str
    amount: MoneyDict
    created_at: datetime
    actions: OrderActions
    download_url: str | None
    calendar_url: str | None

    @property
    def status_label(self) -> str:
        return str(HoldStatus(self.status).label)

    @property
    def can_retry_payment(self) -> bool:
        return self.actions.can_retry_payment

    @property
    def can_cancel(self) -> bool:
        return self.actions.can_cancel

    @property
    def cancel_until(self) -> datetime | None:
        return self.actions.cancel_until

    @property
    def cancel_refund(self) -> MoneyDict | None:
        amount = self.actions.cancel_refund_amount
        return None if amount is None else money(amount, self.order.currency)


def _free_again(hold: dict[str, Any], taken: Taken, now: datetime) -> bool:
    """Whether a released hold could be taken back now (what `order_rehold` checks again under its locks)."""
    target = hold["target_id"]
    if not hold["published"]:
        return False
    if hold["kind"] == BookingKind.COURSE:
        return bool(
            hold["starts_at"] > now
            and taken.seats.get(target, 0) < hold["capacity"]
            and not taken.own_seats.get(target, 0)
        )
    if hold["kind"] == BookingKind.SERVICE:
        return hold["starts_at"] > now and not any(
            resource_id == target and starts < hold["ends_at"] and ends > hold["starts_at"]
            for resource_id, starts, ends in taken.slots
        )
    return target not in taken.exclusive_sold and not (hold["license_exclusive"] and target in taken.licensed)


def _actions_of_orders(holds: list[dict[str, Any]], *, user_id: int, now: datetime) -> dict[int, OrderActions]:
    """Next steps of each order, from all its holds (and one query, `taken_for`, when one may be paid again)."""
    by_order: dict[int, list[dict[str, Any]]] = {}
    for hold in holds:
        by_order.setdefault(hold["order_id"], []).append(hold)
    rehold = [
        hold for hold in holds if hold["order_status"] in RETRY_AFTER_REHOLD and hold["status"] == HoldStatus.RELEASED
    ]
    taken = taken_for(rehold, user_id=user_id, now=now) if rehold else Taken()
    cutoff = timedelta(hours=int(settings.CANCELLATION_CUTOFF_HOURS))
    share = int(settings.CANCELLATION_REFUND_PERCENT)
    actions = {}
    for order_id, own in by_order.items():
        order = own[0]
        status = order["order_status"]
        can_retry = False
        if status == OrderStatus.PENDING:
            can_retry = order["hold_expires_at"] > now
        elif status in RETRY_AFTER_REHOLD:
            can_retry = all(_free_again(h, taken, now) for h in own if h["status"] == HoldStatus.RELEASED)
        # `payments.refunds.cancellation_terms`: a confirmed order, up to the cutoff before its first start.
        starts = [h["starts_at"] for h in own if h["starts_at"] is not None]
        deadline = min(starts) - cutoff if starts else None
        can_cancel = status == OrderStatus.CONFIRMED and deadline is not None and now <= deadline
        actions[order_id] = OrderActions(
            can_retry_payment=can_retry,
            can_cancel=can_cancel,
            cancel_until=deadline if can_cancel else None,
            cancel_refund_amount=order["order_total"] * share // 100 if can_cancel else None,
        )
    return actions


def order_actions(*, order: Order, now: datetime | None = None) -> OrderActions:
    """The next steps of one order (for its page): the same answers as the bookings list gives."""
    now = now or timezone.now()
    holds = hold_rows(user_id=order.user_id, order_ids=[order.pk])
    return _actions_of_orders(holds, user_id=order.user_id, now=now).get(order.pk, OrderActions())


def calendar_url(order_code: str) -> str:
    return settings.SITE_URL + reverse("order_calendar", kwargs={"code": order_code})


def _item(row: dict[str, Any], actions: OrderActions) -> BookingItem:
    kind = BookingKind(row["kind"])
    confirmed = row["status"] == HoldStatus.CONFIRMED
    dated = kind != BookingKind.PRODUCT
    return BookingItem(
        kind=kind,
        id=row["id"],
        order=BookingOrder(
            id=row["order_id"],
            code=row["order_code"],
            status=row["order_status"],
            currency=row["currency"],
            payment_status=row["payment_status"],
        ),
        title=row["title"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        location=row["location"] or None,
        resource=row["resource"],
        license=row["license"],
        license_tier=row["license_tier"],
        exclusive=bool(row["exclusive"]),
        status=row["status"],
        amount=money(row["amount"], row["currency"]),
        created_at=row["created_at"],
        actions=actions,
        download_url=download_url(Grant(pk=row["id"])) if confirmed and not dated else None,
        calendar_url=calendar_url(row["order_code"]) if confirmed and dated else None,
    )


def booking_page(
    *, user: Any, filters: BookingFilters, page: int, page_size: int, now: datetime | None = None
) -> Page[BookingItem]:
    """One page of the customer's bookings, reservations and grants, newest first, in at most three queries."""
    now = now or timezone.now()
    keys, total = booking_keys(
        user_id=user.pk, filters=filters, offset=(page - 1) * page_size, limit=page_size, now=now
    )
    holds = hold_rows(user_id=user.pk, order_ids=[order_id for _, _, order_id in keys])
    actions = _actions_of_orders(holds, user_id=user.pk, now=now)
    found = {(hold["kind"], hold["id"]): hold for hold in holds}
    items = [
        _item(hold, actions[hold["order_id"]])
        for kind, hold_id, _ in keys
        if (hold := found.get((kind, hold_id))) is not None
    ]
    return Page(items=items, page=page, pages=max(1, math.ceil(total / page_size)), total=total, page_size=page_size)


def order_detail(*, code: str, user: Any) -> Order:
    """One order of the caller (staff: any) for its page: lines with what they hold, payments with refunds,
    and the audit trail, in a fixed number of queries. Anyone else's order is simply not found."""
    lines = OrderLine.objects.select_related(
        "course", "service", "product", "license", "booking", "reservation__resource", "grant", "stock_hold"
    ).order_by("pk")
    orders = Order.objects.select_related("shipment").prefetch_related(
        Prefetch("lines", queryset=lines),
        Prefetch("payments", queryset=Payment.objects.prefetch_related("refunds").order_by("attempt")),
        "audit_entries",
    )
    return owned(orders, code=code, user=user)

"""What a customer reads of their orders: the bookings list (course seats, studio slots, licenses and goods
in one list, each with its order, latest payment and next steps) and one order's page.

It reads orders with their payments and the cancellation terms, so it sits above `payments`; its SQL
is in `bookings.queries`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone

from bookdesk.bookings.filters import BookingFilters, BookingKind
from bookdesk.bookings.queries import Taken, booking_keys, hold_rows, taken_for
from bookdesk.money import MoneyDict, money
from bookdesk.orders.downloads import download_url
from bookdesk.orders.models import Grant, HoldStatus, Order, OrderLine, OrderStatus, ShipmentStatus, carrier_name
from bookdesk.orders.selectors import owned
from bookdesk.paging import Page
from bookdesk.payments.models import Payment
from bookdesk.payments.policy import (
    CANCELLABLE_ORDERS,
    PARCEL_LEFT,
    LineFacts,
    LineTerms,
    OrderFacts,
    line_terms,
    order_line_terms,
    refund_of_all,
)

# An order that can be paid again after a failed payment or a lapsed hold takes back what it held if it is
# still free (`payments.checkout.payment_retry` → `order_rehold`).
RETRY_AFTER_REHOLD = frozenset({OrderStatus.FAILED, OrderStatus.EXPIRED})
# Kinds with a start: a seat's or a slot's order has a calendar file.
DATED = frozenset({BookingKind.COURSE, BookingKind.SERVICE})


@dataclass(frozen=True)
class OrderActions:
    """What the customer can do next with a whole order (cheap answers; the action itself decides).

    `lines` holds the refund policy's terms of each line (`payments.policy`); the order can be cancelled
    when some line can, for the sum of what those lines give back."""

    can_retry_payment: bool = False
    can_cancel: bool = False
    cancel_until: datetime | None = None
    cancel_refund_amount: int | None = None
    lines: dict[int, LineTerms] = field(default_factory=dict)

    def line(self, line_id: int) -> LineTerms | None:
        """The terms of one line, when it can be cancelled now."""
        terms = self.lines.get(line_id)
        return terms if terms is not None and terms.refundable else None


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
class BookingShipment:
    """How far the parcel of a goods item's order got, with the carrier's tracking once it has left."""

    status: str
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None

    @property
    def status_label(self) -> str:
        return str(ShipmentStatus(self.status).label)

    @property
    def carrier_name(self) -> str | None:
        return carrier_name(self.carrier) if self.carrier else None


@dataclass(frozen=True)
class BookingItem:
    """One course seat, studio slot, license or goods hold of the customer, with its order and next steps."""

    kind: BookingKind
    id: int
    line_id: int
    order: BookingOrder
    title: str
    starts_at: datetime | None
    ends_at: datetime | None
    location: str | None
    resource: str | None
    license: str | None
    license_tier: str | None
    exclusive: bool
    quantity: int | None  # units of goods; None for the other kinds
    shipment: BookingShipment | None  # the order's, for goods once their address is known
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
        """This item's line can be cancelled now, under its kind's policy."""
        return self.actions.line(self.line_id) is not None

    @property
    def cancel_until(self) -> datetime | None:
        terms = self.actions.line(self.line_id)
        return None if terms is None else terms.deadline

    @property
    def cancel_refund(self) -> MoneyDict | None:
        terms = self.actions.line(self.line_id)
        return None if terms is None else money(terms.total, self.order.currency)


def _free_again(hold: dict[str, Any], released: list[dict[str, Any]], taken: Taken, now: datetime) -> bool:
    """Whether a released hold (one of its order's `released`) could be taken back now: what `order_rehold`
    checks again under its locks."""
    target = hold["target_id"]
    if not hold["published"]:
        return False
    if hold["kind"] == BookingKind.GOODS:
        # The order takes back all its units of the product at once, against what is left of its stock.
        wanted = sum(h["quantity"] for h in released if h["kind"] == BookingKind.GOODS and h["target_id"] == target)
        return (hold["capacity"] or 0) - taken.units.get(target, 0) >= wanted
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
    # An exclusive may be bought while leases exist; once one is held or sold the beat is off sale.
    return target not in taken.exclusive_sold


def _actions_of_orders(holds: list[dict[str, Any]], *, user_id: int, now: datetime) -> dict[int, OrderActions]:
    """Next steps of each order, from all its holds (and one query, `taken_for`, when one may be paid again)."""
    by_order: dict[int, list[dict[str, Any]]] = {}
    for hold in holds:
        by_order.setdefault(hold["order_id"], []).append(hold)
    rehold = [
        hold for hold in holds if hold["order_status"] in RETRY_AFTER_REHOLD and hold["status"] == HoldStatus.RELEASED
    ]
    taken = taken_for(rehold, user_id=user_id, now=now) if rehold else Taken()
    terms = _terms_of_holds(holds, now=now)
    actions = {}
    for order_id, own in by_order.items():
        order = own[0]
        status = order["order_status"]
        can_retry = False
        if status == OrderStatus.PENDING:
            can_retry = order["hold_expires_at"] > now
        elif status in RETRY_AFTER_REHOLD:
            released = [h for h in own if h["status"] == HoldStatus.RELEASED]
            can_retry = all(_free_again(h, released, taken, now) for h in released)
        # `payments.policy`: each line by its kind's rule; the order-level cancel takes every line it allows.
        lines = terms.get(order_id, {})
        allowed = [term for term in lines.values() if term.refundable]
        deadlines = [term.deadline for term in allowed if term.deadline is not None]
        actions[order_id] = OrderActions(
            can_retry_payment=can_retry,
            can_cancel=bool(allowed),
            cancel_until=min(deadlines) if deadlines else None,
            cancel_refund_amount=refund_of_all(list(lines.values())) if allowed else None,
            lines=lines,
        )
    return actions


def _terms_of_holds(holds: list[dict[str, Any]], *, now: datetime) -> dict[int, dict[int, LineTerms]]:
    """The refund policy's terms of the holds' lines, from the holds query's own columns (no query).

    Every line holds something (goods: units of stock), so these are all the order's lines, and an order's
    `cancel_refund_amount` counts goods and their shipping as the order's page (`order_actions`) does."""
    by_order: dict[int, tuple[OrderFacts, list[LineFacts]]] = {}
    for hold in holds:
        if hold["order_status"] not in CANCELLABLE_ORDERS:
            continue
        order = by_order.setdefault(
            hold["order_id"],
            (
                OrderFacts(
                    status=hold["order_status"],
                    subtotal=hold["order_subtotal"],
                    tax=hold["order_tax"],
                    shipping=hold["order_shipping"],
                    total=hold["order_total"],
                    placed_at=hold["order_created_at"],
                ),
                [],
            ),
        )
        goods = hold["kind"] == BookingKind.GOODS
        # As `payments.policy.line_facts` reads a line: goods are a product line, decided by their shipment.
        order[1].append(
            LineFacts(
                id=hold["line_id"],
                kind=OrderLine.Kind.PRODUCT if goods else hold["kind"],
                total=hold["amount"],
                status=hold["line_status"],
                goods=goods,
                starts_at=hold["starts_at"],
                downloads=hold["downloads"],
                hold_status=None if goods else hold["status"],
                tax=int(hold["line_tax"]),
                shipped=goods and hold["shipment_status"] in PARCEL_LEFT,
            )
        )
    return {order_id: line_terms(facts, lines, now=now) for order_id, (facts, lines) in by_order.items()}


def order_actions(*, order: Order, now: datetime | None = None) -> OrderActions:
    """The next steps of one order (for its page): the bookings list's answers, with every line's terms read
    as the page's lines and the cancel itself read them (`order_line_terms`), so that its summary and they agree."""
    now = now or timezone.now()
    holds = hold_rows(user_id=order.user_id, order_ids=[order.pk])
    actions = _actions_of_orders(holds, user_id=order.user_id, now=now).get(order.pk, OrderActions())
    if order.status not in CANCELLABLE_ORDERS:
        return actions
    lines = order_line_terms(order, now=now)
    allowed = [term for term in lines.values() if term.refundable]
    deadlines = [term.deadline for term in allowed if term.deadline is not None]
    return replace(
        actions,
        can_cancel=bool(allowed),
        cancel_until=min(deadlines) if deadlines else None,
        cancel_refund_amount=refund_of_all(list(lines.values())) if allowed else None,
        lines=lines,
    )


def calendar_url(order_code: str) -> str:
    return settings.SITE_URL + reverse("order_calendar", kwargs={"code": order_code})


def _shipment(row: dict[str, Any]) -> BookingShipment | None:
    if row["shipment_status"] is None:
        return None
    return BookingShipment(
        status=row["shipment_status"],
        carrier=row["carrier"] or None,
        tracking_number=row["tracking_number"] or None,
        tracking_url=row["tracking_url"] or None,
    )


def _item(row: dict[str, Any], actions: OrderActions) -> BookingItem:
    kind = BookingKind(row["kind"])
    confirmed = row["status"] == HoldStatus.CONFIRMED
    return BookingItem(
        kind=kind,
        id=row["id"],
        line_id=row["line_id"],
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
        quantity=row["quantity"],
        shipment=_shipment(row),
        status=row["status"],
        amount=money(row["amount"], row["currency"]),
        created_at=row["created_at"],
        actions=actions,
        download_url=download_url(Grant(pk=row["id"])) if confirmed and kind == BookingKind.PRODUCT else None,
        calendar_url=calendar_url(row["order_code"]) if confirmed and kind in DATED else None,
    )


def booking_page(
    *, user: Any, filters: BookingFilters, page: int, page_size: int, now: datetime | None = None
) -> Page[BookingItem]:
    """One page of the customer's bookings, reservations, grants and goods, newest first, in at most three queries."""
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

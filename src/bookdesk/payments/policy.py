"""The refund policy, line by line: the one rule that says what cancelling each line of an order gives back.

Every caller asks here: the line cancel (`POST /api/orders/{code}/lines/{id}/cancel`), the order-level
cancel (which applies it line by line), the order page and the bookings list (which show a Cancel button
only where it answers yes, with the amount). It is pure: it decides from plain facts (`OrderFacts`,
`LineFacts`) that the ORM (`facts_of`) or the bookings list's SQL provide.

- A course seat or a studio slot: until `CANCELLATION_CUTOFF_HOURS` before it starts, refunded at
  `CANCELLATION_REFUND_PERCENT` of what the line brought in.
- A license: never once a file of it was downloaded; otherwise within `LICENSE_REFUND_DAYS` of purchase.
- Goods: until shipped (`_goods_refusal`); shipping is refunded with the last goods line cancelled.

What a line brought in is its price with its own tax, as priced at checkout and stored on the line
(`OrderLine.tax_amount`, at the line's rate): so a line's refund, its credit note line and its invoice line
agree to the cent. Shipping brought in what is left of the total (its price, with its tax when prices
exclude tax), and goes back with the last goods line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from bookdesk.orders.models import HoldStatus, Order, OrderLine, OrderStatus, Shipment, ShipmentStatus

# Orders whose lines a customer may cancel.
CANCELLABLE_ORDERS = frozenset({OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_REFUNDED})
# Shipments whose parcel has left: their goods are no longer cancelled, only returned.
PARCEL_LEFT = frozenset({ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED})


@dataclass(frozen=True)
class OrderFacts:
    status: str
    subtotal: int
    tax: int
    shipping: int
    total: int
    placed_at: datetime

    @property
    def tax_on_top(self) -> bool:
        """Prices exclusive of tax: the total adds the tax to the subtotal."""
        return self.tax > 0 and self.total == self.subtotal + self.tax + self.shipping


@dataclass(frozen=True)
class LineFacts:
    id: int
    kind: str
    total: int  # unit price × quantity
    status: str  # OrderLine.Status
    goods: bool  # a product that ships (no license)
    starts_at: datetime | None  # a seat's or a slot's start
    downloads: int | None  # a license's downloads
    hold_status: str | None  # its booking's, reservation's or grant's status (goods: None)
    tax: int  # its tax as priced at checkout (stored on the line)
    shipped: bool = False  # goods: the order's shipment has left (shipped or delivered)


@dataclass(frozen=True)
class LineTerms:
    """What cancelling one line would do: refundable or not (with the reason), and the refund with its tax."""

    line_id: int
    refundable: bool
    amount: int = 0  # refunded for the line: its price with its tax, times the policy's share
    tax: int = 0  # the tax in `amount`
    shipping: int = 0  # the order's shipping, refunded with the last goods line
    reason: str = ""
    deadline: datetime | None = None
    goods: bool = False  # an active goods line: the order's shipping goes back with the last of them
    order_shipping: int = 0

    @property
    def total(self) -> int:
        return self.amount + self.shipping


def brought_in(order: OrderFacts, line: LineFacts) -> tuple[int, int]:
    """What the line brought in, as (its amount with tax, its tax); over all lines they sum to total − shipping
    (shipping with its tax when prices exclude tax)."""
    return line.total + (line.tax if order.tax_on_top else 0), line.tax


def shipping_charged(order: OrderFacts, lines: Sequence[LineFacts]) -> int:
    """What the order's shipping brought in: the total less what its lines did (all its lines given)."""
    if not order.shipping:
        return 0
    return order.total - sum(brought_in(order, line)[0] for line in lines)


def _goods_refusal(line: LineFacts) -> str | None:
    """Why these goods can no longer be cancelled: they have shipped (the operator refunds a return)."""
    if line.shipped:
        return "These goods have shipped: send them back and the shop refunds them as a return."
    return None


def _dated_refusal(line: LineFacts, now: datetime) -> tuple[str | None, datetime | None]:
    if line.starts_at is None:
        return "This booking has no start time, so it cannot be cancelled here.", None
    hours = int(settings.CANCELLATION_CUTOFF_HOURS)
    deadline = line.starts_at - timedelta(hours=hours)
    if now > deadline:
        return f"Cancellation closed {hours} hours before the start.", deadline
    return None, deadline


def _license_refusal(line: LineFacts, order: OrderFacts, now: datetime) -> tuple[str | None, datetime | None]:
    if line.downloads:
        return "A file of this license was downloaded, so it can no longer be refunded.", None
    days = int(settings.LICENSE_REFUND_DAYS)
    deadline = order.placed_at + timedelta(days=days)
    if now > deadline:
        return f"A license can be refunded within {days} days of purchase.", deadline
    return None, deadline


def line_terms(order: OrderFacts, lines: Sequence[LineFacts], *, now: datetime | None = None) -> dict[int, LineTerms]:
    """The terms of cancelling each line of the order (all its lines given, for the tax shares and shipping)."""
    now = now or timezone.now()
    share = int(settings.CANCELLATION_REFUND_PERCENT)
    goods_left = {line.id for line in lines if line.goods and line.status == OrderLine.Status.ACTIVE}
    # Shipping goes back with the last goods line, unless the parcel left: a return refunds the goods only.
    shipping = 0 if any(line.shipped for line in lines) else shipping_charged(order, lines)
    terms = {}
    for line in lines:
        reason: str | None
        deadline: datetime | None = None
        percent = 100
        if order.status not in CANCELLABLE_ORDERS:
            reason = "Only a confirmed order can be cancelled."
        elif line.status != OrderLine.Status.ACTIVE:
            reason = "This line is already cancelled."
        elif line.hold_status is not None and line.hold_status != HoldStatus.CONFIRMED:
            reason = "This line is not confirmed, so there is nothing to cancel."
        elif line.kind in (OrderLine.Kind.COURSE, OrderLine.Kind.SERVICE):
            reason, deadline = _dated_refusal(line, now)
            percent = share
        elif line.goods:
            reason = _goods_refusal(line)
        else:
            reason, deadline = _license_refusal(line, order, now)
        goods = line.id in goods_left
        if reason is not None:
            terms[line.id] = LineTerms(
                line.id, False, reason=reason, deadline=deadline, goods=goods, order_shipping=shipping
            )
            continue
        amount, tax = brought_in(order, line)
        terms[line.id] = LineTerms(
            line.id,
            True,
            amount=amount * percent // 100,
            tax=tax * percent // 100,
            shipping=shipping if goods_left == {line.id} else 0,
            deadline=deadline,
            goods=goods,
            order_shipping=shipping,
        )
    return terms


def shipping_with(terms: Sequence[LineTerms], taken: Sequence[LineTerms]) -> int:
    """The shipping refunded when the lines `taken` (of all the order's `terms`) are cancelled together: all
    of it when they take every goods line left."""
    goods_left = {term.line_id for term in terms if term.goods}
    chosen = {term.line_id for term in taken if term.refundable}
    return terms[0].order_shipping if goods_left and goods_left <= chosen else 0


def refund_of_all(terms: Sequence[LineTerms]) -> int:
    """What cancelling the whole order now gives back: every line the policy allows, and the shipping with
    the last goods."""
    return sum(term.amount for term in terms if term.refundable) + shipping_with(terms, terms)


# --- the facts, read with the ORM ------------------------------------------------------------------------


def order_facts(order: Order) -> OrderFacts:
    return OrderFacts(
        status=order.status,
        subtotal=order.subtotal_amount,
        tax=order.tax_amount,
        shipping=order.shipping_amount,
        total=order.total_amount,
        placed_at=order.created_at,
    )


def line_facts(line: OrderLine, *, shipped: bool = False) -> LineFacts:
    """A line's facts; its course, reservation and grant should be selected with it (`facts_of` does)."""
    hold = line.hold
    starts_at = None
    if line.kind == OrderLine.Kind.COURSE and line.course is not None:
        starts_at = line.course.starts_at
    elif line.kind == OrderLine.Kind.SERVICE and hold is not None:
        starts_at = hold.starts_at  # type: ignore[union-attr]
    goods = line.is_goods
    return LineFacts(
        id=line.pk,
        kind=line.kind,
        total=line.total_amount,
        status=line.status,
        goods=goods,
        starts_at=starts_at,
        downloads=getattr(hold, "download_count", None),
        hold_status=None if goods or hold is None else hold.status,
        tax=line.tax_amount,
        shipped=goods and shipped,
    )


def facts_of(order: Order) -> tuple[OrderFacts, list[LineFacts]]:
    """The order's facts and all its lines' (one query for the lines, and one for the shipment of goods)."""
    lines = list(OrderLine.objects.filter(order=order).select_related("course", "reservation", "grant").order_by("pk"))
    shipped = any(line.is_goods for line in lines) and (
        Shipment.objects.filter(order=order, status__in=PARCEL_LEFT).exists()
    )
    return order_facts(order), [line_facts(line, shipped=shipped) for line in lines]


def order_line_terms(order: Order, *, now: datetime | None = None) -> dict[int, LineTerms]:
    """The terms of every line of the order, by line id."""
    facts, lines = facts_of(order)
    return line_terms(facts, lines, now=now)

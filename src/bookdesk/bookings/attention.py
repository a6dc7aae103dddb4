"""What needs an operator: orders under review, failed refunds, dead webhook events, failed emails.

One query per section whatever the data (each reads at most `limit` + 1 rows, to say whether there are more).
Paid orders waiting to ship would be a section too; orders have no shipments on this branch yet, so
`shipping_waiting` is an empty hook (see its docstring).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from bookdesk.notifications.models import OutgoingEmail
from bookdesk.orders.models import Order, OrderStatus
from bookdesk.payments.models import Refund, WebhookEvent

SECTION_LIMIT = 50
T = TypeVar("T")


@dataclass(frozen=True)
class Section(Generic[T]):
    items: list[T] = field(default_factory=list)
    more: bool = False  # there are more than shown


@dataclass(frozen=True)
class Review:
    order_id: int
    code: str
    email: str
    total_amount: int
    amount_refunded: int
    currency: str
    reason: str
    since: dt.datetime

    @property
    def kind(self) -> str:
        text = self.reason.lower()
        if text.startswith("dispute"):
            return "Dispute"
        if "refund" in text:
            return "Refund failed"
        return "Amount mismatch"

    @property
    def refundable(self) -> int:
        return self.total_amount - self.amount_refunded


@dataclass(frozen=True)
class FailedRefund:
    refund_id: int
    stripe_refund_id: str
    order_id: int
    order_code: str
    order_status: str
    amount: int
    currency: str
    reason: str
    created_at: dt.datetime


@dataclass(frozen=True)
class DeadEvent:
    event_id: int
    stripe_id: str
    type: str
    attempts: int
    last_error: str
    received_at: dt.datetime


@dataclass(frozen=True)
class FailedEmail:
    email_id: int
    key: str
    to: str
    subject: str
    status: str
    attempts: int
    last_error: str
    order_id: int | None
    order_code: str


@dataclass(frozen=True)
class Attention:
    reviews: Section[Review]
    failed_refunds: Section[FailedRefund]
    dead_events: Section[DeadEvent]
    failed_emails: Section[FailedEmail]
    to_ship: Section[object]
    shipping_available: bool

    @property
    def count(self) -> int:
        return sum(
            len(section.items)
            for section in (self.reviews, self.failed_refunds, self.dead_events, self.failed_emails, self.to_ship)
        )


def _section(rows: list[T], limit: int) -> Section[T]:
    return Section(rows[:limit], len(rows) > limit)


def shipping_waiting(*, limit: int = SECTION_LIMIT) -> tuple[bool, Section[object]]:
    """Paid orders waiting to ship longer than a set time: the hook for `orders.Shipment`.

    This branch has no shipments yet, so there is nothing to list (False: the section says shipping is not
    set up). When `orders.Shipment` lands, read its `to_ship` rows older than the set time here.
    """
    return False, Section()


def attention(*, limit: int = SECTION_LIMIT) -> Attention:
    """Every section, oldest problem first (four queries)."""
    reviews = [
        Review(o.pk, o.code, o.email, o.total_amount, o.amount_refunded, o.currency, o.review_reason, o.updated_at)
        for o in Order.objects.filter(status=OrderStatus.NEEDS_REVIEW).order_by("updated_at", "pk")[: limit + 1]
    ]
    refunds = [
        FailedRefund(
            r.pk,
            r.stripe_refund_id,
            r.payment.order_id,
            r.payment.order.code,
            r.payment.order.status,
            r.amount,
            r.currency,
            r.reason,
            r.created_at,
        )
        for r in Refund.objects.filter(status=Refund.Status.FAILED)
        .select_related("payment__order")
        .order_by("created_at", "pk")[: limit + 1]
    ]
    events = [
        DeadEvent(e.pk, e.stripe_id, e.type, e.attempts, e.last_error, e.received_at)
        for e in WebhookEvent.objects.filter(status=WebhookEvent.Status.DEAD)
        .defer("payload")
        .order_by("received_at", "pk")[: limit + 1]
    ]
    emails = [
        FailedEmail(
            m.pk,
            m.key,
            m.to,
            m.subject,
            m.status,
            m.attempts,
            m.last_error,
            m.order_id,
            m.order.code if m.order else "",
        )
        for m in OutgoingEmail.objects.filter(status__in=[OutgoingEmail.Status.FAILED, OutgoingEmail.Status.DEAD])
        .select_related("order")
        .only("pk", "key", "to", "subject", "status", "attempts", "last_error", "order__code", "created_at")
        .order_by("created_at", "pk")[: limit + 1]
    ]
    shipping_available, to_ship = shipping_waiting(limit=limit)
    return Attention(
        reviews=_section(reviews, limit),
        failed_refunds=_section(refunds, limit),
        dead_events=_section(events, limit),
        failed_emails=_section(emails, limit),
        to_ship=to_ship,
        shipping_available=shipping_available,
    )

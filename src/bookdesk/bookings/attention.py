"""What needs an operator: orders under review, failed refunds, dead webhook events, failed emails, and paid
goods waiting to ship longer than `settings.SHIP_WITHIN_HOURS`.

One query per section whatever the data (each reads at most `limit` + 1 rows, to say whether there are more).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.conf import settings
from django.utils import timezone

from bookdesk.notifications.models import OutgoingEmail
from bookdesk.orders.models import Order, OrderStatus, Shipment, ShipmentStatus
from bookdesk.orders.shipping import SHIPPABLE_ORDERS
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
class LateShipment:
    """A paid order's goods still to ship, recorded (paid) longer ago than the shop ships within."""

    shipment_id: int
    order_id: int
    order_code: str
    email: str
    name: str
    city: str
    country: str
    rate_name: str
    paid_at: dt.datetime  # when the paid session recorded the shipment
    waiting: dt.timedelta


@dataclass(frozen=True)
class Attention:
    reviews: Section[Review]
    failed_refunds: Section[FailedRefund]
    dead_events: Section[DeadEvent]
    failed_emails: Section[FailedEmail]
    to_ship: Section[LateShipment]
    ship_within_hours: int

    @property
    def count(self) -> int:
        return sum(
            len(section.items)
            for section in (self.reviews, self.failed_refunds, self.dead_events, self.failed_emails, self.to_ship)
        )


def _section(rows: list[T], limit: int) -> Section[T]:
    return Section(rows[:limit], len(rows) > limit)


def shipping_waiting(*, now: dt.datetime, within_hours: int, limit: int = SECTION_LIMIT) -> Section[LateShipment]:
    """Paid orders whose goods still wait to ship `within_hours` after payment, longest waiting first (one query).

    Only orders that may still ship count (confirmed or partly refunded: `orders.shipping.SHIPPABLE_ORDERS`);
    a shipment is recorded when its paid session is applied, so its `created_at` is when the clock started.
    """
    cutoff = now - dt.timedelta(hours=within_hours)
    rows = (
        Shipment.objects.filter(
            status=ShipmentStatus.TO_SHIP, order__status__in=SHIPPABLE_ORDERS, created_at__lte=cutoff
        )
        .select_related("order")
        .only("pk", "name", "city", "country", "rate_name", "created_at", "order__code", "order__email")
        .order_by("created_at", "pk")[: limit + 1]
    )
    late = [
        LateShipment(
            shipment_id=s.pk,
            order_id=s.order_id,
            order_code=s.order.code,
            email=s.order.email,
            name=s.name,
            city=s.city,
            country=s.country,
            rate_name=s.rate_name,
            paid_at=s.created_at,
            waiting=now - s.created_at,
        )
        for s in rows
    ]
    return _section(late, limit)


def attention(*, limit: int = SECTION_LIMIT, now: dt.datetime | None = None) -> Attention:
    """Every section, oldest problem first (five queries)."""
    now = now or timezone.now()
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
    within_hours = int(settings.SHIP_WITHIN_HOURS)
    return Attention(
        reviews=_section(reviews, limit),
        failed_refunds=_section(refunds, limit),
        dead_events=_section(events, limit),
        failed_emails=_section(emails, limit),
        to_ship=shipping_waiting(now=now, within_hours=within_hours, limit=limit),
        ship_within_hours=within_hours,
    )

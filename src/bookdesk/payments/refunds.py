"""Refunds we make: an operator's (full or partial, from the admin) and a customer's cancellation.

The Stripe call runs outside any lock with an idempotency key derived from the order, the refund's
number and its amount, so a retried request never refunds twice. Stripe's own `charge.refunded`
event arrives later and finds the refund already applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bookdesk.errors import Conflict, InvalidInput
from bookdesk.orders import states
from bookdesk.orders.audit import audit
from bookdesk.orders.holds import cancel_holds
from bookdesk.orders.models import Order, OrderLine, OrderStatus
from bookdesk.orders.services import order_transition
from bookdesk.payments import events, gateway
from bookdesk.payments.models import Payment, Refund


class NotCancellable(Conflict):
    code = "not_cancellable"
    title = "This order cannot be cancelled"


def _kept_payment(order: Order) -> Payment:
    payment = order.payments.filter(status=Payment.Status.PAID).order_by("attempt").first()
    if payment is None or not payment.payment_intent_id:
        raise Conflict(f"Order {order.code} has no payment to refund.")
    return payment


def refund_order(*, order: Order, amount: int | None, actor: str, reason: str, give_back: bool = False) -> Refund:
    """Refund `amount` (minor units; None = all that is left) of the order's payment.

    The order becomes refunded (everything given back) or partially refunded. With `give_back` (a
    cancellation) its seats, slots and licenses are released even when only part of the money is.
    """
    order = Order.objects.get(pk=order.pk)
    if order.status not in states.REFUNDABLE:
        raise Conflict(f"Order {order.code} is {order.get_status_display().lower()}; it cannot be refunded.")
    payment = _kept_payment(order)
    left = payment.amount_received - payment.amount_refunded
    amount = left if amount is None else amount
    if not 0 < amount <= left:
        raise InvalidInput(
            f"The refund must be between 1 and {left} (minor units).",
            errors=[{"field": "amount", "in": "body", "message": f"between 1 and {left}"}],
        )
    number = payment.refunds.count() + 1
    stripe_refund = gateway.create_refund(
        payment_intent=payment.payment_intent_id or "",
        amount=amount,
        idempotency_key=f"refund:{order.code}:{number}:{amount}",
    )
    return _record(
        order=order, payment=payment, stripe_refund=stripe_refund, actor=actor, reason=reason, give_back=give_back
    )


@transaction.atomic
def _record(
    *, order: Order, payment: Payment, stripe_refund: object, actor: str, reason: str, give_back: bool
) -> Refund:
    order = Order.objects.select_for_update().get(pk=order.pk)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    refund_id, amount = str(stripe_refund.id), int(stripe_refund.amount)  # type: ignore[attr-defined]
    refund, created = Refund.objects.get_or_create(
        stripe_refund_id=refund_id,
        defaults={
            "payment": payment,
            "amount": amount,
            "currency": payment.currency,
            "status": str(stripe_refund.status or Refund.Status.PENDING),  # type: ignore[attr-defined]
            "reason": reason[:200],
        },
    )
    if not created:
        return refund
    payment.amount_refunded += amount
    payment.save(update_fields=["amount_refunded", "updated_at"])
    order.amount_refunded = min(order.total_amount, order.amount_refunded + amount)
    order.save(update_fields=["amount_refunded", "updated_at"])
    full = order.amount_refunded >= order.total_amount
    audit(actor=actor, action="refund.created", obj=refund, order=order, data={"amount": amount, "reason": reason})
    order_transition(
        order=order,
        to=OrderStatus.REFUNDED if full else OrderStatus.PARTIALLY_REFUNDED,
        actor=actor,
        data={"refund": refund_id, "amount_refunded": order.amount_refunded},
    )
    if full or give_back:
        cancel_holds(order=order)

    events.tell_refund_issued(order, amount=amount, refund_id=refund_id, cause=events.RefundCause.CANCELLATION)
    return refund


# --- a customer's cancellation -------------------------------------------------------------------


@dataclass(frozen=True)
class CancellationTerms:
    allowed: bool
    refund_amount: int
    deadline: datetime | None
    reason: str


def cancellation_terms(order: Order, *, now: datetime | None = None) -> CancellationTerms:
    """What cancelling a confirmed order would give back, under CANCELLATION_CUTOFF_HOURS and _REFUND_PERCENT."""
    now = now or timezone.now()
    if order.status != OrderStatus.CONFIRMED:
        return CancellationTerms(False, 0, None, "Only a confirmed order can be cancelled.")
    starts = [
        moment
        for line in OrderLine.objects.filter(order=order).select_related("course", "reservation")
        if (moment := _start_of(line)) is not None
    ]
    if not starts:
        return CancellationTerms(False, 0, None, "Digital and shipped goods cannot be cancelled once bought.")
    deadline = min(starts) - timedelta(hours=int(settings.CANCELLATION_CUTOFF_HOURS))
    if now > deadline:
        return CancellationTerms(
            False, 0, deadline, f"Cancellation closed {settings.CANCELLATION_CUTOFF_HOURS} hours before the start."
        )
    share = int(settings.CANCELLATION_REFUND_PERCENT)
    return CancellationTerms(True, order.total_amount * share // 100, deadline, "")


def _start_of(line: OrderLine) -> datetime | None:
    if line.kind == OrderLine.Kind.COURSE and line.course is not None:
        return line.course.starts_at
    reservation = getattr(line, "reservation", None)
    return reservation.starts_at if reservation is not None else None


def order_cancel_confirmed(*, order: Order, actor: str) -> Order:
    """The customer cancels a confirmed booking within the policy: refunded (in full or the policy's share)."""
    terms = cancellation_terms(order)
    if not terms.allowed:
        raise NotCancellable(terms.reason)
    if terms.refund_amount > 0:
        refund_order(
            order=order, amount=terms.refund_amount, actor=actor, reason="cancelled by the customer", give_back=True
        )
    else:
        with transaction.atomic():
            locked = Order.objects.select_for_update().get(pk=order.pk)
            cancel_holds(order=locked)
            audit(actor=actor, action="order.cancelled_without_refund", obj=locked, order=locked)
    return Order.objects.get(pk=order.pk)

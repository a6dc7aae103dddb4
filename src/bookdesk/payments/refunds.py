"""Refunds we make: an operator's (full or partial, from the admin) and a customer's cancellation of lines
(under `payments.policy`), one line or the whole order.

The Stripe call runs outside any lock with an idempotency key derived from the order, the refund's
number and its amount, so a retried request never refunds twice. Stripe's own `charge.refunded`
event arrives later and finds the refund already applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from bookdesk.errors import Conflict, InvalidInput, NotFound
from bookdesk.orders import states
from bookdesk.orders.audit import audit
from bookdesk.orders.holds import cancel_holds, cancel_line_holds
from bookdesk.orders.models import Order, OrderLine, OrderStatus
from bookdesk.orders.services import order_transition
from bookdesk.orders.shipping import shipment_cancel_unshipped
from bookdesk.orders.states import REFUNDABLE
from bookdesk.payments import events, gateway
from bookdesk.payments.models import Payment, Refund
from bookdesk.payments.policy import LineFacts, LineTerms, OrderFacts, brought_in, facts_of, line_terms, shipping_with


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
    refund, created = _apply_refund(order=order, payment=payment, stripe_refund=stripe_refund, reason=reason)
    if not created:
        return refund
    full = order.amount_refunded >= order.total_amount
    audit(
        actor=actor,
        action="refund.created",
        obj=refund,
        order=order,
        data={"amount": refund.amount, "reason": reason},
    )
    order_transition(
        order=order,
        to=OrderStatus.REFUNDED if full else OrderStatus.PARTIALLY_REFUNDED,
        actor=actor,
        data={"refund": refund.stripe_refund_id, "amount_refunded": order.amount_refunded},
    )
    if full or give_back:
        cancel_holds(order=order)
        # Everything is given back: no line is left to cancel.
        OrderLine.objects.filter(order=order, status=OrderLine.Status.ACTIVE).update(
            status=OrderLine.Status.CANCELLED, cancelled_at=timezone.now()
        )

    events.tell_refund_issued(
        order, amount=refund.amount, refund_id=refund.stripe_refund_id, cause=events.RefundCause.CANCELLATION
    )
    return refund


def _apply_refund(*, order: Order, payment: Payment, stripe_refund: object, reason: str) -> tuple[Refund, bool]:
    """Store Stripe's refund once (both locked); the payment's and the order's refunded amounts grow with it."""
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
    if created:
        payment.amount_refunded += amount
        payment.save(update_fields=["amount_refunded", "updated_at"])
        order.amount_refunded = min(order.total_amount, order.amount_refunded + amount)
        order.save(update_fields=["amount_refunded", "updated_at"])
    return refund, created


# --- cancelling lines, under the policy of each line's kind (`payments.policy`) ---------------------------


class NotRefundable(Conflict):
    code = "not_refundable"
    title = "This cannot be refunded"


@dataclass(frozen=True)
class LineOutcome:
    """One line of a cancellation: refunded (with the amount and its tax) or refused (with the reason)."""

    line_id: int
    description: str
    kind: str
    refunded: bool
    amount: int = 0
    tax: int = 0
    reason: str = ""


@dataclass(frozen=True)
class Cancellation:
    order: Order
    refund: Refund | None
    refunded: list[LineOutcome]
    refused: list[LineOutcome]
    shipping: int  # the order's shipping, refunded with its last goods line

    @property
    def amount(self) -> int:
        return sum(line.amount for line in self.refunded) + self.shipping


def order_lines_cancel(
    *,
    order: Order,
    line_ids: Sequence[int] | None,
    actor: str,
    reason: str = "cancelled by the customer",
    by_operator: bool = False,
    now: datetime | None = None,
) -> Cancellation:
    """Cancel these lines of the order (None: every line), each under its kind's policy, in one refund.

    The order row is locked from the decision to the record, Stripe's refund included (its idempotency key
    names the lines), so two cancels of one line at once refund it once: the second finds it cancelled.
    What the policy refuses is listed with its reason; if it refuses everything asked, `NotRefundable` and
    nothing changes. An operator (`by_operator`) refunds past the policy's deadlines and downloads (a
    return), never a line twice nor more than it brought in.
    """
    now = now or timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        facts, lines = facts_of(order)
        by_id = {line.id: line for line in lines}
        if line_ids is not None and any(line_id not in by_id for line_id in line_ids):
            raise NotFound("Order line not found.")
        asked = [by_id[line_id] for line_id in sorted(set(line_ids))] if line_ids is not None else lines
        if line_ids is None:  # the whole order: what is already cancelled is not asked again
            asked = [line for line in lines if line.status == OrderLine.Status.ACTIVE] or lines
        terms = line_terms(facts, lines, now=now)
        if by_operator:
            terms = {line_id: _operator_terms(term, facts, lines) for line_id, term in terms.items()}
        described = {line.pk: line for line in OrderLine.objects.filter(order=order)}
        granted = [terms[line.id] for line in asked if terms[line.id].refundable]
        refused = [
            _outcome(described[line.id], refunded=False, reason=terms[line.id].reason)
            for line in asked
            if not terms[line.id].refundable
        ]
        if not granted:
            raise NotRefundable(" ".join(dict.fromkeys(outcome.reason for outcome in refused)))
        shipping = shipping_with(list(terms.values()), granted)
        refunded = [
            _outcome(described[term.line_id], refunded=True, amount=term.amount, tax=term.tax) for term in granted
        ]
        amount = sum(term.amount for term in granted) + shipping
        refund = None
        if amount > 0:
            refund = _refund_lines(
                order=order, amount=amount, lines=refunded, shipping=shipping, actor=actor, reason=reason
            )
        _cancel_lines(order=order, lines=refunded, actor=actor, now=now)
        if refund is None:
            audit(
                actor=actor,
                action="order.cancelled_without_refund",
                obj=order,
                order=order,
                data={"lines": [line.line_id for line in refunded]},
            )
        return Cancellation(order=order, refund=refund, refunded=refunded, refused=refused, shipping=shipping)


def _operator_terms(term: LineTerms, order: OrderFacts, lines: Sequence[LineFacts]) -> LineTerms:
    """An operator refunds past deadlines and downloads (a return), without the customer's share: the line's
    full price with its tax, once."""
    line = next(line for line in lines if line.id == term.line_id)
    if line.status != OrderLine.Status.ACTIVE or order.status not in REFUNDABLE:
        return term
    amount, tax = brought_in(order, line)
    return replace(term, refundable=True, amount=amount, tax=tax, reason="")


def _outcome(line: OrderLine, *, refunded: bool, amount: int = 0, tax: int = 0, reason: str = "") -> LineOutcome:
    return LineOutcome(
        line_id=line.pk,
        description=line.description,
        kind=line.kind,
        refunded=refunded,
        amount=amount,
        tax=tax,
        reason=reason,
    )


def _refund_lines(
    *, order: Order, amount: int, lines: Sequence[LineOutcome], shipping: int, actor: str, reason: str
) -> Refund:
    """Refund these lines' amount through Stripe and record it (the order is locked by the caller)."""
    payment = Payment.objects.select_for_update().get(pk=_kept_payment(order).pk)
    left = min(payment.amount_received - payment.amount_refunded, order.total_amount - order.amount_refunded)
    if amount > left:  # an operator refunded part of the order before: never more than is left
        raise NotRefundable(f"Only {left} (minor units) of this order is left to refund.")
    ids = ",".join(str(line.line_id) for line in lines)
    stripe_refund = gateway.create_refund(
        payment_intent=payment.payment_intent_id or "",
        amount=amount,
        idempotency_key=f"refund:{order.code}:lines:{ids}",
    )
    refund, _ = _apply_refund(order=order, payment=payment, stripe_refund=stripe_refund, reason=reason)
    data = {
        "amount": refund.amount,
        "reason": reason,
        "shipping": shipping,
        "lines": [{"line": line.line_id, "amount": line.amount, "tax": line.tax} for line in lines],
    }
    audit(actor=actor, action="refund.created", obj=refund, order=order, data=data)
    full = order.amount_refunded >= order.total_amount
    order_transition(
        order=order,
        to=OrderStatus.REFUNDED if full else OrderStatus.PARTIALLY_REFUNDED,
        actor=actor,
        data={"refund": refund.stripe_refund_id, "amount_refunded": order.amount_refunded},
    )
    events.tell_refund_issued(
        order,
        amount=refund.amount,
        refund_id=refund.stripe_refund_id,
        cause=events.RefundCause.CANCELLATION,
        lines=[
            events.RefundedLine(
                line_id=line.line_id, description=line.description, kind=line.kind, amount=line.amount, tax=line.tax
            )
            for line in lines
        ],
        shipping=shipping,
    )
    return refund


def _cancel_lines(*, order: Order, lines: Sequence[LineOutcome], actor: str, now: datetime) -> None:
    """The lines are cancelled with what they refunded, and what they held is given back."""
    for line in lines:
        updated = OrderLine.objects.filter(pk=line.line_id, status=OrderLine.Status.ACTIVE).update(
            status=OrderLine.Status.CANCELLED, amount_refunded=line.amount, cancelled_at=now
        )
        if updated != 1:  # the order is locked: only a bug gets here
            raise NotRefundable("This line is already cancelled.")
        audit(
            actor=actor,
            action="line.cancelled",
            obj=OrderLine(pk=line.line_id),
            order=order,
            data={"line": line.line_id, "description": line.description, "amount": line.amount, "tax": line.tax},
        )
    cancel_line_holds(line_ids=[line.line_id for line in lines])
    shipment_cancel_unshipped(order=order, actor=actor)


# --- a customer's cancellation of the whole order --------------------------------------------------------


def order_cancel_confirmed(*, order: Order, actor: str) -> Cancellation:
    """The customer cancels a confirmed order: every line the policy allows, refunded; the rest listed."""
    try:
        return order_lines_cancel(order=order, line_ids=None, actor=actor)
    except NotRefundable as exc:
        raise NotCancellable(exc.detail) from exc

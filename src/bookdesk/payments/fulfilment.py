"""What a Checkout Session's outcome does to its order: one idempotent entry point, `fulfil_checkout`.

The webhook handlers, the success page and reconciliation all call `fulfil_checkout(session_id)`. It
reads the session from Stripe (never trusting a payload that may be stale), then applies it in one
transaction under the order's row lock. Applying the same session twice changes nothing. The webhook
worker hands the paid sessions of a batch of events to `fulfil_paid_sessions`, which confirms the plain
ones together (the same decision, the same writes, a few statements for all) and leaves the rest to
`fulfil_checkout`.

Outcomes for a paid session:
- the order still holds its capacity (or takes it back) → paid → confirmed, holds confirmed, email;
- the amount or currency differs from the attempt → `needs_review`, nothing confirmed;
- goods: the order's shipping and total become the option the buyer chose (the session's `amount_total` is
  the goods plus it), the address is stored as the order's `Shipment`; an option we did not offer, or an
  address outside the chosen option's zone → `needs_review`;
- another attempt of the order was paid already → this payment is refunded in full;
- the order's capacity is gone (a late payment after the hold lapsed) → paid, then refunded in full.
Refunds call Stripe outside the transaction with an idempotency key per payment, so a crash between
the decision (payment `refunding`) and the refund is finished by the next try.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import chain
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bookdesk.cart.services import carts_empty_paid
from bookdesk.db import raw
from bookdesk.ops.metrics import PAYMENTS
from bookdesk.orders import states
from bookdesk.orders.audit import audit, audit_batch
from bookdesk.orders.holds import cancel_holds, confirm_holds, release_holds
from bookdesk.orders.models import Order, OrderStatus
from bookdesk.orders.pricing import shipping_charged, tax_of
from bookdesk.orders.selectors import lines_with_holds_of
from bookdesk.orders.services import order_rehold, order_transition
from bookdesk.orders.shipping import ShippingOption, shipment_record
from bookdesk.payments import documents, events, gateway
from bookdesk.payments.models import Payment, Refund

logger = logging.getLogger("bookdesk.payments.fulfilment")


class Outcome(StrEnum):
    """What applying a Checkout Session, a refund or a dispute did (stored on its webhook event for operators)."""

    CONFIRMED = "order confirmed"
    PAID_ORDER_LEFT = "paid; the order was not waiting for it and is left as it is"
    UNKNOWN_SESSION = "unknown session"  # not one of ours (another integration on the same account), or not yet
    SESSION_OPEN = "session still open"
    ALREADY_APPLIED = "already applied"
    IGNORED = "ignored: the payment has moved on"
    ORDER_EXPIRED = "order expired, holds released"
    PAYMENT_EXPIRED = "payment expired"
    PROCESSING = "order processing"
    FAILED = "order failed, holds released, customer told"
    FAILED_ORDER_KEPT = "payment failed; the order keeps its state"
    REVIEW = "needs review: amount or currency differs"
    DUPLICATE = "paid twice: this payment will be refunded"
    LATE = "late payment, capacity gone: refunding"
    UNKNOWN_PAYMENT = "unknown payment"
    UNNEEDED_REFUND = "refund of an unneeded payment recorded"
    REFUNDED = "order refunded"
    PARTIALLY_REFUNDED = "order partially refunded"
    UNKNOWN_REFUND = "unknown refund"
    REFUND_UPDATED = "refund status recorded"
    DISPUTED = "order flagged for review (dispute)"
    NOT_PAID_AT_STRIPE = "needs review: paid here, not paid at Stripe"
    INTENT_CONFLICT = "needs review: its payment intent is recorded for another payment"


class Verdict(StrEnum):
    """What a paid session means for its order: confirm it; put money that does not fit under review; refund a
    second payment; take back the capacity of an order that no longer holds it first; refund a late payment."""

    CONFIRM = "confirm"
    REVIEW = "review"
    DUPLICATE = "duplicate"
    REHOLD = "rehold"
    LATE = "late"


# PaymentIntent states of a completed session whose delayed payment failed for good.
FAILED_INTENT = frozenset({"requires_payment_method", "canceled"})
# A completed session's payment_status once the money is there.
PAID = ("paid", "no_payment_required")


def _intent(session: Any) -> tuple[str, str]:
    """The session's PaymentIntent id and status (the session is retrieved with it expanded)."""
    intent = session.get("payment_intent")
    if intent is None:
        return "", ""
    if isinstance(intent, str):
        return intent, ""
    return str(intent.get("id") or ""), str(intent.get("status") or "")


def fulfil_checkout(session_id: str, *, actor: str = "stripe", session: Any = None) -> Outcome:
    """Apply the current state of a Checkout Session to its payment and order; returns what it did.

    `session` is the session as the caller has it (a signed event's payload, the success page's
    retrieve); without it the session is retrieved from Stripe. The step runs in the caller's
    transaction when there is one (the webhook worker's), in its own otherwise.
    """
    from_stripe = session is None
    session = _as_dict(session if session is not None else gateway.retrieve_session(session_id))
    session_id = str(session.get("id") or session_id)
    contested = _intent_held_elsewhere(_intent(session)[0], session_id)
    if contested:
        # Another payment holds this session's PaymentIntent: a forged or mistaken event, this one or the other's.
        # Stripe's own sessions decide whose it is.
        if not from_stripe:
            session = _as_dict(gateway.retrieve_session(session_id))
        _take_intent_back(_intent(session)[0], session_id, actor=actor)
    status = session.get("status")
    intent_id, intent_status = _intent(session)
    step: Step
    if status == gateway.SessionStatus.EXPIRED:
        step = _session_expired
    elif status != gateway.SessionStatus.COMPLETE:
        return (
            Outcome.SESSION_OPEN if Payment.objects.filter(session_id=session_id).exists() else Outcome.UNKNOWN_SESSION
        )
    elif _is_paid(session):
        step = _apply_paid
    elif intent_status in FAILED_INTENT:
        step = _payment_failed
    else:
        step = _payment_processing
    with transaction.atomic(savepoint=False):  # nested, a savepoint would only cost two more statements
        found = _locked_by_sessions([session_id]).get(session_id)
        if found is None:
            return Outcome.UNKNOWN_SESSION
        payment, order, others = found
        if contested and step is not _session_expired and _intent_held_elsewhere(intent_id, session_id):
            return _intent_conflict(payment, order, intent_id=intent_id, actor=actor)
        outcome = step(payment, order, others=others, session=session, intent_id=intent_id, actor=actor)
    if step is _apply_paid and outcome != Outcome.CONFIRMED:  # it may have left (or found) a payment to refund
        _settle_refunds(order.pk, actor=actor)
    return outcome


def fulfil_paid_sessions(sessions: Sequence[dict[str, Any]], *, actor: str = "stripe") -> list[Outcome | None]:
    """Apply several sessions that Stripe reports paid, in the caller's transaction, together.

    The plain case (a payment's first news, of the amount expected, for an order that still holds what it
    bought) is written for all of them in a few statements. For each session, what was done, as
    `fulfil_checkout` says it; None for a session that is anything else (or not paid): the caller applies
    those with `fulfil_checkout`, one at a time, after this transaction.
    """
    found = _locked_by_sessions(str(session.get("id") or "") for session in sessions)
    contested = _contested_intents(sessions)
    confirmations = _Confirmations(actor=actor)
    with audit_batch():
        outcomes = [
            None if _intent(session)[0] in contested else _paid_in_batch(session, found, confirmations)
            for session in sessions
        ]
        confirmations.write()
    return outcomes


def _contested_intents(sessions: Sequence[dict[str, Any]]) -> set[str]:
    """The PaymentIntents of these sessions that another payment holds, or two of them claim: each such session
    is left to `fulfil_checkout`, which asks Stripe whose the intent is. One query for the batch."""
    claims: dict[str, set[str]] = {}
    for session in sessions:
        intent_id = _intent(session)[0]
        if intent_id:
            claims.setdefault(intent_id, set()).add(str(session.get("id") or ""))
    if not claims:
        return set()
    contested = {intent_id for intent_id, ids in claims.items() if len(ids) > 1}
    held = Payment.objects.filter(payment_intent_id__in=list(claims)).values_list("payment_intent_id", "session_id")
    contested.update(intent_id for intent_id, session_id in held if intent_id and session_id not in claims[intent_id])
    return contested


def _paid_in_batch(
    session: dict[str, Any], found: dict[str, tuple[Payment, Order, list[Payment]]], confirmations: _Confirmations
) -> Outcome | None:
    if not _is_paid(session):
        return None
    if (attempt := found.get(str(session.get("id") or ""))) is None:
        return Outcome.UNKNOWN_SESSION
    payment, order, others = attempt
    if any(other.status == Payment.Status.REFUNDING for other in (payment, *others)):
        return None  # a refund decided but not made yet: `fulfil_checkout` makes it
    applied = _already_applied(payment)
    if applied is not None:
        return applied
    if _paid_verdict(payment, order, others=others, session=session) != Verdict.CONFIRM:
        return None
    _settle_shipping(payment, order, session=session, actor=confirmations.actor)
    _mark_paid(payment, order, session=session, actor=confirmations.actor)
    return confirmations.add(payment, order, session=session)


def is_final(session: dict[str, Any]) -> bool:
    """A session that cannot change any more: expired, or complete and paid (Stripe never undoes either)."""
    return session.get("status") == gateway.SessionStatus.EXPIRED or _is_paid(session)


def _is_paid(session: dict[str, Any]) -> bool:
    return session.get("status") == gateway.SessionStatus.COMPLETE and session.get("payment_status") in PAID


def _locked(payment: Payment) -> tuple[Payment, Order]:
    order = Order.objects.select_for_update().get(pk=payment.order_id)
    return Payment.objects.select_for_update().get(pk=payment.pk), order


def _locked_by_sessions(session_ids: Iterable[str]) -> dict[str, tuple[Payment, Order, list[Payment]]]:
    """The payments of these Checkout Sessions by session id, each with its order and the order's other payments.

    All locked in two statements: the orders, then all their payments, each in primary-key order (so two
    workers never deadlock). Sessions of one order share its objects: what applying one changes, the next sees.
    """
    wanted = set(session_ids)
    if not wanted:
        return {}
    locked = Order.objects.select_for_update(of=("self",)).filter(payments__session_id__in=wanted).order_by("pk")
    orders = {order.pk: order for order in locked}
    if not orders:
        return {}
    payments = list(Payment.objects.select_for_update().filter(order__in=list(orders)).order_by("pk"))
    attempts: dict[int, list[Payment]] = {}
    for payment in payments:
        payment.order = orders[payment.order_id]
        attempts.setdefault(payment.order_id, []).append(payment)
    return {
        payment.session_id: (
            payment,
            payment.order,
            [other for other in attempts[payment.order_id] if other is not payment],
        )
        for payment in payments
        if payment.session_id in wanted
    }


def _as_dict(session: Any) -> dict[str, Any]:
    return session if isinstance(session, dict) else session.to_dict()  # type: ignore[no-any-return]


def _intent_held_elsewhere(intent_id: str, session_id: str) -> bool:
    return (
        bool(intent_id) and Payment.objects.filter(payment_intent_id=intent_id).exclude(session_id=session_id).exists()
    )


def _take_intent_back(intent_id: str, session_id: str, *, actor: str) -> None:
    """Stripe says `session_id` was paid by `intent_id`: a payment of another session that holds it got it from an
    event Stripe does not confirm (asked for each): it loses the intent, and its order goes to review."""
    if not intent_id:
        return
    for holder in Payment.objects.filter(payment_intent_id=intent_id).exclude(session_id=session_id).order_by("pk"):
        theirs = _as_dict(gateway.retrieve_session(holder.session_id or ""))
        if _intent(theirs)[0] != intent_id:
            _release_intent(holder, intent_id=intent_id, session_id=session_id, actor=actor)


@transaction.atomic(savepoint=False)
def _release_intent(holder: Payment, *, intent_id: str, session_id: str, actor: str) -> None:
    payment, order = _locked(holder)
    if payment.payment_intent_id != intent_id:
        return
    payment.payment_intent_id = None
    payment.save(update_fields=["payment_intent_id", "updated_at"])
    audit(
        actor=actor,
        action="payment.intent_released",
        obj=payment,
        order=order,
        data={"payment_intent": intent_id, "paid_session": session_id},
    )
    if states.can_move(order.status, OrderStatus.NEEDS_REVIEW):
        note = f"payment intent {intent_id} paid session {session_id}, not this order's: recorded from a false event"
        _put_under_review(order, actor=actor, note=note, reason="payment intent of another session")


def _intent_conflict(payment: Payment, order: Order, *, intent_id: str, actor: str) -> Outcome:
    """Stripe's sessions could not settle whose the intent is: nothing is applied, an operator decides."""
    audit(actor=actor, action="payment.intent_conflict", obj=payment, order=order, data={"payment_intent": intent_id})
    if states.can_move(order.status, OrderStatus.NEEDS_REVIEW):
        note = f"payment intent {intent_id} is recorded for another payment too"
        _put_under_review(order, actor=actor, note=note, reason="payment intent conflict")
    return Outcome.INTENT_CONFLICT


def _payment_of_intent(obj: dict[str, Any], *, actor: str) -> Payment | None:
    """The payment of a charge's or dispute's PaymentIntent, matched by its Checkout Session first (as Stripe
    says which session the intent paid), by the intent id only when Stripe knows no session for it. A session
    of ours whose payment does not hold the intent yet (its own event late, or taken by a false one) is applied
    first, so the charge lands on the payment it belongs to. None if not ours."""
    intent_id = str(obj.get("payment_intent") or "")
    if not intent_id:
        return None
    session = gateway.session_of_intent(intent_id)
    if session is None:
        return Payment.objects.filter(payment_intent_id=intent_id).first()
    payment = Payment.objects.filter(session_id=session.id).first()
    if payment is not None and payment.payment_intent_id != intent_id:
        fulfil_checkout(session.id, actor=actor, session=session)
        payment.refresh_from_db()
    return payment


def _locked_by_intent(obj: dict[str, Any], *, actor: str) -> tuple[Payment, Order] | None:
    """The payment (and its order), locked, of a charge's or dispute's PaymentIntent; None if not ours."""
    payment = _payment_of_intent(obj, actor=actor)
    return _locked(payment) if payment is not None else None


# The steps of `fulfil_checkout`: each gets the session's payment, its order and the order's other
# payments (attempts), all locked.
Step = Callable[..., Outcome]


def _session_expired(
    payment: Payment, order: Order, *, others: list[Payment], session: dict[str, Any], intent_id: str, actor: str
) -> Outcome:
    if payment.status not in (Payment.Status.OPEN, Payment.Status.CREATING):
        return Outcome.IGNORED
    payment.status = Payment.Status.EXPIRED
    payment.save(update_fields=["status", "updated_at"])
    PAYMENTS.labels(outcome="expired").inc()
    audit(actor=actor, action="payment.expired", obj=payment, order=order, data={"session_id": payment.session_id})
    if order.status in states.PAYABLE and not any(other.status == Payment.Status.OPEN for other in others):
        order_transition(order=order, to=OrderStatus.EXPIRED, actor=actor, data={"reason": "session expired"})
        release_holds(order=order)
        return Outcome.ORDER_EXPIRED
    return Outcome.PAYMENT_EXPIRED


def _payment_processing(
    payment: Payment, order: Order, *, others: list[Payment], session: dict[str, Any], intent_id: str, actor: str
) -> Outcome:
    if payment.status not in (Payment.Status.OPEN, Payment.Status.CREATING, Payment.Status.EXPIRED):
        return Outcome.IGNORED
    payment.status = Payment.Status.PROCESSING
    payment.payment_intent_id = intent_id or None
    payment.save(update_fields=["status", "payment_intent_id", "updated_at"])
    audit(actor=actor, action="payment.processing", obj=payment, order=order, data={"payment_intent": intent_id})
    if order.status in (OrderStatus.EXPIRED, OrderStatus.CANCELLED):
        # Capacity kept from now on if it is still there; if not, the settled money is refunded.
        order_rehold(order=order, actor=actor)
    order_transition(order=order, to=OrderStatus.PROCESSING, actor=actor, data={"session_id": payment.session_id})
    return Outcome.PROCESSING


def _payment_failed(
    payment: Payment, order: Order, *, others: list[Payment], session: dict[str, Any], intent_id: str, actor: str
) -> Outcome:
    if payment.status in (Payment.Status.FAILED, Payment.Status.PAID, Payment.Status.REFUNDED):
        return Outcome.IGNORED
    payment.status = Payment.Status.FAILED
    payment.payment_intent_id = intent_id or payment.payment_intent_id or None
    payment.save(update_fields=["status", "payment_intent_id", "updated_at"])
    PAYMENTS.labels(outcome="failed").inc()
    audit(actor=actor, action="payment.failed", obj=payment, order=order, data={"payment_intent": intent_id})
    if not order_transition(order=order, to=OrderStatus.FAILED, actor=actor, data={"session_id": payment.session_id}):
        return Outcome.FAILED_ORDER_KEPT
    release_holds(order=order)
    events.tell_payment_failed(order, retry_url=f"{settings.SITE_URL}/payment/cancel?order={order.code}")
    return Outcome.FAILED


def _apply_paid(
    payment: Payment, order: Order, *, others: list[Payment], session: dict[str, Any], intent_id: str, actor: str
) -> Outcome:
    applied = _already_applied(payment)
    if applied is not None:
        return applied
    verdict = _paid_verdict(payment, order, others=others, session=session)
    if verdict == Verdict.REHOLD:
        # A late payment (the hold lapsed, or the order was cancelled): fine if what it bought is still free.
        verdict = Verdict.CONFIRM if order_rehold(order=order, actor=actor) else Verdict.LATE
    with audit_batch():  # payment.paid, order.paid and order.confirmed in one INSERT
        if verdict in (Verdict.CONFIRM, Verdict.LATE):
            _settle_shipping(payment, order, session=session, actor=actor)
        _mark_paid(payment, order, session=session, actor=actor)
        if verdict == Verdict.CONFIRM:
            confirmations = _Confirmations(actor=actor)
            outcome = confirmations.add(payment, order, session=session)
            confirmations.write()
            return outcome
        payment.save(update_fields=["status", "payment_intent_id", "amount", "amount_received", "updated_at"])
        if verdict == Verdict.REVIEW:
            amount, currency = _paid_amount(session)
            shipping = _shipping_paid(payment, session)
            expected = shipping.expected if shipping is not None else payment.amount
            reason = f"paid {amount} {currency}, expected {expected} {order.currency}"
            if shipping is not None and shipping.problem:
                reason = f"{reason}; {shipping.problem}"
            _put_under_review(order, actor=actor, note=reason, reason=reason)
            return Outcome.REVIEW
        if verdict == Verdict.DUPLICATE:
            _to_refund(payment, order, actor=actor, reason="duplicate")
            return Outcome.DUPLICATE
        order_transition(order=order, to=OrderStatus.PAID, actor=actor, data={"late": True})
        _to_refund(payment, order, actor=actor, reason="late")
        return Outcome.LATE


def _already_applied(payment: Payment) -> Outcome | None:
    if payment.status in (Payment.Status.PAID, Payment.Status.REFUNDING, Payment.Status.REFUNDED):
        return Outcome.ALREADY_APPLIED
    return None


def _paid_verdict(payment: Payment, order: Order, *, others: list[Payment], session: dict[str, Any]) -> Verdict:
    amount, currency = _paid_amount(session)
    shipping = _shipping_paid(payment, session)
    expected = shipping.expected if shipping is not None else payment.amount
    if amount != expected or currency != order.currency or (shipping is not None and shipping.problem):
        return Verdict.REVIEW
    if any(other.status == Payment.Status.PAID for other in others):
        return Verdict.DUPLICATE
    if order.status not in (OrderStatus.PENDING, OrderStatus.PROCESSING):
        return Verdict.REHOLD
    return Verdict.CONFIRM


@dataclass(frozen=True)
class _ShippingPaid:
    """What a goods session says of shipping: the option chosen (one we offered, by its place in the session's
    options), the address, what the session should then have charged, and what is wrong ("" if nothing)."""

    option: ShippingOption | None
    stripe_rate: str
    name: str
    address: dict[str, Any]
    expected: int
    problem: str
    tax: int = 0  # the chosen option's tax (shipping is taxed at the default rate, `orders.pricing`)


def _shipping_paid(payment: Payment, session: dict[str, Any]) -> _ShippingPaid | None:
    quote = payment.shipping_quote
    if not quote:
        return None
    options = [ShippingOption.from_json(option) for option in quote.get("options") or []]
    cost = session.get("shipping_cost") or {}
    rate = cost.get("shipping_rate")
    rate_id = str((rate.get("id") if isinstance(rate, dict) else rate) or "")
    offered = [
        str(o.get("shipping_rate").get("id") if isinstance(o.get("shipping_rate"), dict) else o.get("shipping_rate"))
        for o in session.get("shipping_options") or []
    ]
    index = offered.index(rate_id) if rate_id and rate_id in offered else -1
    option = options[index] if 0 <= index < len(options) else None
    details = (session.get("collected_information") or {}).get("shipping_details") or session.get("shipping_details")
    details = details or {}
    address = dict(details.get("address") or {})
    country = str(address.get("country") or "").upper()
    # The tax terms the session was opened with (a quote kept before shipping was taxed has none: today's).
    rate = int(quote.get("tax_rate", settings.TAX_RATE_DEFAULT))
    inclusive = bool(quote.get("prices_include_tax", settings.PRICES_INCLUDE_TAX))
    amount = option.amount if option is not None else 0
    charged = shipping_charged(amount, tax_rate_basis_points=rate, prices_include_tax=inclusive)
    problem = ""
    if option is None:
        problem = "the shipping option paid for is not one we offered"
    elif int(cost.get("amount_total") or 0) != charged:
        problem = f"shipping paid {cost.get('amount_total')}, the option costs {charged}"
    elif not (details.get("name") and address.get("line1") and address.get("city") and country):
        problem = "the session has no complete shipping address"
    elif country not in option.countries:
        problem = f"ships to {country} with the {option.zone} option"
    expected = int(quote.get("goods_amount") or 0) + charged
    tax = tax_of(amount, rate_basis_points=rate, prices_include_tax=inclusive).tax
    return _ShippingPaid(option, rate_id, str(details.get("name") or ""), address, expected, problem, tax)


def _settle_shipping(payment: Payment, order: Order, *, session: dict[str, Any], actor: str) -> None:
    """Goods: the order's shipping, tax and total become what the buyer chose; the address becomes its Shipment.

    Called once the paid session is found to fit (the verdict checked it); the payment's `amount` follows.
    The order's tax is its lines' (`goods_tax`, kept with the quote) and the chosen option's.
    """
    shipping = _shipping_paid(payment, session)
    if shipping is None or shipping.option is None or shipping.problem:
        return
    option = shipping.option
    if order.shipping_amount != option.amount:
        previous = order.shipping_amount
        quote = payment.shipping_quote or {}
        goods_tax = quote.get("goods_tax")
        if goods_tax is None:  # a quote kept before shipping was taxed: its tax was the lines' alone
            goods_tax = order.tax_amount
        order.tax_amount = int(goods_tax) + shipping.tax
        order.total_amount = shipping.expected
        order.shipping_amount = option.amount
        order.save(update_fields=["shipping_amount", "tax_amount", "total_amount", "updated_at"])
        audit(
            actor=actor,
            action="order.shipping_chosen",
            obj=order,
            order=order,
            data={"option": option.display_name, "shipping": option.amount, "was": previous},
        )
    payment.amount = shipping.expected
    shipment_record(
        order=order,
        name=shipping.name,
        address=shipping.address,
        option=option,
        stripe_rate=shipping.stripe_rate,
        actor=actor,
    )


def _paid_amount(session: dict[str, Any]) -> tuple[int, str]:
    return int(session.get("amount_total") or 0), str(session.get("currency") or "")


def _mark_paid(payment: Payment, order: Order, *, session: dict[str, Any], actor: str) -> None:
    """The payment has its money (the caller writes it)."""
    amount, currency = _paid_amount(session)
    intent_id, _ = _intent(session)
    payment.status = Payment.Status.PAID
    payment.payment_intent_id = intent_id or None
    payment.amount_received = amount
    PAYMENTS.labels(outcome="paid").inc()
    audit(
        actor=actor,
        action="payment.paid",
        obj=payment,
        order=order,
        data={"amount": amount, "currency": currency, "payment_intent": intent_id},
    )


@dataclass
class _Confirmations:
    """Paid orders to confirm, written together: one order, or a worker's batch of them.

    `add` moves an order to paid (its payment marked paid already). `write` then, in a few statements for all
    of them: the payments; the orders' holds confirmed; the orders confirmed; the carts they were checked out
    from emptied; their invoices issued (numbered in this transaction: a rollback leaves no gap); their
    confirmation emails queued. Audit entries go to the caller's `audit_batch`.
    """

    actor: str
    payments: list[Payment] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    # Per order: the payment that paid it and the session's customer details (the invoice's buyer).
    paid_by: dict[int, tuple[Payment, dict[str, Any] | None]] = field(default_factory=dict)

    def add(self, payment: Payment, order: Order, *, session: dict[str, Any]) -> Outcome:
        self.payments.append(payment)
        paid = {"session_id": payment.session_id}
        if not order_transition(order=order, to=OrderStatus.PAID, actor=self.actor, data=paid, save=False):
            return Outcome.PAID_ORDER_LEFT
        self.orders.append(order)
        self.paid_by[order.pk] = (payment, session.get("customer_details"))
        return Outcome.CONFIRMED

    def write(self) -> None:
        now = timezone.now()
        for payment in self.payments:
            payment.updated_at = now
        # One statement for the batch (see `bulk_update`): each payment's own status, intent and amount.
        raw.bulk_update(self.payments, ["status", "payment_intent_id", "amount", "amount_received", "updated_at"])
        if not self.orders:
            return
        lines = lines_with_holds_of(self.orders)
        confirmed = confirm_holds(lines=chain.from_iterable(lines.values()))
        for order in self.orders:
            data = {"holds": confirmed[order.pk]}
            order_transition(order=order, to=OrderStatus.CONFIRMED, actor=self.actor, data=data, save=False)
            order.updated_at = now
        Order.objects.filter(pk__in=[order.pk for order in self.orders]).update(
            status=OrderStatus.CONFIRMED, updated_at=now
        )
        carts_empty_paid(orders=self.orders)
        documents.invoices_issue(
            [documents.Paid(order, lines[order.pk], *self.paid_by[order.pk]) for order in self.orders],
            actor=self.actor,
            now=now,
        )
        events.tell_orders_confirmed([(order, lines[order.pk]) for order in self.orders])


def _put_under_review(order: Order, *, actor: str, note: str, reason: str) -> None:
    """Money that does not fit the order: an operator decides (the note shows in the admin)."""
    order.review_reason = note[:200]
    order.save(update_fields=["review_reason", "updated_at"])
    order_transition(order=order, to=OrderStatus.NEEDS_REVIEW, actor=actor, data={"reason": reason})


def _to_refund(payment: Payment, order: Order, *, actor: str, reason: str) -> None:
    payment.status = Payment.Status.REFUNDING
    payment.save(update_fields=["status", "updated_at"])
    audit(actor=actor, action="payment.refund_due", obj=payment, order=order, data={"reason": reason})


def _settle_refunds(order_id: int, *, actor: str) -> None:
    """Refund every payment of the order marked `refunding` (safe to repeat: one idempotency key each)."""
    for payment in Payment.objects.filter(order_id=order_id, status=Payment.Status.REFUNDING):
        refund = gateway.create_refund(
            payment_intent=payment.payment_intent_id or "",
            amount=None,
            idempotency_key=f"refund:payment:{payment.pk}",
            reason="duplicate",
        )
        _record_automatic_refund(payment, refund, actor=actor)


@transaction.atomic
def _record_automatic_refund(payment: Payment, refund: stripe.Refund, *, actor: str) -> None:
    payment, order = _locked(payment)
    if payment.status != Payment.Status.REFUNDING:
        return
    Refund.objects.get_or_create(
        stripe_refund_id=refund.id,
        defaults={
            "payment": payment,
            "amount": refund.amount,
            "currency": refund.currency,
            "status": refund.status or Refund.Status.PENDING,
            "reason": "automatic: not needed",
        },
    )
    PAYMENTS.labels(outcome="refunded").inc()
    payment.status = Payment.Status.REFUNDED
    payment.amount_refunded = refund.amount
    payment.save(update_fields=["status", "amount_refunded", "updated_at"])
    audit(actor=actor, action="payment.refunded", obj=payment, order=order, data={"refund": refund.id})
    if order.status == OrderStatus.PAID:
        # The late payment of an order whose capacity is gone: the whole order is refunded.
        order.amount_refunded = refund.amount
        order.save(update_fields=["amount_refunded", "updated_at"])
        order_transition(order=order, to=OrderStatus.REFUNDED, actor=actor, data={"reason": "capacity gone"})
        cancel_holds(order=order)
        cause = events.RefundCause.LATE_PAYMENT
    else:
        cause = events.RefundCause.DUPLICATE_PAYMENT
    events.tell_refund_issued(order, amount=refund.amount, refund_id=refund.id, cause=cause)


@transaction.atomic
def review_unpaid_at_stripe(payment: Payment, *, stripe_says: str, actor: str = "reconcile") -> Outcome | None:
    """We hold this payment as paid but Stripe does not (its session open, expired, unpaid or unknown): the
    order goes to review for an operator, nothing is undone. None when there is nothing (more) to do."""
    payment, order = _locked(payment)
    if payment.status != Payment.Status.PAID or not states.can_move(order.status, OrderStatus.NEEDS_REVIEW):
        return None
    reason = f"session {payment.session_id} is paid here, but Stripe shows it {stripe_says}: not paid"
    _put_under_review(order, actor=actor, note=reason, reason="not paid at Stripe")
    return Outcome.NOT_PAID_AT_STRIPE


# --- refunds reported by Stripe, disputes --------------------------------------------------------


@transaction.atomic
def apply_charge_refunded(charge: Any, *, actor: str = "stripe") -> Outcome:
    """A charge was refunded (by us or in Stripe's dashboard): record it on the payment and the order."""
    found = _locked_by_intent(charge, actor=actor)
    if found is None:
        return Outcome.UNKNOWN_PAYMENT
    payment, order = found
    refunded = int(charge.get("amount_refunded") or 0)
    if refunded <= payment.amount_refunded:
        return Outcome.ALREADY_APPLIED
    payment.amount_refunded = refunded
    payment.save(update_fields=["amount_refunded", "updated_at"])
    if payment.status != Payment.Status.PAID:
        # Our own automatic refund of a payment the order did not need: the order is not affected.
        return Outcome.UNNEEDED_REFUND
    kept = order.payments.filter(status=Payment.Status.PAID)
    order.amount_refunded = sum(kept.values_list("amount_refunded", flat=True))
    order.save(update_fields=["amount_refunded", "updated_at"])
    full = order.amount_refunded >= order.total_amount
    target = OrderStatus.REFUNDED if full else OrderStatus.PARTIALLY_REFUNDED
    order_transition(order=order, to=target, actor=actor, data={"amount_refunded": order.amount_refunded})
    if full:
        cancel_holds(order=order)
    return Outcome.REFUNDED if full else Outcome.PARTIALLY_REFUNDED


@transaction.atomic
def apply_refund_updated(refund: Any, *, actor: str = "stripe") -> Outcome:
    found = Refund.objects.select_for_update().filter(stripe_refund_id=refund.get("id") or "").first()
    if found is None:
        return Outcome.UNKNOWN_REFUND
    status = str(refund.get("status") or "")
    if found.status == status:
        return Outcome.ALREADY_APPLIED
    found.status = status
    found.save(update_fields=["status", "updated_at"])
    order = found.payment.order
    audit(actor=actor, action=f"refund.{status}", obj=found, order=order, data={"refund": found.stripe_refund_id})
    if status == Refund.Status.FAILED:
        _put_under_review(order, actor=actor, note=f"refund {found.stripe_refund_id} failed", reason="refund failed")
    return Outcome.REFUND_UPDATED


@transaction.atomic
def apply_dispute(dispute: Any, *, actor: str = "stripe") -> Outcome:
    found = _locked_by_intent(dispute, actor=actor)
    if found is None:
        return Outcome.UNKNOWN_PAYMENT
    _, order = found
    audit(actor=actor, action="order.disputed", obj=order, order=order, data={"dispute": dispute.get("id")})
    note = f"dispute {dispute.get('id')}: {dispute.get('reason') or 'no reason given'}"
    _put_under_review(order, actor=actor, note=note, reason="dispute")
    return Outcome.DISPUTED

"""Checkout: place an order (the cart's, or one course seat with Book now) and open its payment page;
retry a payment; expire what lapsed. One Stripe Checkout Session per attempt, never two payable at once."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from bookdesk.accounts.models import User
from bookdesk.cart.models import Cart
from bookdesk.cart.services import cart_checked_out, cart_item_requests
from bookdesk.db import compiled
from bookdesk.errors import AlreadyBooked, Conflict, HoldExpired, PaymentProviderError, SoldOut
from bookdesk.ops.metrics import CHECKOUTS
from bookdesk.orders import states
from bookdesk.orders.audit import audit
from bookdesk.orders.models import HoldStatus, Order, OrderKind, OrderLine, OrderStatus
from bookdesk.orders.services import (
    InvalidTransition,
    ItemRequest,
    hold_duration,
    order_cancel_unpaid,
    order_expire,
    order_place,
    order_rehold,
    order_transition,
)
from bookdesk.orders.shipping import NotShippable, Quote, order_quote
from bookdesk.payments import gateway
from bookdesk.payments.models import Payment

logger = logging.getLogger("bookdesk.payments")


# Orders of these kinds hold no goods: no shipping to look up.
NO_GOODS = frozenset({OrderKind.COURSE_BOOKING, OrderKind.RESERVATION_PAYMENT})


class PaymentRefused(PaymentProviderError):
    code = "payment_refused"
    title = "The payment provider refused this payment"


def _session_lines(order: Order, order_lines: list[OrderLine]) -> list[gateway.SessionLine]:
    # Shipping is not a line: the session's shipping options carry it (the buyer picks one).
    lines = [
        gateway.SessionLine(name=line.description, unit_amount=line.unit_amount, quantity=line.quantity)
        for line in order_lines
    ]
    if not settings.PRICES_INCLUDE_TAX and order.tax_amount:
        lines.append(gateway.SessionLine(name="Tax", unit_amount=order.tax_amount, quantity=1))
    return lines


def _session_metadata(order: Order, order_lines: list[OrderLine]) -> dict[str, Any]:
    kinds = [(line.kind, line.total_amount) for line in order_lines]
    return {
        "order": order.code,
        "user": order.user_id,
        "type": order.kind,
        "courses_count": sum(1 for kind, _ in kinds if kind == "course"),
        "services_count": sum(1 for kind, _ in kinds if kind == "service"),
        "items_count": sum(1 for kind, _ in kinds if kind == "product"),
        "courses_total": sum(total for kind, total in kinds if kind == "course"),
        "services_total": sum(total for kind, total in kinds if kind == "service"),
        "items_total": sum(total for kind, total in kinds if kind == "product"),
        "subtotal": order.subtotal_amount,
        "tax": order.tax_amount,
        "shipping": order.shipping_amount,
        "total": order.total_amount,
        "currency": order.currency,
    }


def _reserve_attempt(order: Order) -> Payment:
    """Take the next attempt number, or reuse one whose session creation never finished (same idempotency key)."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status not in states.PAYABLE:
            raise InvalidTransition(
                f"Order {order.code} cannot be paid now (it is {order.get_status_display().lower()})."
            )
        if order.hold_expires_at <= timezone.now():
            raise HoldExpired("The time to pay for this order has run out. Please check out again.")
        unfinished = order.payments.filter(status=Payment.Status.CREATING).first()
        if unfinished is not None:
            return unfinished
        if order.payments.filter(status=Payment.Status.OPEN).exists():
            raise Conflict("This order already has an open payment page.")
        attempt = (order.payments.aggregate(n=Max("attempt"))["n"] or 0) + 1
        return Payment.objects.create(
            order=order,
            attempt=attempt,
            amount=order.total_amount,
            currency=order.currency,
            expires_at=order.hold_expires_at,
        )


def first_attempt(order: Order) -> Payment:
    """Attempt 1 of a new order: create it in the order's placement transaction, then `checkout_start` it."""
    return compiled.insert(
        Payment(
            order=order, attempt=1, amount=order.total_amount, currency=order.currency, expires_at=order.hold_expires_at
        )
    )


def checkout_start(*, order: Order, actor: str, payment: Payment | None = None) -> Payment:
    """Create the Checkout Session of `payment`, else of the order's next attempt; Stripe is called outside any lock.

    The payment comes back with its order, whose lines and payments are in hand for the answer.
    """
    payment = payment or _reserve_attempt(order)
    order_lines = list(order.lines.all())  # in hand after order_place; one query otherwise
    lines = _session_lines(order, order_lines)
    quote = _shipping_of(order, order_lines, payment)
    try:
        session = gateway.create_checkout_session(
            order_code=order.code,
            attempt=payment.attempt,
            currency=order.currency,
            lines=lines,
            customer_email=order.email,
            expires_at=payment.expires_at,
            success_url=f"{settings.SITE_URL}/payment/success?session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=f"{settings.SITE_URL}/payment/cancel?order={order.code}",
            metadata=_session_metadata(order, order_lines),
            shipping_countries=quote.countries if quote is not None else (),
            shipping_options=[
                gateway.SessionShippingOption(o.display_name, o.amount, o.min_days, o.max_days)
                for o in (quote.options if quote is not None else ())
            ],
        )
    except gateway.GatewayError as exc:
        CHECKOUTS.labels(outcome="refused" if exc.permanent else "provider_error").inc()
        if exc.permanent:
            with transaction.atomic():
                Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.FAILED)
                audit(
                    actor="system",
                    action="payment.refused",
                    obj=payment,
                    order=order,
                    data={"stripe_code": exc.stripe_code},
                )
                order_cancel_unpaid(order=order, actor="system", reason="the payment provider refused the session")
            raise PaymentRefused(
                f"The payment provider refused to start this payment, so order {order.code} was cancelled and "
                "nothing was charged. Your cart is kept; if this happens again, please contact us."
            ) from exc
        raise
    payment.session_id, payment.checkout_url, payment.status = session.id, session.url or "", Payment.Status.OPEN
    with transaction.atomic():
        written = ["session_id", "checkout_url", "status", *(["shipping_quote"] if quote is not None else [])]
        compiled.update(payment, written)  # and updated_at
        audit(
            actor=actor,
            action="payment.session_created",
            obj=payment,
            order=order,
            data={"session_id": session.id, "attempt": payment.attempt},
        )
    CHECKOUTS.labels(outcome="created").inc()
    # What the answer shows, as prefetch_related would leave it: a new order's only attempt is this one.
    payments = [payment] if payment.attempt == 1 else list(order.payments.order_by("attempt"))
    compiled.hand_prefetched(order, "lines", order_lines)
    compiled.hand_prefetched(order, "payments", payments)
    payment.order = order
    return payment


def _shipping_of(order: Order, order_lines: list[OrderLine], payment: Payment) -> Quote | None:
    """The shipping options of this attempt's session (None when nothing ships), kept on the payment.

    The order was priced with the cheapest option (`order_place`); `amount` is goods plus that, so the
    buyer's choice adds its price to the goods' share kept here (see `payments.fulfilment`).
    """
    if order.kind in NO_GOODS or not any(line.product_id and line.license_id is None for line in order_lines):
        return None
    quote = order_quote(order, OrderLine.objects.filter(order=order).select_related("product").order_by("pk"))
    if not quote.options:
        raise NotShippable("We cannot ship this order any more: no shipping rate covers it. Please check out again.")
    payment.shipping_quote = {
        "goods_amount": payment.amount - order.shipping_amount,
        "options": [option.to_json() for option in quote.options],
    }
    return quote


def book_course(*, user: User, course_id: int, actor: str) -> Payment:
    """Book now: one seat, straight to payment.

    Asking again while an earlier booking of the same course is still unpaid (a payment page left
    open, or one that could not be created) answers that order's payment page again instead of
    `already_booked`, so a customer is never locked out by their own unfinished attempt.
    """
    try:
        with transaction.atomic():  # the placement and attempt 1 commit together, or neither does
            order = order_place(user=user, items=[ItemRequest(kind="course", course_id=course_id)])
            payment = first_attempt(order)
    except AlreadyBooked:
        # The placement found the customer's own seat (asked under the course's lock, so the first-time
        # path pays no query for this): an unpaid Book-now order of theirs answers with its payment page.
        earlier = _unpaid_course_booking(user=user, course_id=course_id)
        if earlier is None:
            raise
        open_payment = earlier.payments.filter(status=Payment.Status.OPEN).exclude(checkout_url="").first()
        return open_payment or payment_retry(order=earlier, actor=actor)
    return checkout_start(order=order, actor=actor, payment=payment)


def cart_checkout(*, cart: Cart, user: User) -> Payment:
    """Place an order for the whole cart and open its payment page.

    The cart stays as it is (it is kept after a cancelled or failed payment). An unpaid order placed
    earlier from this cart is cancelled first, so checking out again never holds things twice.
    """
    items = cart_item_requests(cart)
    previous = cart.order
    if previous is not None and previous.status in states.PAYABLE:
        if not expire_open_sessions(previous):
            raise Conflict(f"Order {previous.code} has just been paid; it is being confirmed.")
        order_cancel_unpaid(order=previous, actor=f"user:{user.pk}", reason="replaced by a new checkout")
    with transaction.atomic():  # the placement, the cart's link and attempt 1 commit together, or none does
        order = order_place(user=user, items=items)
        cart_checked_out(cart=cart, order=order)
        payment = first_attempt(order)
    return checkout_start(order=order, actor=f"user:{user.pk}", payment=payment)


def _unpaid_course_booking(*, user: User, course_id: int) -> Order | None:
    """The customer's latest Book-now order of this course that still holds its seat unpaid."""
    return (
        Order.objects.filter(
            user=user,
            status__in=states.PAYABLE,
            kind=OrderKind.COURSE_BOOKING,
            hold_expires_at__gt=timezone.now(),
            lines__booking__course_id=course_id,
            lines__booking__status=HoldStatus.HELD,
        )
        .order_by("-pk")
        .first()
    )


# Orders a customer may pay (again): those still payable, and an expired one whose capacity is still free.
RETRYABLE = states.PAYABLE | {OrderStatus.EXPIRED}


def payment_retry(*, order: Order, actor: str) -> Payment:
    """Expire the open session first (so no order is payable twice), re-check the holds, start the next attempt."""
    for payment in order.payments.filter(status=Payment.Status.OPEN).exclude(session_id=None):
        session_id = payment.session_id or ""
        expired = gateway.expire_session(session_id)
        if expired is None:
            # Stripe refused to expire it: it is no longer open, so it may have been paid just now.
            session = gateway.retrieve_session(session_id)
            if session.status == gateway.SessionStatus.COMPLETE:
                raise Conflict("This order's payment has just been received; it is being confirmed.")
        Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.EXPIRED, updated_at=timezone.now())
        audit(
            actor=actor,
            action="payment.session_expired",
            obj=payment,
            order=order,
            data={"session_id": payment.session_id},
        )
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status not in RETRYABLE:
            raise InvalidTransition(
                f"Order {order.code} cannot be paid again (it is {order.get_status_display().lower()})."
            )
        if order.status in (OrderStatus.FAILED, OrderStatus.EXPIRED):
            # A failed payment or a lapsed hold gave its seats, slots and licenses back: take them again if free.
            if not order_rehold(order=order, actor=actor):
                raise SoldOut(
                    "Part of this order is no longer available, so it cannot be paid again. Nothing was charged; "
                    "please check out again."
                )
            order_transition(order=order, to=OrderStatus.PENDING, actor=actor, data={"reason": "retry"})
        elif order.hold_expires_at <= timezone.now():
            raise HoldExpired("The hold on this order has lapsed. Please check out again.")
        # Each attempt gets a full hold again, the same time the new session lives.
        order.hold_expires_at = timezone.now() + hold_duration()
        order.save(update_fields=["hold_expires_at", "updated_at"])
    return checkout_start(order=order, actor=actor)


def holds_sweep(*, now: Any = None, limit: int = 200) -> int:
    """Expire orders whose hold lapsed: expire their open sessions first, then release what they hold.

    A session that turns out to be complete was paid at the last moment: the order is left for the
    payment's webhook (or reconciliation) to settle, never expired under it. Sessions still open for
    orders that can no longer be paid (expired inline by a later checkout, or cancelled) are expired too.
    """
    now = now or timezone.now()
    expired = 0
    lapsed = Order.objects.filter(status__in=states.PAYABLE, hold_expires_at__lte=now).order_by("hold_expires_at")
    for order in lapsed[:limit]:
        if expire_open_sessions(order) and order_expire(order=order, actor="worker", reason="hold lapsed"):
            expired += 1
    stale = Order.objects.filter(
        status__in=[OrderStatus.EXPIRED, OrderStatus.CANCELLED], payments__status=Payment.Status.OPEN
    ).distinct()
    for order in stale[:limit]:
        expire_open_sessions(order)
    return expired


def expire_open_sessions(order: Order) -> bool:
    """Expire every open session of the order; False when one of them has been paid meanwhile."""
    for payment in order.payments.filter(status__in=[Payment.Status.OPEN, Payment.Status.CREATING]):
        session_id = payment.session_id
        refused = session_id is not None and gateway.expire_session(session_id) is None
        if refused and gateway.retrieve_session(session_id or "").status == gateway.SessionStatus.COMPLETE:
            logger.info("order %s: session %s completed meanwhile; left to fulfilment", order.code, session_id)
            return False
        Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.EXPIRED, updated_at=timezone.now())
    return True

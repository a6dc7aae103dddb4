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
from bookdesk.accounts.selectors import email_verified
from bookdesk.cart.models import Cart
from bookdesk.cart.services import cart_checked_out, cart_item_requests
from bookdesk.db import compiled
from bookdesk.errors import (
    AlreadyBooked,
    Conflict,
    EmailNotVerified,
    HoldExpired,
    PaymentProviderError,
    RateLimited,
    SoldOut,
    TooManyUnpaidOrders,
)
from bookdesk.ops.metrics import CHECKOUTS
from bookdesk.ops.ratelimit import parse_rate, rate_limits
from bookdesk.orders import states
from bookdesk.orders.audit import audit
from bookdesk.orders.models import HoldStatus, Order, OrderKind, OrderLine, OrderStatus
from bookdesk.orders.pricing import shipping_charged
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
from bookdesk.payments.fulfilment import fulfil_checkout
from bookdesk.payments.models import Payment

logger = logging.getLogger("bookdesk.payments")


# Orders of these kinds hold no goods: no shipping to look up.
NO_GOODS = frozenset({OrderKind.COURSE_BOOKING, OrderKind.RESERVATION_PAYMENT})


class PaymentRefused(PaymentProviderError):
    code = "payment_refused"
    title = "The payment provider refused this payment"


def _session_lines(order: Order, order_lines: list[OrderLine], *, quote: Quote | None) -> list[gateway.SessionLine]:
    lines = [
        gateway.SessionLine(name=line.description, unit_amount=line.unit_amount, quantity=line.quantity)
        for line in order_lines
    ]
    tax = order.tax_amount
    if quote is not None:
        # Goods: shipping is not a line, the session's shipping options carry it with its tax (the buyer picks one).
        tax = _lines_tax(order_lines)
    elif order.shipping_amount:
        lines.append(gateway.SessionLine(name="Shipping", unit_amount=order.shipping_amount, quantity=1))
    if not settings.PRICES_INCLUDE_TAX and tax:
        lines.append(gateway.SessionLine(name="Tax", unit_amount=tax, quantity=1))
    return lines


def _lines_tax(order_lines: list[OrderLine]) -> int:
    """The tax of the order's lines (the order's tax less shipping's, see `orders.pricing`)."""
    return sum(line.tax_amount for line in order_lines)


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
    quote = _shipping_of(order, order_lines, payment)
    lines = _session_lines(order, order_lines, quote=quote)
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
                gateway.SessionShippingOption(o.display_name, _charged(o.amount), o.min_days, o.max_days)
                for o in (quote.options if quote is not None else ())
            ],
        )
    except gateway.GatewayError as exc:
        CHECKOUTS.labels(outcome="refused" if exc.permanent else "provider_error").inc()
        if exc.permanent:
            with transaction.atomic():
                Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.FAILED, updated_at=timezone.now())
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
    buyer's choice adds its price to the goods' share kept here (see `payments.fulfilment`). Shipping is
    taxed at the default rate: with exclusive prices an option's session amount carries its tax, so the
    goods' share is the lines and their tax, and `goods_tax` is the order's tax less shipping's.
    """
    if order.kind in NO_GOODS or not any(line.is_goods for line in order_lines):
        return None
    quote = order_quote(order, OrderLine.objects.filter(order=order).select_related("product").order_by("pk"))
    if not quote.options:
        raise NotShippable("We cannot ship this order any more: no shipping rate covers it. Please check out again.")
    payment.shipping_quote = {
        "goods_amount": payment.amount - _charged(order.shipping_amount),
        "goods_tax": _lines_tax(order_lines),
        "tax_rate": int(settings.TAX_RATE_DEFAULT),
        "prices_include_tax": bool(settings.PRICES_INCLUDE_TAX),
        "options": [option.to_json() for option in quote.options],
    }
    return quote


def _charged(shipping: int) -> int:
    return shipping_charged(
        shipping, tax_rate_basis_points=settings.TAX_RATE_DEFAULT, prices_include_tax=settings.PRICES_INCLUDE_TAX
    )


# --- who may hold capacity unpaid, and how much -----------------------------------------------------


def _may_place(*, user: User, client_ip: str | None) -> None:
    """Before a new order holds anything: a verified email in production, and the network's share of holds."""
    if settings.BOOKDESK_PRODUCTION and not email_verified(user):
        raise EmailNotVerified(
            f"Please verify your email address ({user.email}) before checking out: open the link we sent you, "
            "or ask for a new one from your account's email page."
        )
    if client_ip:
        limit, window = parse_rate(settings.RATE_LIMITS["holds_ip"])
        try:
            rate_limits([(f"holds_ip:{client_ip}", limit, window)])
        except RateLimited as exc:
            raise RateLimited(
                f"Too many unpaid orders from your network in the last {max(1, window // 60)} minutes: try again in "
                f"{exc.retry_after} seconds, or pay for an order already placed.",
                retry_after=exc.retry_after,
            ) from exc


def _cap_unpaid(*, user: User, order: Order) -> None:
    """In the placement transaction, with the new order placed: refuse it (rolling the placement back) if the
    customer now holds more unpaid orders than MAX_UNPAID_ORDERS_PER_CUSTOMER.

    Counted under the customer's row lock, so parallel checkouts of one customer take turns."""
    cap = int(settings.MAX_UNPAID_ORDERS_PER_CUSTOMER)
    if not cap:
        return
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
    unpaid = Order.objects.filter(user=user, status=OrderStatus.PENDING, hold_expires_at__gt=timezone.now())
    if unpaid.count() > cap:
        raise TooManyUnpaidOrders(
            f"You already have {cap} unpaid orders waiting for payment, the most one customer may hold at once: "
            f"pay for one or cancel it (see your bookings), or wait until its hold lapses "
            f"({settings.HOLD_MINUTES} minutes after checkout). Nothing was held for this one."
        )


def book_course(*, user: User, course_id: int, actor: str, client_ip: str | None = None) -> Payment:
    """Book now: one seat, straight to payment.

    Asking again while an earlier booking of the same course is still unpaid (a payment page left
    open, or one that could not be created) answers that order's payment page again instead of
    `already_booked`, so a customer is never locked out by their own unfinished attempt.
    `client_ip` (the caller's network) counts against RATE_LIMITS["holds_ip"].
    """
    _may_place(user=user, client_ip=client_ip)
    try:
        with transaction.atomic():  # the placement and attempt 1 commit together, or neither does
            order = order_place(user=user, items=[ItemRequest(kind="course", course_id=course_id)])
            _cap_unpaid(user=user, order=order)
            payment = first_attempt(order)
    except AlreadyBooked:
        # The placement found the customer's own seat (asked under the course's lock, so the first-time
        # path pays no query for this): an unpaid Book-now order of theirs answers with its payment page.
        earlier = _unpaid_course_booking(user=user, course_id=course_id)
        if earlier is None:
            raise
        open_payment = earlier.payments.filter(status=Payment.Status.OPEN).exclude(checkout_url="").first()
        if open_payment is not None:
            # Its page may have been paid while the webhook was lost: then apply it instead of sending the
            # customer back to a page that is already paid.
            return _settled(open_payment, actor=actor) or open_payment
        return payment_retry(order=earlier, actor=actor)
    return checkout_start(order=order, actor=actor, payment=payment)


def cart_checkout(*, cart: Cart, user: User, client_ip: str | None = None) -> Payment:
    """Place an order for the whole cart and open its payment page.

    The cart stays as it is (it is kept after a cancelled or failed payment). An unpaid order placed
    earlier from this cart is cancelled first, so checking out again never holds things twice. If that
    order's payment page turns out to be paid (its webhook lost or late), the payment is applied instead and
    returned (`Payment.Status.PAID`, its order confirmed): nothing new is placed.
    """
    items = cart_item_requests(cart)
    _may_place(user=user, client_ip=client_ip)
    previous = cart.order
    if previous is not None and previous.status in states.PAYABLE:
        actor = f"user:{user.pk}"
        completed = expire_or_apply_sessions(previous, actor=actor)
        if completed is not None:
            return completed
        order_cancel_unpaid(order=previous, actor=actor, reason="replaced by a new checkout")
    with transaction.atomic():  # the placement, the cart's link and attempt 1 commit together, or none does
        order = order_place(user=user, items=items)
        _cap_unpaid(user=user, order=order)
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
    """Expire the open session first (so no order is payable twice), re-check the holds, start the next attempt.

    If the open session turns out to be complete (paid while its webhook was lost or is late), it is applied
    there and then through the webhook's own fulfilment, and that payment is returned instead of a new one.
    """
    for payment in order.payments.filter(status=Payment.Status.OPEN).exclude(session_id=None):
        session_id = payment.session_id or ""
        expired = gateway.expire_session(session_id)
        if expired is None:
            # Stripe refused to expire it: it is no longer open, so it may have been paid just now.
            session = gateway.retrieve_session(session_id)
            if session.status == gateway.SessionStatus.COMPLETE:
                return _apply_completed(payment, session, actor=actor)
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
        expired_all = expire_open_sessions(order, actor="worker")
        if expired_all and order_expire(order=order, actor="worker", reason="hold lapsed"):
            expired += 1
    stale = Order.objects.filter(
        status__in=[OrderStatus.EXPIRED, OrderStatus.CANCELLED], payments__status=Payment.Status.OPEN
    ).distinct()
    for order in stale[:limit]:
        expire_open_sessions(order, actor="worker")
    return expired


def expire_open_sessions(order: Order, *, actor: str = "system") -> bool:
    """Expire every open session of the order; False when one of them has completed meanwhile (it was applied
    then, see `expire_or_apply_sessions`): the order must not be cancelled or expired."""
    return expire_or_apply_sessions(order, actor=actor) is None


def expire_or_apply_sessions(order: Order, *, actor: str = "system") -> Payment | None:
    """Expire every open session of the order; None when all are expired.

    A session that Stripe will not expire because it completed meanwhile (paid, or a delayed method under
    way) is applied at once through the webhook's fulfilment, and its payment returned, with its order: the
    caller must not cancel or expire that order.
    """
    for payment in order.payments.filter(status__in=[Payment.Status.OPEN, Payment.Status.CREATING]):
        session_id = payment.session_id
        if session_id is not None and gateway.expire_session(session_id) is None:
            session = gateway.retrieve_session(session_id)
            if session.status == gateway.SessionStatus.COMPLETE:
                logger.info("order %s: session %s completed meanwhile; applied now", order.code, session_id)
                return _apply_completed(payment, session, actor=actor)
        Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.EXPIRED, updated_at=timezone.now())
    return None


def _apply_completed(payment: Payment, session: Any, *, actor: str) -> Payment:
    """Apply a completed session now (the same idempotent step as its webhook); its payment, re-read with the
    order, its lines, payments and shipment (goods: the address the session collected)."""
    fulfil_checkout(session.id, actor=actor, session=session)
    applied = Payment.objects.select_related("order").get(pk=payment.pk)
    applied.order = (
        Order.objects.select_related("shipment").prefetch_related("lines", "payments").get(pk=applied.order_id)
    )
    return applied


def _settled(payment: Payment, *, actor: str) -> Payment | None:
    """The open payment, applied, if its session has completed meanwhile; None while it is still open."""
    session = gateway.retrieve_session(payment.session_id or "")
    if session.status != gateway.SessionStatus.COMPLETE:
        return None
    return _apply_completed(payment, session, actor=actor)


def order_refresh(*, order: Order, actor: str) -> Order:
    """Re-read the order's Checkout Sessions from Stripe and apply what they say (a paid one confirms the order,
    an expired one expires it as the expiry webhook would): the way out when webhooks are lost.

    Only sessions that can still change our records are read: those of attempts open, being created or
    processing. Every step is the webhook's own, so calling this again, or the webhook arriving late, changes
    nothing more.
    """
    live = (Payment.Status.OPEN, Payment.Status.CREATING, Payment.Status.PROCESSING)
    for payment in order.payments.filter(status__in=live).exclude(session_id=None).order_by("attempt"):
        fulfil_checkout(payment.session_id or "", actor=actor)
    return order

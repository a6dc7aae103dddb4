"""The caller's orders: read one, retry its payment, cancel it before payment."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from bookdesk.accounts.auth import user_auth
from bookdesk.api.checkout import checkout_status, limit_checkout
from bookdesk.api.documents import order_documents
from bookdesk.api.schemas.orders import (
    CancellationOut,
    CheckoutOut,
    LineCancelOut,
    MoneyOut,
    OrderCancelOut,
    OrderOut,
)
from bookdesk.errors import PAYING_PROBLEMS, Conflict, NotFound, problems
from bookdesk.fields import AddressText, ObjectId
from bookdesk.ops.ratelimit import rate_limit_request
from bookdesk.orders.models import Order
from bookdesk.orders.selectors import order_for
from bookdesk.orders.services import order_cancel_unpaid
from bookdesk.payments.checkout import expire_open_sessions, order_refresh, payment_retry
from bookdesk.payments.policy import CANCELLABLE_ORDERS
from bookdesk.payments.refunds import order_cancel_confirmed, order_lines_cancel

router = Router(tags=["orders"], auth=user_auth)


def order_answer(order: Order) -> OrderOut:
    return OrderOut.from_order(order, documents=order_documents(order))


@router.get("/orders/{code}", response={200: OrderOut, **problems(401, 404)}, summary="One of the caller's orders")
def order_detail(request: HttpRequest, code: AddressText) -> OrderOut:
    order = order_for(code=code, user=request.auth)  # type: ignore[attr-defined]
    return order_answer(order)


@router.post(
    "/orders/{code}/retry-payment",
    response={200: CheckoutOut, 201: CheckoutOut, **PAYING_PROBLEMS},
    summary="Start a new payment attempt",
)
def order_retry_payment(request: HttpRequest, code: AddressText) -> Status[CheckoutOut]:
    """201: a new payment page (the open one is expired first). 200: the open page turned out to be paid (its
    webhook lost): the order is confirmed now, and `checkout_url` is the success page."""
    limit_checkout(request)
    user = request.auth  # type: ignore[attr-defined]
    order = order_for(code=code, user=user)
    return checkout_status(payment_retry(order=order, actor=f"user:{user.pk}"))


@router.post(
    "/orders/{code}/refresh", response={200: OrderOut, **PAYING_PROBLEMS}, summary="Ask Stripe how the order stands"
)
def order_refresh_from_stripe(request: HttpRequest, code: AddressText) -> OrderOut:
    """Re-read the order's Checkout Sessions from Stripe and apply what they say (paid: confirmed; expired: the
    hold released), as their webhooks would: the way out when a webhook was lost. Changes nothing when
    everything is applied already."""
    rate_limit_request(request, "order_refresh", per_ip="order_refresh_ip")
    user = request.auth  # type: ignore[attr-defined]
    order_refresh(order=order_for(code=code, user=user), actor=f"user:{user.pk}")
    return order_answer(order_for(code=code, user=user))


def _with_cancellation(order: OrderOut, cancellation: CancellationOut | None) -> OrderCancelOut:
    return OrderCancelOut.model_construct(**dict(order), cancellation=cancellation)


@router.post("/orders/{code}/cancel", response={200: OrderCancelOut, **PAYING_PROBLEMS}, summary="Cancel an order")
def order_cancel(request: HttpRequest, code: AddressText) -> OrderCancelOut:
    """Before payment: releases everything. Once paid: every line its kind's policy allows is cancelled and
    refunded, line by line; `cancellation` lists what was refunded and what was refused, with the reasons.
    Nothing refundable at all: 409 `not_cancellable` with the reasons, and nothing changes."""
    user = request.auth  # type: ignore[attr-defined]
    order = order_for(code=code, user=user)
    if order.status in CANCELLABLE_ORDERS:
        cancellation = order_cancel_confirmed(order=order, actor=f"user:{user.pk}")
        answer = order_answer(order_for(code=code, user=user))
        return _with_cancellation(answer, CancellationOut.from_cancellation(cancellation))
    # Expire the payment page first, so a cancelled order cannot be paid through a page left open.
    if not expire_open_sessions(order, actor=f"user:{user.pk}"):
        raise Conflict("This order's payment has just been received; it can no longer be cancelled this way.")
    order_cancel_unpaid(order=order, actor=f"user:{user.pk}", reason="cancelled by the customer")
    return _with_cancellation(order_answer(order_for(code=code, user=user)), None)


@router.post(
    "/orders/{code}/lines/{line_id}/cancel",
    response={200: LineCancelOut, **PAYING_PROBLEMS},
    summary="Cancel one line of an order",
)
def order_line_cancel(request: HttpRequest, code: AddressText, line_id: ObjectId) -> LineCancelOut:
    """Cancel one line under its kind's policy and refund its price with its tax (and the shipping with the
    last goods line). Refused: 409 `not_refundable` with the reason, and nothing changes. Another
    customer's order or line: 404."""
    user = request.auth  # type: ignore[attr-defined]
    order = order_for(code=code, user=user)
    if order.user_id != user.pk:  # staff read any order, but cancel only their own
        raise NotFound("Order not found.")
    cancellation = order_lines_cancel(order=order, line_ids=[line_id], actor=f"user:{user.pk}")
    fresh = order_for(code=code, user=user)
    line = next(line for line in fresh.lines.all() if line.pk == line_id)
    refunded = cancellation.refunded[0]
    answer = order_answer(fresh)
    return LineCancelOut.model_construct(
        line_id=line.pk,
        line_status=line.status,
        order_status=fresh.status,
        refund=MoneyOut.model_construct(amount=cancellation.amount, currency=fresh.currency),
        tax=MoneyOut.model_construct(amount=refunded.tax, currency=fresh.currency),
        shipping=MoneyOut.model_construct(amount=cancellation.shipping, currency=fresh.currency),
        order=answer,
    )

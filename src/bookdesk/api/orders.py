"""The caller's orders: read one, retry its payment, cancel it before payment."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from bookdesk.accounts.auth import user_auth
from bookdesk.api.checkout import checkout_status, limit_checkout
from bookdesk.api.documents import order_documents
from bookdesk.api.schemas.orders import CheckoutOut, OrderOut
from bookdesk.errors import PAYING_PROBLEMS, Conflict, problems
from bookdesk.ops.ratelimit import rate_limit_request
from bookdesk.orders.models import Order, OrderStatus
from bookdesk.orders.selectors import order_for
from bookdesk.orders.services import order_cancel_unpaid
from bookdesk.payments.checkout import expire_open_sessions, order_refresh, payment_retry
from bookdesk.payments.refunds import order_cancel_confirmed

router = Router(tags=["orders"], auth=user_auth)


def order_answer(order: Order) -> OrderOut:
    return OrderOut.from_order(order, documents=order_documents(order))


@router.get("/orders/{code}", response={200: OrderOut, **problems(401, 404)}, summary="One of the caller's orders")
def order_detail(request: HttpRequest, code: str) -> OrderOut:
    order = order_for(code=code, user=request.auth)  # type: ignore[attr-defined]
    return order_answer(order)


@router.post(
    "/orders/{code}/retry-payment",
    response={200: CheckoutOut, 201: CheckoutOut, **PAYING_PROBLEMS},
    summary="Start a new payment attempt",
)
def order_retry_payment(request: HttpRequest, code: str) -> Status[CheckoutOut]:
    """201: a new payment page (the open one is expired first). 200: the open page turned out to be paid (its
    webhook lost): the order is confirmed now, and `checkout_url` is the success page."""
    limit_checkout(request)
    user = request.auth  # type: ignore[attr-defined]
    order = order_for(code=code, user=user)
    return checkout_status(payment_retry(order=order, actor=f"user:{user.pk}"))


@router.post(
    "/orders/{code}/refresh", response={200: OrderOut, **PAYING_PROBLEMS}, summary="Ask Stripe how the order stands"
)
def order_refresh_from_stripe(request: HttpRequest, code: str) -> OrderOut:
    """Re-read the order's Checkout Sessions from Stripe and apply what they say (paid: confirmed; expired: the
    hold released), as their webhooks would: the way out when a webhook was lost. Changes nothing when
    everything is applied already."""
    rate_limit_request(request, "order_refresh", per_ip="order_refresh_ip")
    user = request.auth  # type: ignore[attr-defined]
    order_refresh(order=order_for(code=code, user=user), actor=f"user:{user.pk}")
    return order_answer(order_for(code=code, user=user))


@router.post("/orders/{code}/cancel", response={200: OrderOut, **PAYING_PROBLEMS}, summary="Cancel an order")
def order_cancel(request: HttpRequest, code: str) -> OrderOut:
    """Before payment: releases everything. A confirmed booking: refunded within the cancellation policy."""
    user = request.auth  # type: ignore[attr-defined]
    order = order_for(code=code, user=user)
    if order.status == OrderStatus.CONFIRMED:
        order_cancel_confirmed(order=order, actor=f"user:{user.pk}")
        return order_answer(order_for(code=code, user=user))
    # Expire the payment page first, so a cancelled order cannot be paid through a page left open.
    if not expire_open_sessions(order, actor=f"user:{user.pk}"):
        raise Conflict("This order's payment has just been received; it can no longer be cancelled this way.")
    order_cancel_unpaid(order=order, actor=f"user:{user.pk}", reason="cancelled by the customer")
    return order_answer(order_for(code=code, user=user))

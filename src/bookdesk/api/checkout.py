"""Checkout endpoints: book one course seat directly, or check out the cart."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Status

from bookdesk.accounts.auth import user_auth
from bookdesk.api.schemas.orders import CheckoutOut, CourseCheckoutIn, OrderOut
from bookdesk.errors import PAYING_PROBLEMS
from bookdesk.ops.ratelimit import client_ip, rate_limit_request
from bookdesk.payments.checkout import book_course
from bookdesk.payments.models import Payment

router = Router(tags=["checkout"], auth=user_auth)


def limit_checkout(request: HttpRequest) -> None:
    """Checkout calls Stripe: limit it per user and, separately, per IP address."""
    rate_limit_request(request, "checkout", per_ip="checkout_ip")


def checkout_answer(payment: Payment) -> CheckoutOut:
    order = payment.order  # checkout_start leaves it with its lines and payments in hand
    return CheckoutOut.model_construct(
        order=OrderOut.from_order(order), checkout_url=payment.checkout_url, session_id=payment.session_id or ""
    )


def checkout_status(payment: Payment) -> Status[CheckoutOut]:
    """201 with the new payment page; or 200 when an earlier page of the order turned out to be paid already
    (its webhook lost): the order as that payment left it, and the success page as where to go next."""
    if payment.status in (Payment.Status.OPEN, Payment.Status.CREATING):
        return Status(201, checkout_answer(payment))
    success = f"{settings.SITE_URL}/payment/success?session_id={payment.session_id or ''}"
    answer = CheckoutOut.model_construct(
        order=OrderOut.from_order(payment.order), checkout_url=success, session_id=payment.session_id or ""
    )
    return Status(200, answer)


@router.post(
    "/stripe/checkout",
    response={200: CheckoutOut, 201: CheckoutOut, **PAYING_PROBLEMS},
    summary="Book one course seat and start paying",
)
def course_checkout(request: HttpRequest, payload: CourseCheckoutIn) -> Status[CheckoutOut]:
    """201: the payment page to send the customer to. 200: the customer's earlier unpaid booking of this course
    turned out to be paid (its webhook lost): it is confirmed now, and `checkout_url` is the success page."""
    limit_checkout(request)
    user = request.auth  # type: ignore[attr-defined]
    payment = book_course(user=user, course_id=payload.course_id, actor=f"user:{user.pk}", client_ip=client_ip(request))
    return checkout_status(payment)

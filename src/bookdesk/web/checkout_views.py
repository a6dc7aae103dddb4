"""Cart and checkout pages: add to the cart, see it, check out, book one course now, and the two pages
Stripe Checkout sends the customer back to (success, cancel).

Thin shells over the cart, orders and payments services: parse the form, call one service, then
redirect (303) or render. A refusal (sold out, slot taken, bad form input…) becomes a readable message
on the page the customer came from and changes nothing; it is never a 500.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from bookdesk.accounts.models import User
from bookdesk.api.checkout import limit_checkout
from bookdesk.cart.models import CartItem
from bookdesk.cart.services import (
    CartLine,
    CartView,
    cart_add,
    cart_for_request,
    cart_order_unpaid,
    cart_remove,
    cart_view,
)
from bookdesk.catalog.selectors import business_time_zone
from bookdesk.errors import BookdeskError, CartEmpty, InvalidInput, NotFound, PaymentProviderError, RateLimited
from bookdesk.ops.ratelimit import client_ip
from bookdesk.orders import states
from bookdesk.orders.availability import course_get
from bookdesk.orders.downloads import grant_downloads
from bookdesk.orders.models import Booking, Grant, HoldStatus, Order, OrderLine, OrderStatus, Reservation
from bookdesk.orders.selectors import order_for
from bookdesk.orders.services import ItemRequest
from bookdesk.payments import fulfilment, gateway
from bookdesk.payments.checkout import book_course, cart_checkout, payment_retry
from bookdesk.payments.documents import documents_of
from bookdesk.payments.fulfilment import fulfil_checkout
from bookdesk.payments.models import DocumentKind, Payment
from bookdesk.web.decorators import noindex, protected_page
from bookdesk.web.errors import error_page

logger = logging.getLogger("bookdesk.web.checkout")

# Stripe's session ids (cs_test_…, cs_live_…); anything else is not looked up at all.
SESSION_ID = re.compile(r"^cs_[A-Za-z0-9_]{1,250}$")
ORDER_CODE = re.compile(r"^BD-[A-Za-z0-9]{1,12}$", re.IGNORECASE)
DIGITS = re.compile(r"^[0-9]{1,18}$")
MAX_QUANTITY = 99
# How often the success page reloads itself while the payment is being confirmed.
CONFIRMING_REFRESH_SECONDS = 4

UNREADABLE_ITEM = "We could not tell what to add. Reload the page and try again."
NOTHING_CHARGED = "Nothing was charged."


class SeeOther(HttpResponseRedirect):
    """303: after a POST, the browser follows with a GET (also to Stripe's page)."""

    status_code = 303


def _payment_page(payment: Payment) -> HttpResponse:
    if payment.status not in (Payment.Status.OPEN, Payment.Status.CREATING):
        # An earlier page of the order turned out to be paid (its webhook lost): it was applied; show the order.
        return SeeOther(f"{reverse('payment_success')}?{urlencode({'session_id': payment.session_id or ''})}")
    if not payment.checkout_url:
        raise PaymentProviderError("The payment page could not be opened. Nothing was charged; please try again.")
    return SeeOther(payment.checkout_url)


def _customer(request: HttpRequest) -> User | None:
    user = request.user
    return user if user.is_authenticated else None  # type: ignore[return-value]


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


# --- adding to and removing from the cart ---------------------------------------------------------


def _form_id(data: QueryDict, name: str) -> int | None:
    raw = (data.get(name) or "").strip()
    if not raw:
        return None
    if not DIGITS.match(raw):
        raise InvalidInput(UNREADABLE_ITEM)
    return int(raw)


def _form_slot(data: QueryDict) -> dt.datetime:
    raw = (data.get("starts_at") or "").strip()
    if not raw:
        raise InvalidInput("Choose a time slot.")
    try:
        starts_at = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput("That is not a time we can read. Pick a free time from the list.") from None
    if timezone.is_naive(starts_at):
        raise InvalidInput("That time has no time zone, so we cannot tell when it is. Pick a free time from the list.")
    try:
        return starts_at.astimezone(dt.UTC)
    except OverflowError:  # the first or last day of the calendar, shifted past its end
        raise InvalidInput("That time is outside any calendar we book. Pick a free time from the list.") from None


def _form_quantity(data: QueryDict) -> int:
    raw = (data.get("quantity") or "1").strip()
    if not DIGITS.match(raw) or not 1 <= int(raw) <= MAX_QUANTITY:
        raise InvalidInput("Enter a quantity of at least 1.")
    return int(raw)


def item_from_form(data: QueryDict) -> ItemRequest:
    """The item an "Add to cart" form asks for; bad input is an `InvalidInput` with a readable message."""
    kind = data.get("kind")
    if kind == "course":
        course_id = _form_id(data, "course_id")
        if course_id is None:
            raise InvalidInput(UNREADABLE_ITEM)
        return ItemRequest(kind="course", course_id=course_id)
    if kind == "service":
        service_id = _form_id(data, "service_id")
        if service_id is None:
            raise InvalidInput(UNREADABLE_ITEM)
        return ItemRequest(kind="service", service_id=service_id, starts_at=_form_slot(data))
    if kind == "product":
        product_id = _form_id(data, "product_id")
        if product_id is None:
            raise InvalidInput(UNREADABLE_ITEM)
        return ItemRequest(
            kind="product",
            product_id=product_id,
            license_id=_form_id(data, "license_id"),
            quantity=_form_quantity(data),
        )
    raise InvalidInput(UNREADABLE_ITEM)


def _item_title(item: CartItem) -> str:
    if item.course is not None:
        return item.course.title
    if item.service is not None and item.starts_at is not None:
        local = item.starts_at.astimezone(business_time_zone())
        return f"{item.service.name}, {local:%a %d %b %H:%M}"
    if item.product is not None:
        return f"{item.product.title} — {item.license.name}" if item.license else item.product.title
    return "the item"


@require_POST
def cart_item_add(request: HttpRequest) -> HttpResponse:
    back = _safe_next(request, default=reverse("cart"))
    had_cart = cart_for_request(request, create=False)
    try:
        wanted = item_from_form(request.POST)
        # One transaction: a refused first item leaves no empty cart behind.
        with transaction.atomic():
            cart = had_cart or cart_for_request(request, create=True)
            assert cart is not None  # noqa: S101 - create=True always answers a cart
            item = cart_add(cart=cart, user=_customer(request), request=wanted)
    except BookdeskError as exc:
        messages.error(request, exc.detail)
        return SeeOther(back)
    messages.success(request, f"Added to your cart: {_item_title(item)}.", extra_tags="added")
    return SeeOther(back)


@require_POST
def cart_item_remove(request: HttpRequest, item_id: int) -> HttpResponse:
    cart = cart_for_request(request, create=False)
    try:
        if cart is None:
            raise NotFound("That item is not in your cart.")
        cart_remove(cart=cart, item_id=item_id)
    except BookdeskError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, "Removed from your cart.")
    return SeeOther(_safe_next(request, default=reverse("cart")))


# --- the cart and checkout pages ------------------------------------------------------------------

KIND_GROUPS = (("service", "Studio time"), ("course", "Courses"), ("product", "Products"))


@dataclass(frozen=True)
class LineGroup:
    label: str
    lines: list[CartLine]


def _groups(view: CartView) -> list[LineGroup]:
    groups = [LineGroup(label, [line for line in view.lines if line.item.kind == kind]) for kind, label in KIND_GROUPS]
    return [group for group in groups if group.lines]


def _unpaid_order(view: CartView) -> Order | None:
    """The cart's earlier order while it can still be paid (its hold has not lapsed)."""
    order = cart_order_unpaid(view.cart)
    if order is None or order.hold_expires_at <= timezone.now():
        return None
    return order


@never_cache
@noindex
@require_safe
def cart_page(request: HttpRequest) -> HttpResponse:
    view = cart_view(cart_for_request(request, create=False), user=_customer(request))
    context = {"view": view, "breakdown": view.breakdown, "unpaid": _unpaid_order(view)}
    return render(request, "web/cart.html", context)


def _checkout_page(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    view = cart_view(cart_for_request(request, create=False), user=_customer(request))
    context = {
        "view": view,
        "breakdown": view.breakdown,
        "groups": _groups(view),
        "error": error,
        "hold_minutes": settings.HOLD_MINUTES,
    }
    return render(request, "web/checkout.html", context, status=status)


@protected_page
@require_http_methods(["GET", "HEAD", "POST"])
def checkout_page(request: HttpRequest) -> HttpResponse:
    """The cart at a glance and "Proceed to payment"; the POST is the no-JavaScript way to pay."""
    if request.method != "POST":
        return _checkout_page(request)
    user = _customer(request)
    assert user is not None  # noqa: S101 - protected_page
    try:
        limit_checkout(request)
        cart = cart_for_request(request, create=False)
        if cart is None or not cart.items.exists():
            raise CartEmpty("Your cart is empty.")
        return _payment_page(cart_checkout(cart=cart, user=user, client_ip=client_ip(request)))
    except BookdeskError as exc:
        response = _checkout_page(request, error=exc.detail, status=exc.status)
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        return response


@require_POST
def course_book_now(request: HttpRequest, slug: str) -> HttpResponse:
    """Book one course seat and go straight to payment, without the cart."""
    try:
        course = course_get(slug=slug)
    except NotFound as exc:
        raise Http404("No such course.") from exc
    back = reverse("course_detail", args=[course.slug])
    user = _customer(request)
    if user is None:
        return SeeOther(f"{reverse('account_login')}?{urlencode({'next': back})}")
    try:
        limit_checkout(request)
        payment = book_course(user=user, course_id=course.pk, actor=f"user:{user.pk}", client_ip=client_ip(request))
        return _payment_page(payment)
    except BookdeskError as exc:
        messages.error(request, exc.detail)
        return SeeOther(back)


# --- back from Stripe Checkout --------------------------------------------------------------------


def _payment_not_found(request: HttpRequest) -> HttpResponse:
    return error_page(
        request,
        status=404,
        title="We could not find this payment",
        detail="This payment does not exist or belongs to another account. If you have just paid, nothing is "
        "lost: every payment is matched to its order, even when this page cannot show it.",
    )


def _order_not_found(request: HttpRequest) -> HttpResponse:
    return error_page(
        request,
        status=404,
        title="We could not find this order",
        detail="This order does not exist or belongs to another account. Your cart is kept.",
    )


def _own_order(request: HttpRequest, code: str) -> Order | None:
    code = code.strip()
    if not ORDER_CODE.match(code):
        return None
    try:
        return order_for(code=code, user=request.user)
    except NotFound:
        return None


def _order_context(order: Order) -> dict[str, Any]:
    lines = list(order.lines.all())
    return {
        "order": order,
        "lines": lines,
        # What the customer bought, in the page's words: a booking (a seat or studio time among it), else an order.
        "bought": "booking" if any(line.kind != OrderLine.Kind.PRODUCT for line in lines) else "order",
        # Inclusive prices: the tax is part of the subtotal rather than added to it.
        "tax_included": order.total_amount == order.subtotal_amount + order.shipping_amount,
    }


@dataclass(frozen=True)
class Download:
    title: str
    url: str


def _next_steps(order: Order) -> dict[str, Any]:
    """After a confirmed payment: the files to download (each deliverable of a licence, and its agreement),
    the calendar file, the invoice, and where the email went."""
    confirmed = {"line__order": order, "status": HoldStatus.CONFIRMED}
    grants = Grant.objects.filter(**confirmed).select_related("line", "license", "product").order_by("pk")
    dated = Booking.objects.filter(**confirmed).exists() or Reservation.objects.filter(**confirmed).exists()
    invoice = next((ref for ref in documents_of(order) if ref.kind == DocumentKind.INVOICE), None)
    return {
        "downloads": [
            Download(f"{grant.line.description}: {file.name}", file.url)
            for grant in grants
            for file in grant_downloads(grant)
        ],
        "has_calendar": dated,
        "invoice": invoice,
        "invoice_url": (
            reverse("api:order_document", kwargs={"code": order.code, "number": invoice.number}) if invoice else None
        ),
        "emailed_to": order.email,
    }


class SuccessState(StrEnum):
    """What the success page says, from what the database and Stripe know."""

    CONFIRMED = "confirmed"
    CONFIRMING = "confirming"  # paid; the order is being confirmed
    PROCESSING = "processing"  # a delayed method, not settled yet
    FAILED = "failed"
    REVIEW = "review"
    REFUNDED = "refunded"
    UNPAID = "unpaid"  # the payment page is still open
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # Stripe could not be asked
    CLOSED = "closed"


def success_state(order: Order, session: Any | None) -> SuccessState:
    if order.status == OrderStatus.CONFIRMED:
        return SuccessState.CONFIRMED
    if order.status == OrderStatus.NEEDS_REVIEW:
        return SuccessState.REVIEW
    if order.status in (OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED):
        return SuccessState.REFUNDED
    if session is None:
        return SuccessState.UNKNOWN
    status, payment_status = getattr(session, "status", None), getattr(session, "payment_status", None)
    if payment_status in fulfilment.PAID or order.status == OrderStatus.PAID:
        return SuccessState.CONFIRMING
    if order.status == OrderStatus.FAILED:
        return SuccessState.FAILED
    if status == gateway.SessionStatus.COMPLETE or order.status == OrderStatus.PROCESSING:
        return SuccessState.PROCESSING
    if status == gateway.SessionStatus.OPEN and order.status in states.PAYABLE:
        return SuccessState.UNPAID
    if status == gateway.SessionStatus.EXPIRED:
        return SuccessState.EXPIRED
    return SuccessState.CLOSED


@protected_page
@require_safe
def payment_success(request: HttpRequest) -> HttpResponse:
    session_id = (request.GET.get("session_id") or "").strip()
    if not SESSION_ID.match(session_id):
        return _payment_not_found(request)
    payment = Payment.objects.select_related("order").filter(session_id=session_id).first()
    if payment is None or (payment.order.user_id != request.user.pk and not request.user.is_staff):
        return _payment_not_found(request)
    order = payment.order
    session, provider_error = None, ""
    try:
        session = gateway.retrieve_session(session_id)
    except gateway.GatewayError:
        provider_error = (
            f"We could not check this payment with the payment provider just now. Your order {order.code} is safe: "
            "nothing is lost, and a payment you made is matched to it. Try this page again in a minute."
        )
    else:
        # The same idempotent fulfilment as the webhook's: the customer need not wait for it.
        try:
            # What the provider reports, applied on the customer's return: the provider's doing, not theirs.
            fulfil_checkout(session_id, actor="stripe:success_page", session=session)
        except BookdeskError:
            logger.warning("success page: fulfilment of %s deferred to the webhook", session_id, exc_info=True)
        order.refresh_from_db()
    state = success_state(order, session)
    context = {
        **_order_context(order),
        "payment": payment,
        "state": state,
        "provider_error": provider_error,
        "amount_paid": getattr(session, "amount_total", None) if state == SuccessState.CONFIRMING else None,
        "refresh_seconds": CONFIRMING_REFRESH_SECONDS if state == SuccessState.CONFIRMING else None,
        "can_continue": state == SuccessState.UNPAID
        and payment.status == Payment.Status.OPEN
        and bool(payment.checkout_url),
        "can_retry": state == SuccessState.FAILED,
        **(_next_steps(order) if state == SuccessState.CONFIRMED else {}),
    }
    return render(request, "web/payment_success.html", context)


@protected_page
@require_safe
def payment_cancel(request: HttpRequest) -> HttpResponse:
    order = _own_order(request, request.GET.get("order") or "")
    if order is None:
        return _order_not_found(request)
    view = cart_view(cart_for_request(request, create=False), user=_customer(request))
    context = {
        **_order_context(order),
        "cart_items": view.count,
        "paid": order.status in states.PAID_OR_LATER,
        "can_retry": order.status in states.PAYABLE and order.hold_expires_at > timezone.now(),
    }
    return render(request, "web/payment_cancel.html", context)


@protected_page
@require_POST
def payment_retry_page(request: HttpRequest) -> HttpResponse:
    """The "Try again" of an unpaid order: a new Checkout Session (the open one is expired first)."""
    order = _own_order(request, request.POST.get("order") or "")
    if order is None:
        return _order_not_found(request)
    user = _customer(request)
    assert user is not None  # noqa: S101 - protected_page
    back = _safe_next(request, default=f"{reverse('payment_cancel')}?{urlencode({'order': order.code})}")
    try:
        limit_checkout(request)
        return _payment_page(payment_retry(order=order, actor=f"user:{user.pk}"))
    except BookdeskError as exc:
        messages.error(request, exc.detail)
        return SeeOther(back)

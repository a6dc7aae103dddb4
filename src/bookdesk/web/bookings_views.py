"""The customer's pages after checkout: /bookings (seats, slots, licenses and goods, filtered and paged), one
order's page (lines, totals, payments, refunds and a readable timeline), cancelling a confirmed booking
within the policy, and an order's calendar file.

Thin shells over `orders.selectors` and `payments.refunds`. Someone else's order (or a code that does not
exist) is the same readable 404 page; staff may look at any order but act on none from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from bookdesk.api.checkout import limit_checkout
from bookdesk.bookings import selectors as bookings
from bookdesk.bookings.filters import BookingFilters, BookingKind, BookingStatusFilter
from bookdesk.bookings.selectors import BookingItem
from bookdesk.errors import BookdeskError, NotFound
from bookdesk.money import format_money
from bookdesk.notifications.ics import CONTENT_TYPE as ICS_CONTENT_TYPE
from bookdesk.notifications.ics import calendar_for
from bookdesk.orders.downloads import Download, grant_downloads
from bookdesk.orders.models import AuditEntry, Grant, HoldStatus, Order, OrderLine, OrderStatus
from bookdesk.paging import page_number
from bookdesk.payments.documents import documents_of
from bookdesk.payments.policy import CANCELLABLE_ORDERS, LineTerms, order_line_terms, refund_of_all
from bookdesk.payments.refunds import Cancellation, order_cancel_confirmed, order_lines_cancel
from bookdesk.web.checkout_views import ORDER_CODE, SeeOther
from bookdesk.web.decorators import protected_page
from bookdesk.web.errors import error_page

PAGE_SIZE = 20
MAX_PAGE = 100_000

# The filters as the page offers them: (value, label); "" is "no filter".
STATUS_CHOICES = (
    ("", "Any status"),
    (BookingStatusFilter.CONFIRMED.value, "Confirmed"),
    (BookingStatusFilter.HELD.value, "Awaiting payment"),
    (BookingStatusFilter.RELEASED.value, "Not completed"),
    (BookingStatusFilter.CANCELLED.value, "Cancelled or refunded"),
)
KIND_CHOICES = (
    ("", "Everything"),
    (BookingKind.COURSE.value, "Courses"),
    (BookingKind.SERVICE.value, "Studio time"),
    (BookingKind.PRODUCT.value, "Licenses"),
    (BookingKind.GOODS.value, "Goods"),
)
WHEN_CHOICES = (("", "Any time"), ("true", "Upcoming"), ("false", "Past, licenses and goods"))
KIND_LABELS = {
    BookingKind.COURSE: "Course",
    BookingKind.SERVICE: "Studio time",
    BookingKind.PRODUCT: "License",
    BookingKind.GOODS: "Goods",
}


def _order_not_found(request: HttpRequest) -> HttpResponse:
    return error_page(
        request,
        status=404,
        title="We could not find this order",
        detail="This order does not exist or belongs to another account. Your bookings are listed under “My bookings”.",
    )


def _order(request: HttpRequest, code: str, *, owner_only: bool = False) -> Order | None:
    """The order for its page (the owner's, or any for staff); None when it is not theirs to see."""
    if not ORDER_CODE.match(code):
        return None
    try:
        order = bookings.order_detail(code=code, user=request.user)
    except NotFound:
        return None
    if owner_only and order.user_id != request.user.pk:
        return None
    return order


def _is_owner(request: HttpRequest, order: Order) -> bool:
    return bool(order.user_id == request.user.pk)


# --- badges ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Badge:
    text: str
    tone: str  # a CSS modifier: ok, wait, off


def badge_for(hold_status: str, order_status: str) -> Badge:
    """One plain badge for a seat, slot, license or goods: its own status, told through its order's."""
    if hold_status == HoldStatus.CONFIRMED:
        return Badge("Confirmed", "ok")
    if hold_status == HoldStatus.HELD:
        if order_status == OrderStatus.PENDING:
            return Badge("Awaiting payment", "wait")
        return Badge(str(OrderStatus(order_status).label), "wait")
    if hold_status == HoldStatus.RELEASED:
        texts = {
            OrderStatus.FAILED: "Payment failed",
            OrderStatus.EXPIRED: "Expired",
            OrderStatus.CANCELLED: "Cancelled",
        }
        return Badge(texts.get(OrderStatus(order_status), "Not completed"), "off")
    if order_status == OrderStatus.REFUNDED:
        return Badge("Refunded", "off")
    if order_status == OrderStatus.PARTIALLY_REFUNDED:
        return Badge("Cancelled, partly refunded", "off")
    return Badge("Cancelled", "off")


# --- /bookings --------------------------------------------------------------------------------------


def _choice(data: QueryDict, name: str, choices: tuple[tuple[str, str], ...]) -> tuple[str, bool]:
    """The chosen value of a filter ("" if none), and whether what was sent was not a choice at all."""
    raw = (data.get(name) or "").strip().lower()
    if raw in {value for value, _ in choices}:
        return raw, False
    return "", True


@dataclass(frozen=True)
class ListedItem:
    item: BookingItem
    badge: Badge
    kind_label: str


@protected_page
@require_safe
def bookings_page(request: HttpRequest) -> HttpResponse:
    status, bad_status = _choice(request.GET, "status", STATUS_CHOICES)
    kind, bad_kind = _choice(request.GET, "kind", KIND_CHOICES)
    when, bad_when = _choice(request.GET, "upcoming", WHEN_CHOICES)
    filters = BookingFilters(
        status=BookingStatusFilter(status) if status else None,
        kind=BookingKind(kind) if kind else None,
        upcoming={"true": True, "false": False}.get(when),
    )
    page = bookings.booking_page(
        user=request.user,
        filters=filters,
        page=page_number(request.GET.get("page"), last=MAX_PAGE),
        page_size=PAGE_SIZE,
    )
    chosen = {name: value for name, value in (("status", status), ("kind", kind), ("upcoming", when)) if value}

    def page_link(number: int) -> str:
        return "?" + urlencode({**chosen, "page": number})

    context = {
        "items": [
            ListedItem(item, badge_for(item.status, item.order.status), KIND_LABELS[item.kind]) for item in page.items
        ],
        "page": page,
        "previous_link": page_link(page.page - 1) if page.has_previous else None,
        "next_link": page_link(page.page + 1) if page.has_next else None,
        "first_link": page_link(1) if page.page > page.pages else None,
        "filters": {"status": status, "kind": kind, "upcoming": when},
        "filtered": bool(chosen),
        "status_choices": STATUS_CHOICES,
        "kind_choices": KIND_CHOICES,
        "when_choices": WHEN_CHOICES,
        "filter_error": bad_status or bad_kind or bad_when,
        "back": request.get_full_path(),
        "cutoff_hours": settings.CANCELLATION_CUTOFF_HOURS,
        "license_days": settings.LICENSE_REFUND_DAYS,
    }
    return render(request, "web/bookings.html", context, status=400 if context["filter_error"] else 200)


# --- /orders/<code> ---------------------------------------------------------------------------------

# What each audit action says to the customer; `{amount}` is filled from the entry's data.
TIMELINE_SENTENCES = {
    "order.placed": "Order placed; what you chose is held for you while you pay.",
    "payment.session_created": "Payment page opened (attempt {attempt}).",
    "payment.session_expired": "The earlier payment page was closed.",
    "payment.expired": "The payment page expired without a payment.",
    "payment.processing": "Your bank is processing the payment.",
    "payment.paid": "Payment received.",
    "payment.failed": "The payment did not go through. Nothing was charged.",
    "payment.refused": "The payment provider refused to start the payment. Nothing was charged.",
    "payment.refund_due": "A payment that was not needed is being refunded.",
    "payment.refunded": "A payment that was not needed was refunded.",
    "order.pending": "Waiting for payment again.",
    "order.processing": "Payment is being processed.",
    "order.paid": "Order paid.",
    "order.confirmed": "Order confirmed.",
    "order.failed": "Payment failed.",
    "order.expired": "The time to pay ran out, so the order expired.",
    "order.cancelled": "Order cancelled.",
    "order.refunded": "Order refunded in full.",
    "order.partially_refunded": "Order partly refunded.",
    "order.needs_review": "We are checking this payment by hand.",
    "order.holds_released": "What the order held was given back.",
    "order.holds_retaken": "What the order held is held for you again.",
    "order.rehold_refused": "Part of the order is no longer available, so it could not be held again.",
    "order.cancelled_without_refund": "Booking cancelled; under the cancellation policy there is no refund.",
    "order.disputed": "The payment was disputed with the bank.",
    "refund.created": "Refund of {amount} issued.",
    "refund.succeeded": "Refund completed.",
    "refund.pending": "Refund on its way.",
    "refund.failed": "A refund failed; we will sort it out.",
    "refund.canceled": "A refund was cancelled.",
    "grant.downloaded": "File downloaded.",
    "invoice.issued": "Invoice {number} issued.",
    "credit_note.issued": "Credit note {number} issued.",
    "line.cancelled": "Cancelled: {description}.",
}
# Bookkeeping that means nothing happened to the order; shown to staff only.
STAFF_ONLY_ACTIONS = frozenset({"order.transition_refused"})


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    text: str
    who: str
    action: str


# Who acted, as the customer reads it (`AuditEntry.actor`): the provider's events, by webhook, by the success
# page's check with it, or by reconciliation, are the payment provider's doing, not the customer's.
PROVIDER_ACTORS = ("stripe", "webhook", "reconcile")


def _who(actor: str, order: Order) -> str:
    if actor == f"user:{order.user_id}":
        return "You"
    if actor.startswith(PROVIDER_ACTORS):
        return "The payment provider"
    if actor.startswith(("admin:", "staff:", "user:")):
        return "The shop"  # another account acting on the order is staff
    return str(settings.BOOKDESK_NAME)  # system, worker: the shop's own machinery (holds lapsing, credit notes)


def timeline_sentence(entry: AuditEntry, currency: str) -> str:
    template = TIMELINE_SENTENCES.get(entry.action)
    data = entry.data if isinstance(entry.data, dict) else {}
    if template is None:
        # Unknown actions still read as a line: "payment.something_new" → "Payment: something new."
        subject, _, verb = entry.action.partition(".")
        return f"{subject.capitalize()}: {verb.replace('_', ' ')}." if verb else f"{entry.action.capitalize()}."
    amount = data.get("amount")
    return template.format(
        attempt=data.get("attempt", "?"),
        description=data.get("description", "one line"),
        amount=format_money(amount, currency) if isinstance(amount, int) else "an amount",
        number=data.get("number", ""),
    )


def timeline(order: Order, *, staff: bool) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            at=entry.at,
            text=timeline_sentence(entry, order.currency),
            who=entry.actor if staff else _who(entry.actor, order),
            action=entry.action,
        )
        for entry in order.audit_entries.all()
        if staff or entry.action not in STAFF_ONLY_ACTIONS
    ]


@dataclass(frozen=True)
class DetailLine:
    line: OrderLine
    hold: Any
    badge: Badge | None
    starts_at: datetime | None
    downloads: list[Download]
    terms: LineTerms | None = None  # the refund policy's, for the owner of an order whose lines may be cancelled


def _line_badge(line: OrderLine, hold: Any, order: Order) -> Badge | None:
    if line.status == OrderLine.Status.CANCELLED:
        return Badge("Cancelled, refunded" if line.amount_refunded else "Cancelled", "off")
    return badge_for(hold.status, order.status) if hold is not None else None


def _terms_for(order: Order, *, owner: bool) -> dict[int, LineTerms]:
    return order_line_terms(order) if owner and order.status in CANCELLABLE_ORDERS else {}


def _downloads(hold: Any) -> list[Download]:
    return grant_downloads(hold) if isinstance(hold, Grant) else []


def _detail_lines(order: Order, terms: dict[int, LineTerms] | None = None) -> list[DetailLine]:
    rows = []
    for line in order.lines.all():
        hold = next((h for name in ("booking", "reservation", "grant") if (h := getattr(line, name, None))), None)
        starts_at = line.course.starts_at if line.course else getattr(hold, "starts_at", None)
        rows.append(
            DetailLine(
                line=line,
                hold=hold,
                badge=_line_badge(line, hold, order),
                starts_at=starts_at,
                downloads=_downloads(hold),
                terms=(terms or {}).get(line.pk),
            )
        )
    return rows


@protected_page
@require_safe
def order_page(request: HttpRequest, code: str) -> HttpResponse:
    order = _order(request, code)
    if order is None:
        return _order_not_found(request)
    owner = _is_owner(request, order)
    terms = _terms_for(order, owner=owner)
    lines = _detail_lines(order, terms)
    payments = list(order.payments.all())
    context = {
        "order": order,
        "lines": lines,
        "payments": payments,
        "refunds": [refund for payment in payments for refund in payment.refunds.all()],
        "timeline": timeline(order, staff=bool(request.user.is_staff) and not owner),
        "actions": bookings.order_actions(order=order) if owner else None,
        "is_owner": owner,
        "has_calendar": owner and any(r.badge and r.badge.tone == "ok" and r.starts_at for r in lines),
        "refused_lines": [row for row in lines if row.terms is not None and not row.terms.refundable],
        "tax_included": order.total_amount == order.subtotal_amount + order.shipping_amount,
        "back": request.get_full_path(),
        "documents": [
            (ref, reverse("api:order_document", kwargs={"code": order.code, "number": ref.number}))
            for ref in documents_of(order)
        ],
    }
    return render(request, "web/order_detail.html", context)


# --- cancelling a confirmed order, or one line of it -------------------------------------------------


def _said(cancellation: Cancellation, currency: str) -> str:
    """What a cancellation did, in a sentence or two for the customer."""
    names = ", ".join(line.description for line in cancellation.refunded)
    if cancellation.amount > 0:
        text = (
            f"Cancelled: {names}. {format_money(cancellation.amount, currency)} is being refunded to your payment "
            "method; it usually shows within 5–10 business days."
        )
    else:
        text = f"Cancelled: {names}. Under the cancellation policy there is no refund."
    if cancellation.refused:
        kept = "; ".join(f"{line.description}: {line.reason}" for line in cancellation.refused)
        text += f" Not cancelled — {kept}"
    return text


@protected_page
@require_http_methods(["GET", "HEAD", "POST"])
def order_cancel_page(request: HttpRequest, code: str) -> HttpResponse:
    """GET: what cancelling the whole order would refund, line by line, and a confirm button. POST: cancel
    every line the policy allows, then the order page saying what was refunded and what not."""
    order = _order(request, code, owner_only=True)
    if order is None:
        return _order_not_found(request)
    detail = reverse("order_detail", args=[order.code])
    if request.method != "POST":
        terms = _terms_for(order, owner=True)
        rows = _detail_lines(order, terms)
        context = {
            "order": order,
            "rows": rows,
            "refund": refund_of_all(list(terms.values())) if terms else 0,
            "allowed": any(row.terms and row.terms.refundable for row in rows),
        }
        return render(request, "web/order_cancel.html", context)
    try:
        limit_checkout(request)
        cancellation = order_cancel_confirmed(order=order, actor=f"user:{request.user.pk}")
    except BookdeskError as exc:
        messages.error(request, exc.detail)
        return SeeOther(detail)
    messages.success(request, _said(cancellation, order.currency))
    return SeeOther(detail)


@protected_page
@require_http_methods(["GET", "HEAD", "POST"])
def order_line_cancel_page(request: HttpRequest, code: str, line_id: int) -> HttpResponse:
    """GET: what cancelling this line refunds, and a confirm button (or why it cannot be). POST: cancel it."""
    order = _order(request, code, owner_only=True)
    if order is None:
        return _order_not_found(request)
    rows = [row for row in _detail_lines(order, _terms_for(order, owner=True)) if row.line.pk == line_id]
    if not rows:
        return _order_not_found(request)
    detail = reverse("order_detail", args=[order.code])
    if request.method != "POST":
        return render(request, "web/order_line_cancel.html", {"order": order, "row": rows[0]})
    try:
        limit_checkout(request)
        cancellation = order_lines_cancel(order=order, line_ids=[line_id], actor=f"user:{request.user.pk}")
    except BookdeskError as exc:
        messages.error(request, exc.detail)
        return SeeOther(detail)
    messages.success(request, _said(cancellation, order.currency))
    return SeeOther(detail)


# --- the order's calendar file ----------------------------------------------------------------------


@protected_page
@require_safe
def order_calendar(request: HttpRequest, code: str) -> HttpResponse:
    order = _order(request, code, owner_only=True)
    if order is None:
        return _order_not_found(request)
    body = calendar_for(order)
    if body is None:
        return error_page(
            request,
            status=404,
            title="Nothing to add to a calendar",
            detail=f"Order {order.code} has no course seat or studio time.",
        )
    response = HttpResponse(body, content_type=ICS_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{order.code}.ics"'
    return response

"""The console's pages and actions: thin shells over the read model (`bookdesk.bookings`) and the services.

Bad input (an unknown id, a date out of range, an action on something already handled) is a readable
page or message that changes nothing, never a 500. Every action is a POST that redirects back with a message.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
from collections.abc import Iterable, Iterator
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.template.backends.utils import csrf_input
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_safe

from bookdesk.bookings import agenda as agenda_model
from bookdesk.bookings import attention as attention_model
from bookdesk.bookings import calendar as calendar_model
from bookdesk.bookings import health as health_model
from bookdesk.bookings import roster as roster_model
from bookdesk.bookings import sales as sales_model
from bookdesk.bookings import shipping as shipping_model
from bookdesk.catalog.selectors import business_today
from bookdesk.console import charts
from bookdesk.console.access import (
    CHECK_IN,
    REFUND,
    REPLAY_EVENT,
    RESOLVE_REVIEW,
    RETRY_EMAIL,
    SHIP,
    actor,
    console_action,
    console_page,
)
from bookdesk.errors import BookdeskError, InvalidInput, NotFound
from bookdesk.money import decimals, format_money
from bookdesk.notifications.services import email_retry
from bookdesk.orders.checkin import booking_check_in
from bookdesk.orders.models import Order, Shipment
from bookdesk.orders.packing_slip import shipment_packing_slip
from bookdesk.orders.shipping import shipment_mark_delivered, shipment_mark_shipped
from bookdesk.paging import page_number
from bookdesk.payments.refunds import refund_order
from bookdesk.payments.reviews import order_review_resolve, webhook_replay
from bookdesk.web.errors import error_page

MAX_ID = 2**62


def _not_found(request: HttpRequest, what: str) -> HttpResponse:
    return error_page(request, status=404, title=f"No such {what}", detail=f"There is no {what} at this address.")


def _id(raw: str | None) -> int | None:
    """A positive id from a query parameter, else None ("²" is a digit to `str.isdigit` and no number to `int`)."""
    text = (raw or "").strip()
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) < MAX_ID else None


class _Echo:
    """A file-like that hands back what csv writes to it, so rows stream one by one."""

    def write(self, value: str) -> str:
        return value


def _download(chunks: Iterable[bytes | str], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _csv_response(rows: Iterable[Iterable[Any]], filename: str) -> StreamingHttpResponse:
    """`rows` as a CSV download, streamed row by row."""
    writer = csv.writer(_Echo())
    return _download(itertools.chain([roster_model.BOM], (writer.writerow(row) for row in rows)), filename)


# --- 1. the agenda ----------------------------------------------------------------------------------


@require_safe
@console_page
def agenda_page(request: HttpRequest) -> HttpResponse:
    today = business_today()
    error, first = None, today
    raw = request.GET.get("from", "").strip()
    if raw:
        try:
            first = dt.date.fromisoformat(raw)
        except ValueError:
            error = "Dates are written like 2026-12-04 (year-month-day). Showing today."
        else:
            if abs((first - today).days) > 366:
                error, first = "Pick a day within a year of today. Showing today.", today
    days = _id(request.GET.get("days")) or agenda_model.AGENDA_DAYS
    days = min(days, agenda_model.MAX_AGENDA_DAYS)
    agenda = agenda_model.agenda(first=first, days=days)
    context = {
        "agenda": agenda,
        "today": today,
        "error": error,
        "previous": first - dt.timedelta(days=days),
        "next": first + dt.timedelta(days=days),
        "section": "agenda",
    }
    return render(request, "console/agenda.html", context, status=400 if error else 200)


# --- 2. the calendar --------------------------------------------------------------------------------


@require_safe
@console_page
def calendar_page(request: HttpRequest) -> HttpResponse:
    today = business_today()
    error = None
    try:
        monday = calendar_model.parse_week(request.GET.get("week"), today=today)
    except InvalidInput as exc:
        error, monday = f"{exc.detail} Showing this week.", calendar_model.parse_week(None, today=today)
    raw_resource = request.GET.get("resource", "").strip()
    resource_id = _id(raw_resource)
    if raw_resource and resource_id is None:
        return _not_found(request, "studio or engineer")
    try:
        week = calendar_model.resource_week(resource_id=resource_id, monday=monday)
    except NotFound:
        return _not_found(request, "studio or engineer")
    context = {"calendar": week, "today": today, "error": error, "section": "calendar"}
    return render(request, "console/calendar.html", context, status=400 if error else 200)


# --- 3. rosters -------------------------------------------------------------------------------------


@require_safe
@console_page
def roster_page(request: HttpRequest, course_id: int) -> HttpResponseBase:
    if request.GET.get("format") == "csv":
        try:
            course = roster_model.course_for_roster(course_id)
        except NotFound:
            return _not_found(request, "course")
        return _download(roster_model.roster_csv(course=course), f"roster-{course.slug}.csv")
    try:
        page = _id(request.GET.get("page")) or 1
        roster = roster_model.roster(course_id=course_id, page=page, q=request.GET.get("q", ""))
    except NotFound:
        return _not_found(request, "course")
    # One CSRF field for the page's check-in forms, not one per row (each `{% csrf_token %}` masks the token anew).
    context = {"roster": roster, "section": "agenda", "csrf_input": csrf_input(request)}
    return render(request, "console/roster.html", context)


@console_action(CHECK_IN)
def roster_check_in(request: HttpRequest, course_id: int, booking_id: int) -> HttpResponse:
    back = reverse("console:roster", args=[course_id])
    checked_in = request.POST.get("checked_in", "1") == "1"
    try:
        booking = booking_check_in(
            booking_id=booking_id, course_id=course_id, checked_in=checked_in, actor=actor(request)
        )
    except NotFound:
        return _not_found(request, "seat")
    except BookdeskError as exc:
        messages.error(request, exc.detail)
        return HttpResponseRedirect(back)
    name = booking.user.get_full_name() or booking.user.email
    messages.success(request, f"{name} checked in." if checked_in else f"Check-in of {name} undone.")
    return HttpResponseRedirect(f"{back}#seat-{booking_id}")


# --- 4. attention -----------------------------------------------------------------------------------


@require_safe
@console_page
def attention_page(request: HttpRequest) -> HttpResponse:
    context = {"attention": attention_model.attention(), "section": "attention"}
    return render(request, "console/attention.html", context)


def _back(request: HttpRequest, to: str, *, done: str | None = None, error: str | None = None) -> HttpResponse:
    """An action's answer: back to the page it was taken on (`to`), with what it did or why it did nothing."""
    if done:
        messages.success(request, done)
    if error:
        messages.error(request, error)
    return HttpResponseRedirect(to)


def _back_to_attention(request: HttpRequest, done: str | None = None, error: str | None = None) -> HttpResponse:
    return _back(request, reverse("console:attention"), done=done, error=error)


@console_action(REPLAY_EVENT)
def event_replay(request: HttpRequest, event_id: int) -> HttpResponse:
    try:
        status = webhook_replay(event_id=event_id, actor=actor(request))
    except NotFound:
        return _not_found(request, "webhook event")
    except BookdeskError as exc:
        return _back_to_attention(request, error=exc.detail)
    if status == "dead":
        return _back_to_attention(request, error="Replayed, and it failed again: see its last error.")
    return _back_to_attention(request, done=f"Event replayed: {status}.")


@console_action(RETRY_EMAIL)
def email_retry_action(request: HttpRequest, email_id: int) -> HttpResponse:
    try:
        email = email_retry(email_id=email_id, actor=actor(request))
    except NotFound:
        return _not_found(request, "email")
    except BookdeskError as exc:
        return _back_to_attention(request, error=exc.detail)
    return _back_to_attention(request, done=f"The email to {email.to} will be sent again in a moment.")


@console_action(REFUND)
def order_refund(request: HttpRequest, order_id: int) -> HttpResponse:
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return _not_found(request, "order")
    try:
        refund = refund_order(order=order, amount=None, actor=actor(request), reason="refunded from the console")
    except BookdeskError as exc:
        return _back_to_attention(request, error=exc.detail)
    amount = format_money(refund.amount, refund.currency)
    return _back_to_attention(request, done=f"{order.code}: {amount} refunded through Stripe.")


@console_action(RESOLVE_REVIEW)
def review_resolve(request: HttpRequest, order_id: int) -> HttpResponse:
    try:
        order = order_review_resolve(order_id=order_id, note=request.POST.get("note", ""), actor=actor(request))
    except NotFound:
        return _not_found(request, "order")
    except BookdeskError as exc:
        return _back_to_attention(request, error=exc.detail)
    return _back_to_attention(request, done=f"{order.code}: review resolved, now {order.get_status_display().lower()}.")


# --- 5. shipping -------------------------------------------------------------------------------------


@require_safe
@console_page
def shipping_page(request: HttpRequest) -> HttpResponse:
    # The last page is known once the parcels are counted: the read model clamps the number to it.
    page = page_number(request.GET.get("page"), last=shipping_model.MAX_PAGE)
    desk = shipping_model.shipping_desk(page=page, now=timezone.now())
    context = {"desk": desk, "section": "shipping", "csrf_input": csrf_input(request)}
    return render(request, "console/shipping.html", context)


@require_safe
@console_page
def packing_slip(request: HttpRequest, shipment_id: int) -> HttpResponse:
    shipment = Shipment.objects.select_related("order").filter(pk=shipment_id).first()
    if shipment is None:
        return _not_found(request, "shipment")
    response = HttpResponse(shipment_packing_slip(shipment), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="packing-slip-{shipment.order.code}.pdf"'
    return response


def _back_to_shipping(
    request: HttpRequest, shipment_id: int, done: str | None = None, error: str | None = None
) -> HttpResponse:
    return _back(request, f"{reverse('console:shipping')}#shipment-{shipment_id}", done=done, error=error)


@console_action(SHIP)
def shipment_ship(request: HttpRequest, shipment_id: int) -> HttpResponse:
    try:
        shipment = shipment_mark_shipped(
            shipment_id=shipment_id,
            carrier=request.POST.get("carrier", ""),
            tracking_number=request.POST.get("tracking_number", ""),
            actor=actor(request),
        )
    except NotFound:
        return _not_found(request, "shipment")
    except InvalidInput as exc:
        why = "; ".join(f"{error['field'].replace('_', ' ')}: {error['message']}" for error in exc.errors)
        return _back_to_shipping(request, shipment_id, error=f"{exc.detail} ({why})" if why else exc.detail)
    except BookdeskError as exc:
        return _back_to_shipping(request, shipment_id, error=exc.detail)
    done = f"{shipment.order.code}: shipped with {shipment.carrier_name}; the customer was emailed the tracking link."
    return _back_to_shipping(request, shipment_id, done=done)


@console_action(SHIP)
def shipment_deliver(request: HttpRequest, shipment_id: int) -> HttpResponse:
    try:
        shipment = shipment_mark_delivered(shipment_id=shipment_id, actor=actor(request))
    except NotFound:
        return _not_found(request, "shipment")
    except BookdeskError as exc:
        return _back_to_shipping(request, shipment_id, error=exc.detail)
    return _back_to_shipping(request, shipment_id, done=f"{shipment.order.code}: delivered.")


# --- 6. sales and health ----------------------------------------------------------------------------


def _sales_charts(sales: sales_model.Sales) -> dict[str, SafeString]:
    labels = [period.label for period in sales.periods]

    def money(amount: int) -> str:
        return format_money(amount, sales.currency)

    def whole_money(amount: int) -> str:
        """An axis step without its zero cents ("€250", not "€250.00"): short enough to read on a phone."""
        places = decimals(sales.currency)
        text = money(amount)
        return text.replace("." + "0" * places, "", 1) if places and amount % 10**places == 0 else text

    money_chart = charts.bar_chart(
        labels,
        [
            charts.Series("Revenue", "series-revenue", [p.revenue for p in sales.periods]),
            charts.Series("Refunds", "series-refunds", [p.refunds for p in sales.periods]),
        ],
        fmt=money,
        ticks=whole_money,
    )
    orders_chart = charts.bar_chart(
        labels, [charts.Series("Orders", "series-orders", [p.orders for p in sales.periods])], fmt=str, counts=True
    )
    success_chart = charts.line_chart(
        labels,
        charts.Series("Payment success", "series-success", [p.success_permille for p in sales.periods]),
        top=1000,
        fmt=lambda value: f"{value // 10}%",
    )
    by = f" by {sales.grain}"
    return {
        "money": charts.svg(money_chart, html_id="chart-money", title=f"Revenue and refunds{by}"),
        "orders": charts.svg(orders_chart, html_id="chart-orders", title=f"Orders{by}"),
        "success": charts.svg(success_chart, html_id="chart-success", title=f"Payment success rate{by}"),
    }


SALES_CSV_HEADER = (
    "period",
    "currency",
    "revenue",
    "refunds",
    "net",
    "orders",
    "average order",
    "payments paid",
    "payments failed",
    "sessions abandoned",
    "payment success rate %",
)


def _sales_rows(sales: sales_model.Sales) -> Iterator[tuple[Any, ...]]:
    yield SALES_CSV_HEADER
    for period in sales.periods:
        rate = period.success_permille
        yield (
            period.label,
            sales.currency.upper(),
            roster_model.plain_amount(period.revenue, sales.currency),
            roster_model.plain_amount(period.refunds, sales.currency),
            roster_model.plain_amount(period.net, sales.currency),
            period.orders,
            roster_model.plain_amount(period.average_order, sales.currency) if period.average_order is not None else "",
            period.paid,
            period.failed,
            period.abandoned,
            f"{rate // 10}.{rate % 10}" if rate is not None else "",
        )


@require_safe
@console_page
def sales_page(request: HttpRequest) -> HttpResponseBase:
    today = business_today()
    error = None
    try:
        grain, first, last = sales_model.parse_range(
            grain=request.GET.get("by"), first=request.GET.get("from"), last=request.GET.get("to"), today=today
        )
    except InvalidInput as exc:
        error = f"{exc.detail} Showing the last 30 days."
        grain, first, last = sales_model.parse_range(grain=None, first=None, last=None, today=today)
    sales = sales_model.sales(grain=grain, first=first, last=last, currency=request.GET.get("currency"))
    if request.GET.get("format") == "csv" and not error:
        return _csv_response(_sales_rows(sales), f"sales-{first.isoformat()}-{last.isoformat()}-{grain}.csv")
    context = {
        "sales": sales,
        "total": sales.total,
        "charts": _sales_charts(sales),
        "error": error,
        "grains": list(sales_model.Grain),
        "section": "sales",
        "csv_query": request.GET.urlencode(),
    }
    return render(request, "console/sales.html", context, status=400 if error else 200)


@require_safe
@console_page
def health_page(request: HttpRequest) -> HttpResponse:
    context = {"health": health_model.health(now=timezone.now()), "section": "health"}
    return render(request, "console/health.html", context)

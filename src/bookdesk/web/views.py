"""Customer pages (thin: parse input, call a catalog selector, render) and the error handlers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_safe

from bookdesk.api.problems import problem_for_status
from bookdesk.catalog import selectors
from bookdesk.catalog.models import BPM_MAX, BPM_MIN, Genre, Mood, MusicalKey
from bookdesk.catalog.search import beat_filters_parse
from bookdesk.errors import InvalidInput, NotFound
from bookdesk.orders import availability
from bookdesk.web.errors import error_page, server_error_page

MAX_QUERY_LENGTH = 100
BOOKING_HORIZON_DAYS = 366


BEAT_FILTER_FIELDS = ("genre", "mood", "key", "bpm_min", "bpm_max", "price_min", "price_max", "sort")


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]
    courses = availability.course_list(upcoming=True, q=q or None)
    services = selectors.service_list()
    raw = {name: request.GET.get(name, "") for name in BEAT_FILTER_FIELDS}
    filter_error = None
    try:
        filters = beat_filters_parse({**raw, "q": q})
    except InvalidInput as exc:
        filter_error = exc.detail
        filters = beat_filters_parse({"q": q})
    products = availability.product_list(filters)
    if q:
        services = services.filter(name__icontains=q)
    listed_products = list(products)
    context = {
        "q": q,
        "courses": list(courses),
        "services": list(services),
        "beats": [product for product in listed_products if not product.ships],
        "goods": [product for product in listed_products if product.ships],
        "beat_filters": raw,
        "beat_filters_active": filters.active and any(raw.values()),
        "filter_error": filter_error,
        "genres": Genre.choices,
        "moods": Mood.choices,
        "keys": MusicalKey.choices,
        "sorts": [("title", "Title"), ("newest", "Newest"), ("price", "Price"), ("bpm", "BPM")],
        "bpm_range": (BPM_MIN, BPM_MAX),
    }
    return render(request, "web/home.html", context, status=400 if filter_error else 200)


@require_safe
def course_detail(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        course = availability.course_get(slug=slug)
    except NotFound as exc:
        raise Http404("No such course.") from exc
    is_past = getattr(course, "is_past", course.starts_at <= timezone.now())
    context = {
        "course": course,
        "is_past": is_past,
        "is_bookable": getattr(course, "is_bookable", not is_past and course.seats_left > 0),
    }
    return render(request, "web/course_detail.html", context)


def _parse_day(raw: str | None, today: dt.date) -> tuple[dt.date, str | None, bool]:
    """The requested day, or today with a readable reason why the requested one was not used.

    The flag says the input was not a date at all (a 400), as opposed to a day out of range.
    """
    if not raw or not raw.strip():
        return today, None, False
    try:
        day = dt.date.fromisoformat(raw.strip())
    except ValueError:
        return today, "That is not a date. Pick a day from the calendar (YYYY-MM-DD). Showing today.", True
    if day < today:
        return today, "That day has passed. Showing today instead.", False
    if day > today + dt.timedelta(days=BOOKING_HORIZON_DAYS):
        return today, "That day is too far ahead to book yet. Showing today instead.", False
    return day, None, False


@require_GET
def service_detail(request: HttpRequest, service_id: int) -> HttpResponse:
    try:
        service = selectors.service_get(service_id=service_id)
    except NotFound as exc:
        raise Http404("No such service.") from exc
    today = selectors.business_today()
    day, date_error, invalid_date = _parse_day(request.GET.get("date"), today)
    zone = selectors.business_time_zone()
    slots: list[dict[str, Any]] = [
        {
            "starts_at": slot.starts_at.astimezone(zone),
            "ends_at": slot.ends_at.astimezone(zone),
            "value": slot.starts_at.isoformat(),
        }
        for slot in selectors.service_free_slots(service=service, day=day, taken=availability.taken_for(service, day))
    ]
    context = {
        "service": service,
        "day": day,
        "today": today,
        "max_day": today + dt.timedelta(days=BOOKING_HORIZON_DAYS),
        "previous_day": day - dt.timedelta(days=1) if day > today else None,
        "next_day": day + dt.timedelta(days=1),
        "slots": slots,
        "date_error": date_error,
        "business_time_zone": settings.BOOKDESK_TIME_ZONE,
    }
    return render(request, "web/service_detail.html", context, status=400 if invalid_date else 200)


@require_safe
def product_detail(request: HttpRequest, product_id: int) -> HttpResponse:
    try:
        product = availability.product_get(product_id=product_id)
    except NotFound as exc:
        raise Http404("No such product.") from exc
    licenses = [
        {"license": license, "available": availability.license_available(product, license)}
        for license in product.licenses.all()
        if license.active
    ]
    return render(request, "web/product_detail.html", {"product": product, "licenses": licenses})


# Error handlers (wired in bookdesk/urls.py). /api/ 404s are turned into problem+json before this.
def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # Raised before any view (a Host we do not serve, a bad cookie): the API still answers in its own format.
    if request.path.startswith("/api/"):
        return problem_for_status(request, 400)
    return error_page(request, status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return server_error_page()

"""Customer pages (thin: parse input, call a catalog selector, render) and the error handlers."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_safe

from bookdesk.api.problems import problem_for_status
from bookdesk.catalog import selectors
from bookdesk.catalog.models import BPM_MAX, BPM_MIN, Genre, Mood, MusicalKey, Product
from bookdesk.catalog.search import BeatFilters, beat_filters_parse
from bookdesk.errors import InvalidInput, NotFound
from bookdesk.orders import availability
from bookdesk.paging import page_number
from bookdesk.web.errors import error_page, server_error_page

MAX_QUERY_LENGTH = 100
BOOKING_HORIZON_DAYS = 366


BEAT_FILTER_FIELDS = ("genre", "mood", "key", "bpm_min", "bpm_max", "price_min", "price_max", "sort")


# A section of the home page lists its first items and links to its own pages; those list a page at a time
# (a shop of thousands of courses or beats drew every one on the home page: 4.6 s for 10,000 of each).
HOME_ITEMS = 12
PAGE_ITEMS = 24
MAX_PAGE = 10_000  # no catalog has this many pages; a larger number is taken as the last page


def _first(items: QuerySet[Any], count: int) -> tuple[list[Any], bool]:
    """The first `count` items and whether there are more (one query: one item more is read)."""
    found = list(items[: count + 1])
    return found[:count], len(found) > count


def _beat_filters(request: HttpRequest, q: str) -> tuple[BeatFilters, dict[str, str], str | None]:
    """The beat filters asked for (as parsed, as typed) and the reason they were refused, if they were."""
    raw = {name: request.GET.get(name, "") for name in BEAT_FILTER_FIELDS}
    try:
        return beat_filters_parse({**raw, "q": q}), raw, None
    except InvalidInput as exc:
        return beat_filters_parse({"q": q}), raw, exc.detail


def _asked(q: str, raw: dict[str, str] | None = None) -> dict[str, str]:
    """The search and the filters a visitor set (the empty ones left out), to carry into a link."""
    return {name: value for name, value in {"q": q, **(raw or {})}.items() if value}


def _beat_filter_choices() -> dict[str, Any]:
    return {
        "genres": Genre.choices,
        "moods": Mood.choices,
        "keys": MusicalKey.choices,
        "sorts": [("title", "Title"), ("newest", "Newest"), ("price", "Price"), ("bpm", "BPM")],
        "bpm_range": (BPM_MIN, BPM_MAX),
    }


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]
    courses, more_courses = _first(availability.course_list(upcoming=True, q=q or None), HOME_ITEMS)
    services = selectors.service_list()
    if q:
        services = services.filter(name__icontains=q)
    filters, raw, filter_error = _beat_filters(request, q)
    products = availability.product_list(filters)
    beats, more_beats = _first(products.filter(kind=Product.Kind.DIGITAL), HOME_ITEMS)
    goods, more_goods = _first(products.filter(kind=Product.Kind.PHYSICAL), HOME_ITEMS)
    context = {
        "q": q,
        "courses": courses,
        "more_courses": more_courses,
        "services": list(services),
        "beats": beats,
        "more_beats": more_beats,
        "goods": goods,
        "more_goods": more_goods,
        "beat_filters": raw,
        "beat_filters_active": filters.active and any(raw.values()),
        "section_query": urlencode(_asked(q)),
        "beat_query": urlencode(_asked(q, raw)),
        "filter_error": filter_error,
        **_beat_filter_choices(),
    }
    return render(request, "web/home.html", context, status=400 if filter_error else 200)


CATALOG_SECTIONS = {
    # section: (heading, what none found says)
    "courses": ("Upcoming courses", "No upcoming course"),
    "beats": ("Beats", "No beat"),
    "goods": ("Products", "No product"),
}


@require_safe
def catalog_section(request: HttpRequest, section: str) -> HttpResponse:
    """One section of the catalog, a page of `PAGE_ITEMS` at a time: upcoming courses, beats (with the beat
    filters) or goods that ship. A page number beyond the last shows the last page; one that is no number, the
    first."""
    q = request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]
    filters, raw, filter_error = _beat_filters(request, q) if section == "beats" else (None, {}, None)
    if section == "courses":
        items: QuerySet[Any] = availability.course_list(upcoming=True, q=q or None)
    else:
        kind = Product.Kind.DIGITAL if section == "beats" else Product.Kind.PHYSICAL
        items = availability.product_list(filters or beat_filters_parse({"q": q})).filter(kind=kind)
    page = Paginator(items, PAGE_ITEMS).get_page(page_number(request.GET.get("page"), last=MAX_PAGE))
    kept = _asked(q, raw)

    def page_link(n: int) -> str:
        return "?" + urlencode({**kept, "page": n})

    heading, none_found = CATALOG_SECTIONS[section]
    context = {
        "section": section,
        "heading": heading,
        "none_found": none_found,
        "q": q,
        "page": page,
        "previous_link": page_link(page.previous_page_number()) if page.has_previous() else None,
        "next_link": page_link(page.next_page_number()) if page.has_next() else None,
        "beat_filters": raw,
        "beat_filters_active": bool(filters and filters.active and any(raw.values())),
        "filter_error": filter_error,
        **_beat_filter_choices(),
    }
    return render(request, "web/catalog_section.html", context, status=400 if filter_error else 200)


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

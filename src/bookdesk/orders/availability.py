"""The catalog as a customer sees it: what is published, with what is left of it.

Courses with `seats_left`, a service's reserved time around a day (for its free slots), products with
whether their exclusive is sold. What is taken is counted by `orders.capacity`'s rule, so the API, the
pages and checkout agree on availability.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Case, F, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone

from bookdesk.catalog.models import Course, License, Product, Service
from bookdesk.catalog.search import BeatFilters, beats_filter
from bookdesk.catalog.selectors import TakenInterval, business_time_zone
from bookdesk.errors import NotFound
from bookdesk.orders.capacity import exclusive_sold_subquery, live_hold, seats_taken_subquery, units_taken_subquery
from bookdesk.orders.models import Reservation


def _courses_with_seats_left() -> QuerySet[Course]:
    # Course declares `seats_left: int` for type checkers; the stubs see this annotation as a redefinition.
    return Course.objects.filter(published=True).annotate(  # type: ignore[no-redef]
        seats_left=Greatest(F("capacity") - seats_taken_subquery(), Value(0), output_field=IntegerField())
    )


def course_list(*, upcoming: bool | None = None, q: str | None = None) -> QuerySet[Course]:
    """Published courses, annotated with `seats_left`, ordered by start.

    `upcoming=True` keeps courses that start in the future, `upcoming=False` those that already
    started; `q` searches title, description and location, case-insensitively.
    """
    courses = _courses_with_seats_left()
    now = timezone.now()
    if upcoming is True:
        courses = courses.filter(starts_at__gt=now)
    elif upcoming is False:
        courses = courses.filter(starts_at__lte=now)
    if q and q.strip():
        term = q.strip()
        courses = courses.filter(
            Q(title__icontains=term) | Q(description__icontains=term) | Q(location__icontains=term)
        )
    return courses.order_by("starts_at", "id")


def course_get(*, course_id: int | None = None, slug: str | None = None) -> Course:
    """One published course with `seats_left`, by id or slug."""
    if course_id is None and slug is None:
        raise TypeError("course_get needs course_id or slug")
    lookup: dict[str, object] = {"pk": course_id} if course_id is not None else {"slug": slug}
    try:
        return _courses_with_seats_left().get(**lookup)
    except Course.DoesNotExist:
        raise NotFound("Course not found.") from None


def taken_for(service: Service, day: dt.date) -> tuple[TakenInterval, ...]:
    """Time on `service`'s resources that is reserved or held by a live hold around the local `day`."""
    tz = business_time_zone()
    # A day and a margin either side: a long reservation of the evening before still blocks the morning.
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz) - dt.timedelta(days=1)
    end = start + dt.timedelta(days=3)
    rows = Reservation.objects.filter(
        live_hold(timezone.now()),
        resource__in=service.resources.all(),
        starts_at__lt=end,
        ends_at__gt=start,
    ).values_list("resource_id", "starts_at", "ends_at")
    return tuple(rows)


def _products() -> QuerySet[Product]:
    active_licenses = License.objects.filter(active=True).order_by("price_amount", "id")
    return (
        Product.objects.filter(published=True)
        .annotate(exclusive_sold=exclusive_sold_subquery())  # type: ignore[no-redef]
        .annotate(stock_left=_stock_left())  # type: ignore[no-redef]
        .prefetch_related(Prefetch("licenses", queryset=active_licenses))
    )


def _stock_left() -> Case:
    """Units of a physical product left to sell (stock minus live holds); None for digital products."""
    left = Greatest(F("stock") - units_taken_subquery(), Value(0), output_field=IntegerField())
    return Case(When(kind=Product.Kind.PHYSICAL, then=left), default=Value(None), output_field=IntegerField())


def product_list(filters: BeatFilters | None = None) -> QuerySet[Product]:
    """Published products with their active licenses prefetched and `exclusive_sold` annotated.

    `filters` narrows and sorts them (genre, mood, key, BPM, price, free text: `catalog.search`).
    """
    return beats_filter(_products(), filters or BeatFilters())


def product_get(*, product_id: int) -> Product:
    try:
        return _products().get(pk=product_id)
    except Product.DoesNotExist:
        raise NotFound("Product not found.") from None


def license_available(product: Product, license: License) -> bool:
    """A license can be bought: active and the product's exclusive not sold (or held).

    The marketplace convention: the exclusive can be bought while leases exist (their holders keep their
    rights); once it is sold the beat is off sale for every new license. Placement checks the same under
    the product's row lock (`orders.services._plan_product`).
    """
    return license.active and not getattr(product, "exclusive_sold", False)

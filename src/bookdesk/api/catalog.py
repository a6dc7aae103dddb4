"""Public catalog endpoints: thin shells over `catalog.selectors`."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Query, Router

from bookdesk.api.schemas.catalog import CourseOut, ProductFiltersIn, ProductOut, ServiceOut, ServiceSlotsOut
from bookdesk.catalog import selectors
from bookdesk.catalog.models import Course, Product, Service
from bookdesk.catalog.search import beat_filters_parse
from bookdesk.errors import Problem, problems
from bookdesk.fields import AddressText
from bookdesk.orders import availability
from bookdesk.paging import Page, PageParams, page_of, paginate

router = Router(tags=["catalog"], auth=None)

# How far ahead (or back) slots may be asked for.


@router.get("/courses", response=page_of(CourseOut), summary="List published courses")
def list_courses(
    request: HttpRequest,
    paging: Query[PageParams],
    upcoming: bool | None = None,
    q: AddressText | None = None,
) -> Page[Course]:
    """Courses with `seats_left`, by start.

    `upcoming=true` keeps future courses (`false`: started ones); `q` searches title, description and location.
    """
    courses = availability.course_list(upcoming=upcoming, q=q)
    return paginate(courses, page=paging.page, page_size=paging.page_size)


@router.get("/courses/{course_id}", response={200: CourseOut, 404: Problem}, summary="One course")
def get_course(request: HttpRequest, course_id: int) -> Course:
    return availability.course_get(course_id=course_id)


@router.get("/services", response=page_of(ServiceOut), summary="List published services")
def list_services(request: HttpRequest, paging: Query[PageParams]) -> Page[Service]:
    return paginate(selectors.service_list(), page=paging.page, page_size=paging.page_size)


@router.get(
    "/services/{service_id}/slots",
    response={200: ServiceSlotsOut, 404: Problem},
    summary="Free slots of a service on a day",
)
def service_slots(request: HttpRequest, service_id: int, date: dt.date) -> dict[str, object]:
    """Free slots on a local day of the business time zone (`time_zone`); times are UTC. A day in the past or
    more than `SLOT_HORIZON_DAYS` away has no free slots (an empty list; no slot is bookable there)."""
    service = selectors.service_get(service_id=service_id)
    slots = (
        selectors.service_free_slots(service=service, day=date, taken=availability.taken_for(service, date))
        if selectors.within_slot_horizon(date)
        else []
    )
    return {
        "service_id": service.pk,
        "date": date,
        "time_zone": selectors.business_time_zone().key,
        "slots": slots,
    }


@router.get(
    "/products",
    response={200: page_of(ProductOut), **problems(422)},
    summary="List published products with license tiers; filter and search beats",
)
def list_products(request: HttpRequest, paging: Query[PageParams], filters: Query[ProductFiltersIn]) -> Page[Product]:
    """Beats filter by `genre`, `mood`, `key`, `bpm_min`/`bpm_max`, price in minor units of the cheapest licence
    (`price_min`/`price_max`), free text `q`; `sort` is `title` (default), `newest`, `price`, `-price`, `bpm` or
    `-bpm`. A bad value answers 422 naming it."""
    parsed = beat_filters_parse(filters.model_dump(mode="json"))
    found = paginate(availability.product_list(parsed), page=paging.page, page_size=paging.page_size)
    # Built typed (`ProductOut.from_product`): the answer is not validated again on its way out.
    return page_of(ProductOut).model_construct(  # type: ignore[return-value]
        items=[ProductOut.from_product(product) for product in found.items],
        page=found.page,
        pages=found.pages,
        total=found.total,
    )


@router.get("/products/{product_id}", response={200: ProductOut, 404: Problem}, summary="One product")
def get_product(request: HttpRequest, product_id: int) -> ProductOut:
    return ProductOut.from_product(availability.product_get(product_id=product_id))

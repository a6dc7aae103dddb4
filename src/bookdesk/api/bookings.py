"""`GET /api/bookings`: the caller's course seats, studio slots, licenses and goods, one list across the four."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from bookdesk.accounts.auth import user_auth
from bookdesk.api.schemas.bookings import BookingFiltersIn, BookingItemOut
from bookdesk.bookings import selectors
from bookdesk.bookings.filters import BookingFilters
from bookdesk.errors import problems
from bookdesk.paging import Page, PageParams, page_of

router = Router(tags=["bookings"], auth=user_auth)


@router.get(
    "/bookings",
    response={200: page_of(BookingItemOut), **problems(401, 422)},
    summary="The caller's bookings, reservations, licenses and goods",
)
def list_bookings(
    request: HttpRequest, paging: Query[PageParams], filters: Query[BookingFiltersIn]
) -> Page[selectors.BookingItem]:
    """Newest first, each with its order (code, status, latest payment status), amount and next steps; goods
    with their quantity and the order's shipment (status, carrier, tracking).

    `can_retry_payment`, `can_cancel` and the links are cheap answers for showing a button; the action
    itself decides again under its locks.
    """
    return selectors.booking_page(
        user=request.auth,  # type: ignore[attr-defined]
        filters=BookingFilters(status=filters.status, kind=filters.kind, upcoming=filters.upcoming),
        page=paging.page,
        page_size=paging.page_size,
    )

"""The operator's export of invoices and credit notes for a period: `/console/invoices.csv?from=&to=` (staff only).

`from` and `to` are dates (YYYY-MM-DD) in the business's time zone, both included; without them, the current
month. Credit notes are negative rows (see `payments.documents.ledger`).
"""

from __future__ import annotations

import csv
from datetime import date, datetime, time, timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from bookdesk.catalog.selectors import business_time_zone
from bookdesk.payments.documents import ledger
from bookdesk.web.decorators import NOINDEX
from bookdesk.web.errors import error_page

MAX_DAYS = 3 * 366  # a longer period is split by the operator; it keeps one answer's size bounded


def _day(text: str | None, default: date) -> date:
    if not text:
        return default
    return date.fromisoformat(text)


@require_safe
@login_required
def invoices_csv(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        return error_page(request, status=403, title="Staff only", detail="Only the shop's staff can export invoices.")
    today = timezone.localdate(timezone=business_time_zone())
    try:
        first = _day(request.GET.get("from"), today.replace(day=1))
        last = _day(request.GET.get("to"), today)
    except ValueError:
        return error_page(
            request, status=400, title="Invalid dates", detail="Give `from` and `to` as dates such as 2026-01-31."
        )
    if last < first or (last - first).days > MAX_DAYS:
        return error_page(
            request,
            status=400,
            title="Invalid period",
            detail=f"`to` must not be before `from`, and a period spans at most {MAX_DAYS} days.",
        )
    zone = business_time_zone()
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
    header, rows = ledger(start, end)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="invoices-{first:%Y%m%d}-{last:%Y%m%d}.csv"'
    response["X-Robots-Tag"] = NOINDEX
    patch_cache_control(response, private=True, no_store=True)
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response

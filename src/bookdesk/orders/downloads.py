"""Download links for digital license grants: signed, expiring, served to the grant's owner only.

A link carries only the grant's id, signed (django.core.signing, with its own salt) and timestamped;
it stops working after `DOWNLOAD_LINK_DAYS` days. The signature proves we issued it; every download
still checks, at that moment, that the signed-in customer owns the grant and that it is confirmed
(a refunded order's grant is released, and its old links stop working at once).
"""

from __future__ import annotations

import logging
import posixpath
from datetime import timedelta
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.db import transaction
from django.db.models import F
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from bookdesk.accounts.models import User
from bookdesk.orders.models import Grant, HoldStatus
from bookdesk.orders.services import audit
from bookdesk.web.decorators import NOINDEX
from bookdesk.web.errors import error_page

logger = logging.getLogger("bookdesk.orders")

DOWNLOAD_SALT = "bookdesk.orders.downloads"
DEFAULT_LINK_DAYS = 7


def link_lifetime() -> timedelta:
    return timedelta(days=float(getattr(settings, "DOWNLOAD_LINK_DAYS", DEFAULT_LINK_DAYS)))


def download_token(grant: Grant) -> str:
    """A signed, timestamped token naming the grant; valid for `link_lifetime()` from now."""
    return signing.dumps({"grant": grant.pk}, salt=DOWNLOAD_SALT)


def download_url(grant: Grant) -> str:
    """The absolute download link of a grant, for emails and pages."""
    return settings.SITE_URL + reverse("download", kwargs={"token": download_token(grant)})


def grant_from_token(token: str) -> int:
    """The grant id a token names; raises `signing.SignatureExpired` or `signing.BadSignature`."""
    payload: Any = signing.loads(token, salt=DOWNLOAD_SALT, max_age=link_lifetime())
    grant_id = payload.get("grant") if isinstance(payload, dict) else None
    if not isinstance(grant_id, int):
        raise signing.BadSignature("The token names no grant.")
    return grant_id


@transaction.atomic
def grant_download_record(*, grant: Grant, user: User) -> int:
    """Count one download of a grant and audit it; returns the new count."""
    Grant.objects.filter(pk=grant.pk).update(download_count=F("download_count") + 1)
    count = Grant.objects.values_list("download_count", flat=True).get(pk=grant.pk)
    audit(
        actor=f"user:{user.pk}",
        action="grant.downloaded",
        obj=grant,
        order=grant.line.order,
        data={"count": count, "product": grant.product_id, "license": grant.license_id},
    )
    return count


@require_safe
@login_required
def download(request: HttpRequest, token: str) -> HttpResponseBase:
    """Serve the product file of a grant to its owner while the link is valid and the grant confirmed."""
    response = _download(request, token)
    # Like every protected page: never indexed, never kept by a shared cache.
    response["X-Robots-Tag"] = NOINDEX
    patch_cache_control(response, private=True, no_store=True)
    return response


def _download(request: HttpRequest, token: str) -> HttpResponseBase:
    try:
        grant_id = grant_from_token(token)
    except signing.SignatureExpired:
        return error_page(
            request,
            status=410,
            title="This download link has expired",
            detail=f"Download links work for {_days()} after they are sent. Open your order to get a fresh link.",
        )
    except signing.BadSignature:
        return error_page(request, status=404, title="Download not found", detail="This download link is not valid.")

    grant = Grant.objects.select_related("product", "license", "line__order").filter(pk=grant_id).first()
    if grant is None:
        return error_page(request, status=404, title="Download not found", detail="This download no longer exists.")
    if grant.user_id != request.user.pk:
        return error_page(
            request,
            status=403,
            title="This download belongs to another account",
            detail="Sign in with the account that bought the license to download the file.",
        )
    if grant.status == HoldStatus.HELD:
        return error_page(
            request,
            status=403,
            title="Not available yet",
            detail="The file can be downloaded once the payment of your order is confirmed.",
        )
    if grant.status != HoldStatus.CONFIRMED:
        return error_page(
            request,
            status=410,
            title="No longer available",
            detail="This license was cancelled or refunded, so its file can no longer be downloaded.",
        )

    product = grant.product
    if not product.file:
        logger.warning("grant %s: product %s has no file to download", grant.pk, product.pk)
        return _file_missing(request)
    try:
        handle = product.file.open("rb")
    except OSError:
        logger.exception("grant %s: the file of product %s cannot be opened", grant.pk, product.pk)
        return _file_missing(request)

    grant_download_record(grant=grant, user=cast(User, request.user))  # login_required: signed in
    return FileResponse(handle, as_attachment=True, filename=posixpath.basename(product.file.name or "download"))


def _days() -> str:
    days = link_lifetime().days
    return "1 day" if days == 1 else f"{days} days"


def _file_missing(request: HttpRequest) -> HttpResponse:
    return error_page(
        request,
        status=404,
        title="File not available",
        detail="The file for this license has not been uploaded yet. Please contact us and we will send it.",
    )

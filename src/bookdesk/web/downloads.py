"""The download of a license's file: served to the grant's owner while the link is valid and the grant confirmed."""

from __future__ import annotations

import logging
import posixpath
from typing import cast

from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from bookdesk.accounts.models import User
from bookdesk.orders.downloads import grant_download_record, grant_from_token, link_lifetime
from bookdesk.orders.models import Grant, HoldStatus
from bookdesk.web.decorators import NOINDEX
from bookdesk.web.errors import error_page

logger = logging.getLogger("bookdesk.orders")


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

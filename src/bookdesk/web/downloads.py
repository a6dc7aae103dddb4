"""The download of a license's file: served to the grant's owner while the link is valid and the grant confirmed."""

from __future__ import annotations

import logging
import posixpath
from typing import cast

from allauth.headless.internal.sessionkit import authenticate_by_x_session_token
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from bookdesk.accounts.models import User
from bookdesk.notifications.models import LicenceAgreement
from bookdesk.orders.downloads import FILE, LICENSE, grant_download_record, grant_from_token, link_lifetime
from bookdesk.orders.models import Grant, HoldStatus
from bookdesk.web.decorators import NOINDEX
from bookdesk.web.errors import error_page

logger = logging.getLogger("bookdesk.orders")


@require_safe
def download(request: HttpRequest, token: str) -> HttpResponseBase:
    """Serve one file of a grant to its owner while the link is valid and the grant confirmed.

    The owner is known by the session cookie (a browser) or by `X-Session-Token` (an app); a browser that
    is not signed in is sent to sign in first.
    """
    raw_token = request.headers.get("X-Session-Token")
    if raw_token:
        found = authenticate_by_x_session_token(raw_token)
        if found is None:
            return error_page(
                request, status=401, title="Not signed in", detail="The session token is unknown or has expired."
            )
        request.user = found[0]
    elif not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    response = _download(request, token)
    # Like every protected page: never indexed, never kept by a shared cache.
    response["X-Robots-Tag"] = NOINDEX
    patch_cache_control(response, private=True, no_store=True)
    return response


def _download(request: HttpRequest, token: str) -> HttpResponseBase:
    try:
        grant_id, kind = grant_from_token(token)
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

    field, filename = _file_of(grant, kind)
    if not field:
        logger.warning("grant %s: no %s file to download", grant.pk, kind)
        return _file_missing(request)
    try:
        handle = field.open("rb")
    except OSError:
        logger.exception("grant %s: the %s file cannot be opened", grant.pk, kind)
        return _file_missing(request)

    grant_download_record(grant=grant, user=cast(User, request.user), kind=kind)
    return FileResponse(handle, as_attachment=True, filename=filename)


def _file_of(grant: Grant, kind: str) -> tuple[FieldFile | None, str]:
    """The stored file a grant's link of `kind` serves, and the name it is saved under; only what the tier delivers."""
    product = grant.product
    if kind == LICENSE:
        agreement = LicenceAgreement.objects.filter(grant=grant).first()
        return (agreement.file, f"{agreement.number}.pdf") if agreement else (None, "")
    if kind == FILE:
        return product.file, posixpath.basename(product.file.name or "download")
    if kind not in grant.license.deliverable_list:
        return None, ""
    field = {"mp3": product.mp3, "wav": product.master, "stems": product.stems}[kind]
    extension = posixpath.splitext(field.name or "")[1] or {"mp3": ".mp3", "wav": ".wav", "stems": ".zip"}[kind]
    suffix = {"mp3": "", "wav": "", "stems": "-stems"}[kind]
    return field, f"{product.slug}{suffix}{extension}"


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

"""Download links for digital license grants: signed, expiring, for the grant's owner only (the page that
serves the file is `web.downloads`).

A link carries only the grant's id, signed (django.core.signing, with its own salt) and timestamped;
it stops working after `DOWNLOAD_LINK_DAYS` days. The signature proves we issued it; every download
still checks, at that moment, that the signed-in customer owns the grant and that it is confirmed
(a refunded order's grant is released, and its old links stop working at once).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F
from django.urls import reverse

from bookdesk.accounts.models import User
from bookdesk.orders.audit import audit
from bookdesk.orders.models import Grant

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

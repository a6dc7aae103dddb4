"""Download links for digital license grants: signed, expiring, for the grant's owner only (the page that
serves the file is `web.downloads`).

A link carries only the grant's id, signed (django.core.signing, with its own salt) and timestamped;
it stops working after `DOWNLOAD_LINK_DAYS` days. The signature proves we issued it; every download
still checks, at that moment, that the signed-in customer owns the grant and that it is confirmed
(a refunded order's grant is released, and its old links stop working at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F
from django.urls import reverse

from bookdesk.accounts.models import User
from bookdesk.orders.audit import audit
from bookdesk.orders.models import Grant, HoldStatus

DOWNLOAD_SALT = "bookdesk.orders.downloads"
DEFAULT_LINK_DAYS = 7


def link_lifetime() -> timedelta:
    return timedelta(days=float(getattr(settings, "DOWNLOAD_LINK_DAYS", DEFAULT_LINK_DAYS)))


# What a grant can download: its tier's deliverables (Deliverable: mp3, wav, stems) and its licence agreement.
LICENSE = "license"
FILE = "file"  # links made before tiers named their deliverables: the product's one file
KIND_NAMES = {
    "mp3": "MP3 (320 kbps)",
    "wav": "WAV (untagged master)",
    "stems": "Stems (ZIP)",
    LICENSE: "Licence agreement (PDF)",
}


@dataclass(frozen=True)
class Download:
    kind: str
    name: str
    url: str


def download_token(grant: Grant, kind: str = FILE) -> str:
    """A signed, timestamped token naming the grant and what to download; valid for `link_lifetime()` from now."""
    payload: dict[str, Any] = {"grant": grant.pk}
    if kind != FILE:
        payload["kind"] = kind
    return signing.dumps(payload, salt=DOWNLOAD_SALT)


def download_url(grant: Grant, kind: str = FILE) -> str:
    """The absolute download link of one file of a grant, for emails and pages."""
    return settings.SITE_URL + reverse("download", kwargs={"token": download_token(grant, kind)})


def grant_downloads(grant: Grant) -> list[Download]:
    """One link per deliverable of the grant's tier, then its licence agreement; none unless confirmed."""
    if grant.status != HoldStatus.CONFIRMED:
        return []
    kinds = grant.license.deliverable_list or ([FILE] if grant.product.file else [])
    return [
        Download(kind=kind, name=KIND_NAMES.get(kind, "File"), url=download_url(grant, kind))
        for kind in [*kinds, LICENSE]
    ]


def grant_from_token(token: str) -> tuple[int, str]:
    """The grant id and file kind a token names; raises `signing.SignatureExpired` or `signing.BadSignature`."""
    payload: Any = signing.loads(token, salt=DOWNLOAD_SALT, max_age=link_lifetime())
    grant_id = payload.get("grant") if isinstance(payload, dict) else None
    if not isinstance(grant_id, int):
        raise signing.BadSignature("The token names no grant.")
    kind = payload.get("kind", FILE)
    if kind not in (*KIND_NAMES, FILE):
        raise signing.BadSignature("The token names no known file.")
    return grant_id, kind


@transaction.atomic
def grant_download_record(*, grant: Grant, user: User, kind: str = FILE) -> int:
    """Count one download of a grant's file and audit it; returns the new count.

    The licence agreement is audited but not counted: `download_count` is how many times the beat itself
    was taken (a licence is refundable only while it is 0).
    """
    if kind != LICENSE:
        Grant.objects.filter(pk=grant.pk).update(download_count=F("download_count") + 1)
    count = Grant.objects.values_list("download_count", flat=True).get(pk=grant.pk)
    audit(
        actor=f"user:{user.pk}",
        action="grant.downloaded",
        obj=grant,
        order=grant.line.order,
        data={"count": count, "product": grant.product_id, "license": grant.license_id, "kind": kind},
    )
    return count

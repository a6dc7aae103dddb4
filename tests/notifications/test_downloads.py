"""Download links: signed, expiring, for the grant's owner only, while the grant is confirmed."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.core.files.base import ContentFile
from django.test import Client

from bookdesk.orders.downloads import DOWNLOAD_SALT, download_token, download_url
from bookdesk.orders.models import AuditEntry, Grant, HoldStatus
from bookdesk.orders.services import ItemRequest
from factories import BeatFactory, UserFactory, signed_in

from .conftest import confirmed_order

pytestmark = pytest.mark.django_db

FILE_CONTENT = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(200))


class SignedLongAgo(signing.TimestampSigner):
    """Django's own signer, with its clock set back: a link as it was sent `age` ago."""

    def __init__(self, age: dt.timedelta, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.age = age

    def timestamp(self) -> str:
        return signing.b62_encode(int(time.time() - self.age.total_seconds()))


def old_token(grant: Grant, age: dt.timedelta) -> str:
    return SignedLongAgo(age, salt=DOWNLOAD_SALT).sign_object({"grant": grant.pk})


@pytest.fixture
def grant(media_root: Path) -> Grant:
    beat = BeatFactory(title="Night Drive")
    beat.file.save("night-drive.wav", ContentFile(FILE_CONTENT))
    order = confirmed_order(
        user=UserFactory(),
        items=[ItemRequest(kind="product", product_id=beat.pk, license_id=beat.licenses.get(tier="basic").pk)],
    )
    return Grant.objects.select_related("user", "product").get(line__order=order)


def body(response: Any) -> bytes:
    # Reading a file response to its end closes it (the test client's wrapper; closing it by hand would
    # also close the test's database connection).
    return b"".join(response.streaming_content)


def path_of(grant: Grant) -> str:
    return urlsplit(download_url(grant)).path


def test_the_owner_downloads_the_file_and_each_download_is_counted_and_audited(grant: Grant) -> None:
    client = signed_in(grant.user)

    response = client.get(path_of(grant))

    assert response.status_code == 200
    assert body(response) == FILE_CONTENT
    assert response["Content-Disposition"].startswith("attachment;")
    assert "night-drive" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    assert response["X-Robots-Tag"].startswith("noindex")
    grant.refresh_from_db()
    assert grant.download_count == 1

    assert body(client.get(path_of(grant))) == FILE_CONTENT

    grant.refresh_from_db()
    assert grant.download_count == 2
    entries = AuditEntry.objects.filter(action="grant.downloaded", object_id=str(grant.pk)).order_by("id")
    assert [entry.data["count"] for entry in entries] == [1, 2]
    assert {entry.actor for entry in entries} == {f"user:{grant.user.pk}"}
    assert all(entry.order_id == grant.line.order_id for entry in entries)


def test_the_link_is_absolute_under_site_url(grant: Grant, settings: Any) -> None:
    assert download_url(grant) == f"{settings.SITE_URL}/downloads/{urlsplit(download_url(grant)).path.rsplit('/')[-1]}"
    assert download_url(grant).startswith(settings.SITE_URL + "/downloads/")


def test_another_customer_is_refused(grant: Grant) -> None:
    response = signed_in(UserFactory()).get(path_of(grant))

    assert response.status_code == 403
    assert b"another account" in response.content
    grant.refresh_from_db()
    assert grant.download_count == 0
    assert not AuditEntry.objects.filter(action="grant.downloaded").exists()


def test_a_signed_out_visitor_is_sent_to_sign_in(grant: Grant) -> None:
    path = path_of(grant)

    response = Client().get(path)

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/accounts/login/"
    assert parse_qs(location.query)["next"] == [path]


def test_an_expired_link_is_refused(grant: Grant) -> None:
    response = signed_in(grant.user).get(f"/downloads/{old_token(grant, dt.timedelta(days=8))}")

    assert response.status_code == 410
    assert b"expired" in response.content
    grant.refresh_from_db()
    assert grant.download_count == 0


def test_link_lifetime_follows_the_setting(grant: Grant, settings: Any) -> None:
    token = old_token(grant, dt.timedelta(days=2))
    client = signed_in(grant.user)

    response = client.get(f"/downloads/{token}")
    assert response.status_code == 200
    assert body(response) == FILE_CONTENT

    settings.DOWNLOAD_LINK_DAYS = 1
    assert client.get(f"/downloads/{token}").status_code == 410


def test_a_tampered_link_is_not_found(grant: Grant) -> None:
    token = download_token(grant)
    other = signing.dumps({"grant": grant.pk + 1}, salt="another-purpose")
    client = signed_in(grant.user)

    assert client.get(f"/downloads/{token[:-2]}xx").status_code == 404
    assert client.get(f"/downloads/{other}").status_code == 404
    assert client.get("/downloads/not-a-token").status_code == 404


def test_a_grant_awaiting_payment_is_not_downloadable_yet(grant: Grant) -> None:
    Grant.objects.filter(pk=grant.pk).update(status=HoldStatus.HELD)

    response = signed_in(grant.user).get(path_of(grant))

    assert response.status_code == 403
    assert b"once the payment" in response.content


@pytest.mark.parametrize("status", [HoldStatus.RELEASED, HoldStatus.CANCELLED])
def test_a_released_or_cancelled_grant_is_gone(grant: Grant, status: str) -> None:
    Grant.objects.filter(pk=grant.pk).update(status=status)

    response = signed_in(grant.user).get(path_of(grant))

    assert response.status_code == 410
    grant.refresh_from_db()
    assert grant.download_count == 0


def test_a_product_without_a_file_is_a_readable_not_found(grant: Grant) -> None:
    grant.product.file.delete()

    response = signed_in(grant.user).get(path_of(grant))

    assert response.status_code == 404
    assert b"File not available" in response.content
    assert response["Content-Type"].startswith("text/html")


def test_a_file_missing_from_storage_is_a_readable_not_found(grant: Grant, media_root: Path) -> None:
    (media_root / grant.product.file.name).unlink()

    response = signed_in(grant.user).get(path_of(grant))

    assert response.status_code == 404
    assert b"File not available" in response.content

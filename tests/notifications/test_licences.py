"""After payment, each licence line downloads exactly what its tier delivers, plus the licence agreement PDF
(made once at confirmation and stored), for its owner only, by session cookie or X-Session-Token."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
import stripe
from django.core.files.base import ContentFile
from django.test import Client
from pypdf import PdfReader

from bookdesk.catalog.models import License
from bookdesk.notifications.licences import agreements_make
from bookdesk.notifications.models import LicenceAgreement
from bookdesk.orders.models import Grant, Order, OrderStatus
from bookdesk.orders.selectors import lines_with_holds
from catalog.beats import derived_beat
from factories import UserFactory, login_token, verified_customer
from payments.conftest import deliver, pay, run_inbox, session_events, webhook_secret  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_secret")]

TIERS = {"basic": ["mp3"], "premium": ["mp3", "wav", "stems"], "exclusive": ["mp3", "wav", "stems"]}


@pytest.fixture
def beat(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    beat = derived_beat(title="Night Drive", seconds=1.5)
    for tier, deliverables in TIERS.items():
        License.objects.filter(product=beat, tier=tier).update(
            deliverables=deliverables, streams_limit=10_000 if tier == "basic" else None, credit_required=True
        )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("drums.wav", b"RIFF")
    beat.stems.save("stems.zip", ContentFile(archive.getvalue()), save=True)
    return beat


def buy(client: Client, stripe_client: stripe.StripeClient, beat: Any, tier: str) -> dict[str, Any]:
    license = beat.licenses.get(tier=tier)
    added = client.post(
        "/api/cart/items", {"kind": "product", "product_id": beat.pk, "license_id": license.pk}, "application/json"
    )
    assert added.status_code == 201, added.content
    answer = client.post("/api/checkout", content_type="application/json").json()
    pay(stripe_client, answer["session_id"])
    for event in session_events(stripe_client, answer["session_id"]):
        deliver(event)
    run_inbox()
    order = client.get(f"/api/orders/{answer['order']['code']}").json()
    assert order["status"] == OrderStatus.CONFIRMED
    return order


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("tier", list(TIERS))
def test_each_tier_downloads_exactly_its_deliverables_and_the_agreement(
    stripe_client: stripe.StripeClient, beat: Any, tier: str
) -> None:
    client = Client()
    client.force_login(UserFactory(first_name="Ada", last_name="Lovelace"))

    order = buy(client, stripe_client, beat, tier)

    (line,) = order["lines"]
    assert isinstance(line["id"], int)
    assert [d["kind"] for d in line["downloads"]] == [*TIERS[tier], "license"]
    files = {d["kind"]: client.get(d["url"]) for d in line["downloads"]}
    assert all(response.status_code == 200 for response in files.values())
    assert _body(files["mp3"]) == beat.mp3.open("rb").read()
    if "wav" in files:
        assert _body(files["wav"]) == beat.master.open("rb").read()
        assert zipfile.is_zipfile(io.BytesIO(_body(files["stems"])))
    assert _body(files["license"]).startswith(b"%PDF")
    # The agreement is not the beat: downloading it alone would keep the licence refundable.
    assert Grant.objects.get(line_id=line["id"]).download_count == len(TIERS[tier])


def test_a_basic_lease_link_cannot_be_turned_into_the_wav(stripe_client: stripe.StripeClient, beat: Any) -> None:
    from bookdesk.orders.downloads import download_url

    client = Client()
    client.force_login(UserFactory())
    order = buy(client, stripe_client, beat, "basic")
    grant = Grant.objects.get(line_id=order["lines"][0]["id"])

    assert client.get(download_url(grant, "wav")).status_code == 404
    assert client.get(download_url(grant, "stems")).status_code == 404


def test_the_agreement_names_buyer_beat_tier_terms_price_order_and_a_unique_number(
    stripe_client: stripe.StripeClient, beat: Any
) -> None:
    client = Client()
    client.force_login(UserFactory(first_name="Ada", last_name="Lovelace"))
    order = buy(client, stripe_client, beat, "basic")
    agreement = LicenceAgreement.objects.get(grant__line_id=order["lines"][0]["id"])

    text = " ".join(page.extract_text() for page in PdfReader(agreement.file.path).pages)

    for expected in ("Ada Lovelace", order["code"], "Night Drive", "Basic lease", "Up to 10,000 audio streams",
                     "Credit required", "bookdesk studio", agreement.number, "Non-exclusive"):  # fmt: skip
        assert expected in text, expected
    assert "€29.99".replace("€", "EUR ") in text


def test_the_agreement_is_made_once(stripe_client: stripe.StripeClient, beat: Any) -> None:
    client = Client()
    client.force_login(UserFactory())
    order = buy(client, stripe_client, beat, "premium")
    made = Order.objects.get(code=order["code"])
    before = LicenceAgreement.objects.get()

    assert agreements_make([(made, lines_with_holds(made))]) == 0
    assert LicenceAgreement.objects.get() == before


def test_downloads_answer_the_owner_by_session_token_and_nobody_else(
    stripe_client: stripe.StripeClient, beat: Any
) -> None:
    owner = verified_customer("owner@example.com")
    client = Client()
    client.force_login(owner)
    order = buy(client, stripe_client, beat, "premium")
    url = order["lines"][0]["downloads"][1]["url"]  # the WAV

    token = login_token("owner@example.com")
    assert Client().get(url, HTTP_X_SESSION_TOKEN=token).status_code == 200
    assert Client().get(url, HTTP_X_SESSION_TOKEN="not-a-token").status_code == 401
    stranger = login_token("stranger@example.com")
    assert Client().get(url, HTTP_X_SESSION_TOKEN=stranger).status_code == 403
    assert Client().get(url).status_code == 302  # a browser signs in first

"""Someone without the webhook secret posts "Stripe events", and someone probes a production deployment for
its metrics, its debug pages and hosts it does not serve. Nothing is stored, nothing is shown."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from django.test import Client

from bookdesk.orders.models import Order
from bookdesk.payments.models import WebhookEvent

from .conftest import Victim

pytestmark = pytest.mark.django_db

SECRET = "whsec_attack_suite"


@pytest.fixture(autouse=True)
def webhook_secret(settings: Any) -> None:
    settings.STRIPE_WEBHOOK_SECRET = SECRET


def paid_event(order: Order) -> bytes:
    session = {
        "id": "cs_test_forged",
        "object": "checkout.session",
        "payment_status": "paid",
        "status": "complete",
        "amount_total": 1,
        "currency": order.currency,
        "client_reference_id": order.code,
        "metadata": {"order_code": order.code},
        "payment_intent": "pi_forged",
    }
    event = {"id": "evt_forged", "object": "event", "type": "checkout.session.completed", "created": int(time.time())}
    return json.dumps({**event, "livemode": False, "data": {"object": session}}).encode()


def digest(secret: str, stamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()


def forgeries(body: bytes) -> dict[str, str]:
    now = int(time.time())
    good = digest(SECRET, now, body)
    return {
        "guessed-secret": f"t={now},v1={digest('whsec_guess', now, body)}",
        "sandbox-secret": f"t={now},v1={digest('whsec_bookdesk_sandbox', now, body)}",
        "empty-secret": f"t={now},v1={digest('', now, body)}",
        "v0-scheme-only": f"t={now},v0={good}",
        "stamp-swapped": f"t={now + 1},v1={good}",
        "stale-by-an-hour": f"t={now - 3600},v1={digest(SECRET, now - 3600, body)}",
        "ahead-by-an-hour": f"t={now + 3600},v1={digest(SECRET, now + 3600, body)}",
        "no-stamp": f"v1={good}",
        "stamp-not-a-number": f"t=now,v1={good}",
        "empty-v1": f"t={now},v1=",
        "truncated-digest": f"t={now},v1={good[:32]}",
        "digest-of-empty-body": f"t={now},v1={digest(SECRET, now, b'')}",
    }


CASES = list(forgeries(b"").keys())


@pytest.mark.parametrize("case", CASES)
def test_a_forged_payment_event_is_refused_and_stores_nothing(ada: Victim, case: str) -> None:
    body = paid_event(ada.pending)
    response = Client().post(
        "/api/stripe/webhook",
        body,
        content_type="application/json",
        headers={"Stripe-Signature": forgeries(body)[case]},
    )
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert not WebhookEvent.objects.exists()
    ada.pending.refresh_from_db()
    assert ada.pending.status == "pending"


def test_a_genuinely_signed_event_with_a_body_changed_in_flight_is_refused(ada: Victim) -> None:
    body = paid_event(ada.pending)
    now = int(time.time())
    header = f"t={now},v1={digest(SECRET, now, body)}"
    changed = body.replace(b'"amount_total": 1', b'"amount_total": 100000')
    response = Client().post(
        "/api/stripe/webhook", changed, content_type="application/json", headers={"Stripe-Signature": header}
    )
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def production(settings: Any) -> None:
    settings.BOOKDESK_PRODUCTION = True
    settings.DEBUG = False
    settings.METRICS_TOKEN = ""


@pytest.mark.parametrize("auth", [None, "Bearer guess", "Bearer ", "Basic YWRtaW46YWRtaW4="])
def test_production_metrics_are_not_for_strangers(settings: Any, auth: str | None) -> None:
    production(settings)
    settings.METRICS_TOKEN = "the-real-metrics-token-0123456789"
    response = Client().get("/metrics", headers={"Authorization": auth} if auth else {})
    assert response.status_code in (401, 403, 404)
    assert b"http_requests" not in response.content
    assert b"/admin" not in response.content


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.evil.example", "localhost:8000@evil.example", "a" * 300])
def test_a_host_we_do_not_serve_gets_a_problem_not_a_page(settings: Any, host: str) -> None:
    production(settings)
    settings.ALLOWED_HOSTS = ["shop.example"]
    response = Client().get("/api/courses", HTTP_HOST=host)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "bad_request"


def test_a_malformed_path_in_production_shows_no_settings(settings: Any) -> None:
    production(settings)
    settings.ALLOWED_HOSTS = ["testserver"]
    response = Client(raise_request_exception=False).get("/api/orders/" + "\x00")
    assert response.status_code < 500
    for secret in (settings.SECRET_KEY, "DATABASES", "EMAIL_URL", "STRIPE_SECRET_KEY"):
        assert secret.encode() not in response.content

"""The whole product for browser journeys: live server, Stripe sandbox delivering webhooks, a worker, SMTP.

- the live server answers in threads; Stripe's success and cancel URLs point back at it;
- the sandbox delivers every event, signed, to the live server's /api/stripe/webhook;
- a worker thread does what `bookdesk worker` does: processes the inbox, sends due emails,
  releases lapsed holds;
- emails go over SMTP to a real listener (aiosmtpd) the tests read;
- Chromium (Debian's) drives the pages (`page` and the helpers of tests/chromium.py); end states are saved
  under test-output/screenshots/e2e-*.png.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import stripe
from django.db import close_old_connections, connection

from bookdesk.worker.loop import sweep_once
from smtp_listener import MailHandler


class Worker:
    """`bookdesk worker` in a thread: a round of everything it does (events, emails, holds) every 100 ms."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="e2e-worker", daemon=True)
        self.errors: list[str] = []

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            try:
                sweep_once()
            except Exception as exc:  # kept for the test to report
                self.errors.append(repr(exc))
            finally:
                close_old_connections()
        connection.close()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@dataclass
class Shop:
    url: str
    sandbox: Any
    stripe: stripe.StripeClient
    mail: MailHandler
    worker: Worker

    def wait(self, predicate: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.1)
        from bookdesk.payments.models import WebhookEvent

        inbox = list(WebhookEvent.objects.order_by("pk").values_list("type", "status", "outcome"))
        raise AssertionError(f"timed out waiting for {what}; worker errors: {self.worker.errors}; inbox: {inbox}")


@pytest.fixture
def shop(
    live_server: Any,
    stripe_sandbox: Any,
    stripe_client: stripe.StripeClient,
    mailbox: MailHandler,
    settings: Any,
) -> Iterator[Shop]:
    settings.SITE_URL = live_server.url
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "checkout": "1000/60", "checkout_ip": "100000/60"}
    endpoint = stripe_client.v1.webhook_endpoints.create(
        params={"url": f"{live_server.url}/api/stripe/webhook", "enabled_events": ["*"]}
    )
    settings.STRIPE_WEBHOOK_SECRET = endpoint.secret
    worker = Worker()
    worker.start()
    try:
        yield Shop(live_server.url, stripe_sandbox, stripe_client, mailbox, worker)
    finally:
        worker.stop()
        stripe_client.v1.webhook_endpoints.delete(endpoint.id)

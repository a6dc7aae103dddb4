"""Shared fixtures for the Django suite (the sandbox's own tests live in tests/sandbox)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe
from aiosmtpd.controller import Controller
from django.core.servers.basehttp import ThreadedWSGIServer

from smtp_listener import MailHandler, free_port
from stripe_sandbox.server import Sandbox

# Chromium for the browser tests: the `browser` fixture (tests/chromium.py).
pytest_plugins = ["chromium"]

# The live server takes a crowd of 50 connections at once (tests/orders/test_concurrency.py): with Django's listen
# backlog of 10 the kernel resets some of them before the app ever sees them (CI saw it under load).
ThreadedWSGIServer.request_queue_size = 256


@pytest.fixture
def api_client(client):  # type: ignore[no-untyped-def]
    """Django's test client, for calling /api/ as a browser would (session cookie)."""
    return client


# --- the demo catalog's files ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def demo_files_made(tmp_path_factory: Any) -> Path:
    """The files `bookdesk seed` refers to (masters, covers, stems, the voice tag), synthesised once per test
    process: making them takes seconds."""
    from django.test import override_settings

    from bookdesk.catalog.management.commands.seed import demo_files

    root = tmp_path_factory.mktemp("demo-files")
    with override_settings(MEDIA_ROOT=root):
        demo_files()
    return Path(root)


@pytest.fixture
def demo_media(settings: Any, tmp_path: Path, demo_files_made: Path) -> Path:
    """This test's own MEDIA_ROOT, holding the demo files already (hard links to the ones made once), so
    `bookdesk seed` finds them and makes none. Storage never writes into an existing file, so no test changes
    another's."""
    root = tmp_path / "media"
    shutil.copytree(demo_files_made, root, copy_function=os.link)
    settings.MEDIA_ROOT = root
    return root


# --- the Stripe sandbox, over HTTP, driven by the real SDK ---------------------------------------

SANDBOX_KEY = "sk_test_bookdesk_tests"


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Sandbox]:
    """One sandbox per test process, on a free port (webhooks retried fast)."""
    server = Sandbox(webhook_retry_schedule=(0.05, 0.1, 0.2), webhook_timeout=2.0, seed=5)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stripe_sandbox(sandbox_server: Sandbox, settings: Any) -> Iterator[Sandbox]:
    """bookdesk's Stripe settings pointed at the sandbox; faults are cleared before and after."""
    settings.STRIPE_API_BASE = sandbox_server.base_url
    settings.STRIPE_SECRET_KEY = SANDBOX_KEY
    sandbox_server.faults.reset()
    yield sandbox_server
    sandbox_server.faults.reset()


@pytest.fixture
def stripe_client(stripe_sandbox: Sandbox) -> stripe.StripeClient:
    """The SDK as a test uses it to look at the sandbox's side."""
    return stripe.StripeClient(SANDBOX_KEY, base_addresses={"api": stripe_sandbox.base_url}, max_network_retries=0)


# --- a real SMTP listener --------------------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[tuple[MailHandler, int]]:
    handler = MailHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[MailHandler, int], settings: Any) -> MailHandler:
    """Django's real SMTP backend pointed at the listener; returns the listener's handler."""
    handler, port = smtp_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    return handler


@pytest.fixture(autouse=True)
def shipping_zones(request: pytest.FixtureRequest) -> None:
    """The default shipping zones (migration catalog 0003 seeds them) for every test that uses the database.

    A transactional test empties every table when it ends, seeded rows included: a later test of the same
    process would find no zone to ship goods to. Only tests marked for the database touch it.
    """
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return
    request.getfixturevalue("transactional_db" if marker.kwargs.get("transaction") else "db")
    from bookdesk.catalog.shipping_defaults import zones_ensure_defaults

    zones_ensure_defaults()

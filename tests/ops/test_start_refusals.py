"""What refuses to start (DESIGN §7): in production DEBUG, a weak or default SECRET_KEY, the sandbox's published
webhook secret; anywhere a live Stripe key with DEBUG on or with an API base other than Stripe's. Every
command (runserver, `bookdesk serve`, the worker) runs the start checks; the WSGI application refuses too.
A Stripe test key in production (staging) only warns."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from bookdesk.ops.config import refuse_unsafe_start
from bookdesk.payments import gateway

STRONG = "k3y-" + "a1b2c3d4e5f6g7h8i9j0" * 3
LIVE_KEY = "sk_live_" + "x" * 24
ROOT = Path(__file__).resolve().parents[2]


def start_errors() -> set[str]:
    return {message.id for message in checks.run_checks() if message.level >= checks.ERROR}


def production(settings: Any, **changes: Any) -> None:
    settings.BOOKDESK_PRODUCTION = True
    settings.DEBUG = False
    settings.SECRET_KEY = STRONG
    settings.STRIPE_SECRET_KEY = LIVE_KEY
    settings.STRIPE_API_BASE = ""
    settings.STRIPE_WEBHOOK_SECRET = "whsec_from_the_stripe_dashboard"
    settings.METRICS_TOKEN = "a-long-random-metrics-token"
    settings.DEFAULT_FROM_EMAIL = "Studio Nord <hello@studio-nord.de>"
    for name, value in changes.items():
        setattr(settings, name, value)


def test_a_sane_production_configuration_starts(settings: Any) -> None:
    production(settings)
    refuse_unsafe_start()
    assert not {i for i in start_errors() if i.startswith("bookdesk.")}


@pytest.mark.parametrize(
    ("changes", "check_id"),
    [
        ({"DEBUG": True}, "bookdesk.E002"),
        ({"SECRET_KEY": "django-insecure-" + "x" * 40}, "bookdesk.E001"),
        ({"SECRET_KEY": "short"}, "bookdesk.E001"),
        ({"STRIPE_WEBHOOK_SECRET": "whsec_bookdesk_sandbox"}, "bookdesk.E010"),
        ({"STRIPE_API_BASE": "http://127.0.0.1:12111"}, "bookdesk.E006"),
    ],
    ids=["debug", "default-key", "weak-key", "sandbox-webhook-secret", "live-key-off-stripe"],
)
def test_production_refuses_to_start(settings: Any, changes: dict[str, Any], check_id: str) -> None:
    production(settings, **changes)
    assert check_id in start_errors()  # every management command (runserver, serve, worker) stops here
    with pytest.raises(ImproperlyConfigured) as refused:
        refuse_unsafe_start()  # the WSGI application, for servers started without a command
    assert LIVE_KEY not in str(refused.value)
    assert str(settings.SECRET_KEY) not in str(refused.value)


def test_a_live_key_with_debug_refuses_to_start_outside_production(settings: Any) -> None:
    settings.BOOKDESK_PRODUCTION = False
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = LIVE_KEY
    settings.STRIPE_API_BASE = ""
    assert "bookdesk.E005" in start_errors()
    with pytest.raises(ImproperlyConfigured):
        refuse_unsafe_start()


def test_a_test_key_in_production_only_warns(settings: Any) -> None:
    production(settings, STRIPE_SECRET_KEY="sk_test_staging")
    refuse_unsafe_start()
    messages = {m.id: m.level for m in checks.run_checks(include_deployment_checks=True) if m.id.startswith("bookdesk")}
    assert messages == {"bookdesk.W007": checks.WARNING}


def test_a_live_key_is_never_sent_to_another_api_base(settings: Any) -> None:
    """Even if a process started anyway, the gateway refuses before it connects anywhere."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)
        settings.STRIPE_SECRET_KEY = LIVE_KEY
        settings.STRIPE_API_BASE = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(gateway.GatewayError) as refused:
            gateway.retrieve_session("cs_test_anything")
        assert refused.value.permanent
        with pytest.raises(BlockingIOError):  # the kernel completes a connection before accept(): none came
            listener.accept()


def test_bookdesk_serve_refuses_debug_in_production() -> None:
    env = {
        **os.environ,
        "BOOKDESK_PRODUCTION": "true",
        "DEBUG": "true",
        "DJANGO_SETTINGS_MODULE": "bookdesk.settings",
        "SECRET_KEY": STRONG,
        "STRIPE_SECRET_KEY": "sk_test_staging",
        "STRIPE_WEBHOOK_SECRET": "whsec_from_the_stripe_dashboard",
    }
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "bookdesk", "serve", "--port", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "bookdesk.E002" in done.stderr
    assert "serving on" not in done.stdout

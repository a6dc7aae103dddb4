"""Liveness, readiness and the configuration checks behind them."""

from __future__ import annotations

import pytest
from django.core import checks
from django.test import Client

LIVE_KEY = "sk_live_" + "x" * 24
STRONG_SECRET = "s3cure-" + "abcdefghijklmnopqrstuvwxyz0123456789"


def test_healthz_answers_without_touching_the_database(client: Client) -> None:
    # No django_db mark: pytest-django makes any database access in this test an error.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ready_with_database_cache_and_sane_config(client: Client, settings) -> None:
    settings.SECRET_KEY = STRONG_SECRET
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "cache": "ok", "config": "ok", "workers": "none"},
    }


@pytest.mark.django_db
def test_readyz_refuses_a_live_stripe_key_with_debug_and_never_shows_it(client: Client, settings) -> None:
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = LIVE_KEY
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert "stripe_live_key_in_debug" in body["checks"]["config"]
    assert body["checks"]["database"] == "ok"
    assert LIVE_KEY not in response.content.decode()


@pytest.mark.django_db
def test_readyz_serves_a_test_key_in_production_with_a_warning(client: Client, settings) -> None:
    """Staging runs in production mode with Stripe's test keys: ready, and it says so."""
    settings.BOOKDESK_PRODUCTION = True
    settings.METRICS_TOKEN = "a-long-random-metrics-token"
    settings.SECRET_KEY = STRONG_SECRET
    settings.STRIPE_API_BASE = ""
    settings.STRIPE_WEBHOOK_SECRET = "whsec_from_the_stripe_dashboard"
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["config"] == "ok"
    (warning,) = response.json()["warnings"]
    assert "test key" in warning


@pytest.mark.django_db
def test_readyz_refuses_the_sandbox_webhook_secret_in_production(client: Client, settings) -> None:
    settings.BOOKDESK_PRODUCTION = True
    settings.SECRET_KEY = STRONG_SECRET
    settings.STRIPE_SECRET_KEY = "sk_live_" + "x" * 24
    settings.STRIPE_API_BASE = ""
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["config"] == "failed: stripe_webhook_secret_default"


@pytest.mark.django_db
def test_readyz_refuses_the_local_secret_key_without_debug_and_a_missing_webhook_secret(
    client: Client, settings
) -> None:
    settings.DEBUG = False
    settings.SECRET_KEY = "bookdesk-insecure-local-development-key-change-me-0123456789"
    settings.STRIPE_WEBHOOK_SECRET = ""
    config = client.get("/readyz").json()["checks"]["config"]
    assert "insecure_secret_key" in config
    assert "stripe_webhook_secret_missing" in config


@pytest.mark.django_db
def test_readyz_names_a_broken_cache(client: Client, settings) -> None:
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "no_such_cache_table"}
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    checks_ = response.json()["checks"]
    assert checks_["cache"].startswith("failed:")
    assert checks_["database"] == "ok"


def test_deploy_checks_report_a_live_key_with_debug(settings) -> None:
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = LIVE_KEY
    messages = checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])
    ids = {message.id for message in messages}
    assert "bookdesk.E005" in ids
    assert all(LIVE_KEY not in message.msg for message in messages)


def test_deploy_checks_pass_a_production_configuration(settings) -> None:
    settings.DEBUG = False
    settings.BOOKDESK_PRODUCTION = True
    settings.SECRET_KEY = STRONG_SECRET
    settings.STRIPE_SECRET_KEY = LIVE_KEY
    settings.STRIPE_API_BASE = ""
    settings.STRIPE_WEBHOOK_SECRET = "whsec_" + "y" * 24
    settings.METRICS_TOKEN = "a-long-random-metrics-token"
    messages = checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])
    assert not [message for message in messages if message.id.startswith("bookdesk.")]

"""Account settings come from the environment: OIDC provider, email verification switch."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from typing import Any

import pytest
from allauth.socialaccount.adapter import get_adapter
from django.test import Client, RequestFactory

OIDC_ENV = {
    "OIDC_SERVER_URL": "https://idp.example.test/realms/bookdesk",
    "OIDC_CLIENT_ID": "bookdesk-web",
    "OIDC_CLIENT_SECRET": "s3cr3t-from-env",
    "OIDC_PROVIDER_ID": "keycloak",
    "OIDC_NAME": "Single sign-on",
    "OIDC_SCOPES": "openid,email",
}

PRINT_SETTINGS = (
    "import json; import bookdesk.settings as settings; "  # the module alone: no apps loaded
    "print(json.dumps({'providers': settings.SOCIALACCOUNT_PROVIDERS, "
    "'verification': settings.ACCOUNT_EMAIL_VERIFICATION}))"
)


def settings_with_env(**overrides: str) -> dict[str, Any]:
    """Load bookdesk.settings in a fresh interpreter with these variables, as a deployment would."""
    return json.loads(_load_settings(tuple(sorted(overrides.items()))))


@functools.cache
def _load_settings(overrides: tuple[tuple[str, str], ...]) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OIDC_", "ACCOUNT_"))}
    env.update(DJANGO_SETTINGS_MODULE="bookdesk.settings", **dict(overrides))
    result = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_no_oidc_provider_without_env() -> None:
    assert settings_with_env()["providers"] == {}


def test_oidc_provider_comes_from_env() -> None:
    app = settings_with_env(**OIDC_ENV)["providers"]["openid_connect"]["APPS"][0]
    assert app["provider_id"] == "keycloak"
    assert app["client_id"] == "bookdesk-web"
    assert app["secret"] == "s3cr3t-from-env"
    assert app["settings"]["server_url"] == OIDC_ENV["OIDC_SERVER_URL"]
    assert app["settings"]["scope"] == ["openid", "email"]


@pytest.mark.django_db
def test_env_configured_provider_is_registered_and_offered_on_the_login_page(client: Client, settings: Any) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = settings_with_env(**OIDC_ENV)["providers"]

    providers = get_adapter().list_providers(RequestFactory().get("/"))
    assert [(p.id, p.sub_id, p.name) for p in providers] == [("openid_connect", "keycloak", "Single sign-on")]

    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b"Single sign-on" in page.content
    assert b"/accounts/oidc/keycloak/login/" in page.content


def test_email_verification_is_mandatory_by_default() -> None:
    assert settings_with_env()["verification"] == "mandatory"


def test_email_verification_can_be_switched_off_by_env() -> None:
    assert settings_with_env(ACCOUNT_EMAIL_VERIFICATION="none")["verification"] == "none"
    assert settings_with_env(ACCOUNT_EMAIL_VERIFICATION=" Optional ")["verification"] == "optional"


def test_unknown_email_verification_value_stops_start_up() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCOUNT_")}
    env.update(DJANGO_SETTINGS_MODULE="bookdesk.settings", ACCOUNT_EMAIL_VERIFICATION="sometimes")
    result = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "ACCOUNT_EMAIL_VERIFICATION" in result.stderr

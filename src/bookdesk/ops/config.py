"""Configuration sanity, shared by /readyz and the deploy system checks. Messages never echo secret values."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

INSECURE_KEY_PREFIXES = ("bookdesk-insecure", "django-insecure")


@dataclass(frozen=True)
class ConfigProblem:
    id: str  # stable, e.g. "stripe_live_key_in_debug"
    message: str


def secret_key_is_insecure(key: str) -> bool:
    return not key or key.startswith(INSECURE_KEY_PREFIXES) or len(key) < 32 or len(set(key)) < 5


def config_problems() -> list[ConfigProblem]:
    """Everything about the configuration that must not reach production (empty when sane)."""
    problems: list[ConfigProblem] = []
    debug = bool(settings.DEBUG)
    production = bool(getattr(settings, "BOOKDESK_PRODUCTION", False))
    secret_key = str(getattr(settings, "SECRET_KEY", ""))
    stripe_key = str(getattr(settings, "STRIPE_SECRET_KEY", "") or "")
    webhook_secret = str(getattr(settings, "STRIPE_WEBHOOK_SECRET", "") or "")
    api_base = str(getattr(settings, "STRIPE_API_BASE", "") or "")

    if not debug and secret_key_is_insecure(secret_key):
        problems.append(
            ConfigProblem("insecure_secret_key", "SECRET_KEY is the local default or too weak; set a long random one.")
        )
    if production and debug:
        problems.append(ConfigProblem("debug_in_production", "DEBUG is on while BOOKDESK_PRODUCTION=1."))
    if not stripe_key:
        problems.append(ConfigProblem("stripe_key_missing", "STRIPE_SECRET_KEY is not set."))
    elif not stripe_key.startswith(("sk_test_", "sk_live_", "rk_test_", "rk_live_")):
        problems.append(
            ConfigProblem("stripe_key_malformed", "STRIPE_SECRET_KEY is not a Stripe secret or restricted key.")
        )
    live_key = stripe_key.startswith(("sk_live_", "rk_live_"))
    if live_key and debug:
        problems.append(ConfigProblem("stripe_live_key_in_debug", "A live Stripe key is refused while DEBUG is on."))
    if live_key and api_base and urlsplit(api_base).hostname != "api.stripe.com":
        problems.append(
            ConfigProblem("stripe_live_key_off_stripe", "A live Stripe key must not be sent to STRIPE_API_BASE.")
        )
    if production and stripe_key.startswith(("sk_test_", "rk_test_")):
        problems.append(
            ConfigProblem("stripe_test_key_in_production", "A Stripe test key is refused with BOOKDESK_PRODUCTION=1.")
        )
    if not webhook_secret:
        problems.append(ConfigProblem("stripe_webhook_secret_missing", "STRIPE_WEBHOOK_SECRET is not set."))
    elif not webhook_secret.startswith("whsec_"):
        problems.append(
            ConfigProblem("stripe_webhook_secret_malformed", "STRIPE_WEBHOOK_SECRET must start with whsec_.")
        )
    elif production and webhook_secret.startswith("whsec_bookdesk_"):
        problems.append(
            ConfigProblem(
                "stripe_webhook_secret_default",
                "STRIPE_WEBHOOK_SECRET is the sandbox's local default; set the secret of your Stripe endpoint.",
            )
        )
    return problems

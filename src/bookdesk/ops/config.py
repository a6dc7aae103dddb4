"""Configuration sanity, shared by the start checks, /readyz and the deploy system checks. Messages never echo
secret values.

Each problem has a level: `REFUSE_START` stops every command (runserver, `bookdesk serve`, the worker: a
system check) and the WSGI application (`refuse_unsafe_start`); `NOT_READY` fails /readyz and
`bookdesk check --deploy`; `WARNING` is said there and changes nothing (a Stripe test key on staging).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr
from enum import StrEnum
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

INSECURE_KEY_PREFIXES = ("bookdesk-insecure", "django-insecure")


class Level(StrEnum):
    REFUSE_START = "refuse_start"
    NOT_READY = "not_ready"
    WARNING = "warning"


@dataclass(frozen=True)
class ConfigProblem:
    id: str  # stable, e.g. "stripe_live_key_in_debug"
    message: str
    level: Level = Level.NOT_READY


def live_key_off_stripe(stripe_key: str, api_base: str) -> bool:
    """A live key with an API base other than Stripe's own: it must never be sent there."""
    live = stripe_key.startswith(("sk_live_", "rk_live_"))
    return live and bool(api_base) and urlsplit(api_base).hostname != "api.stripe.com"


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

    if (production or not debug) and secret_key_is_insecure(secret_key):
        problems.append(
            ConfigProblem(
                "insecure_secret_key",
                "SECRET_KEY is the local default or too weak; set a long random one.",
                Level.REFUSE_START if production else Level.NOT_READY,
            )
        )
    if production and debug:
        problems.append(
            ConfigProblem("debug_in_production", "DEBUG is on while BOOKDESK_PRODUCTION=1.", Level.REFUSE_START)
        )
    if not stripe_key:
        problems.append(ConfigProblem("stripe_key_missing", "STRIPE_SECRET_KEY is not set."))
    elif not stripe_key.startswith(("sk_test_", "sk_live_", "rk_test_", "rk_live_")):
        problems.append(
            ConfigProblem("stripe_key_malformed", "STRIPE_SECRET_KEY is not a Stripe secret or restricted key.")
        )
    live_key = stripe_key.startswith(("sk_live_", "rk_live_"))
    if live_key and debug:
        problems.append(
            ConfigProblem(
                "stripe_live_key_in_debug", "A live Stripe key is refused while DEBUG is on.", Level.REFUSE_START
            )
        )
    if live_key_off_stripe(stripe_key, api_base):
        problems.append(
            ConfigProblem(
                "stripe_live_key_off_stripe",
                "A live Stripe key must not be sent to STRIPE_API_BASE (only to Stripe's own API).",
                Level.REFUSE_START,
            )
        )
    if production and stripe_key.startswith(("sk_test_", "rk_test_")):
        problems.append(
            ConfigProblem(
                "stripe_test_key_in_production",
                "A Stripe test key with BOOKDESK_PRODUCTION=1: no real payment is taken (fine on staging).",
                Level.WARNING,
            )
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
                "STRIPE_WEBHOOK_SECRET is the sandbox's published default; set the secret of your Stripe endpoint.",
                Level.REFUSE_START,
            )
        )
    sender = parseaddr(str(settings.DEFAULT_FROM_EMAIL))[1]
    if production and (not sender or sender.rpartition("@")[2] in {"", "localhost", "example.com", "example.org"}):
        problems.append(
            ConfigProblem(
                "sender_email_local",
                f"DEFAULT_FROM_EMAIL is {sender or 'empty'}: customers' mail would come from an address nobody "
                "can reply to; set your business's address.",
                Level.WARNING,
            )
        )
    if production and not str(getattr(settings, "METRICS_TOKEN", "") or ""):
        problems.append(
            ConfigProblem(
                "metrics_token_missing",
                "METRICS_TOKEN is not set: /metrics stays closed (404) in production until it is.",
                Level.WARNING,
            )
        )
    return problems


def refuse_unsafe_start() -> None:
    """Raise ImproperlyConfigured naming every problem that must stop the process from serving."""
    refused = [problem for problem in config_problems() if problem.level == Level.REFUSE_START]
    if refused:
        lines = "\n".join(f"- {problem.message} ({problem.id})" for problem in refused)
        raise ImproperlyConfigured(f"bookdesk refuses to start:\n{lines}")

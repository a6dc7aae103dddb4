"""allauth hooks: one spelling per email address, whichever way it arrives (form, headless, OIDC); failed
sign-ins counted per (IP, account), so a stranger's wrong passwords never lock the owner out elsewhere."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address as `bookdesk.ops.ratelimit.client_ip` reads it (accounts stands beside ops and may
    not import it): behind a trusted proxy (BEHIND_PROXY=1) the first X-Forwarded-For hop."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return str(forwarded.split(",")[0].strip())
    return str(request.META.get("REMOTE_ADDR", "unknown"))


class AccountAdapter(DefaultAccountAdapter):
    def clean_email(self, email: str) -> str:
        # User.email is unique as stored; lower-casing here keeps "Ann@x.io" and "ann@x.io" one account.
        return super().clean_email(email.strip().lower())

    def get_client_ip(self, request: HttpRequest) -> str:
        # The same address as our own rate limits see (the forwarded one only with BEHIND_PROXY).
        return client_ip(request)

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth counts `login_failed` per IP and per this key: with the IP in the key, five wrong passwords
        # lock that account for that network only (ACCOUNT_RATE_LIMITS, "5/5m/key"); the owner elsewhere
        # still signs in. The per-IP limit ("10/m/ip") stops one network guessing across accounts.
        return f"{super()._get_login_attempts_cache_key(request, **credentials)}:{client_ip(request)}"

"""Django's and allauth's authentication backends, reading the signed-in user with one compiled statement.

Every authenticated request reads its user (`get_user`); `ModelBackend` builds that query's SQL each time
(half a millisecond of CPU per request here). The rules, for logging in and for who may, are the parents'.
"""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend

from bookdesk.db import compiled


class _CompiledUserLookup:
    def get_user(self, user_id: Any) -> Any:
        user = compiled.get(get_user_model(), user_id)
        return user if user is not None and self.user_can_authenticate(user) else None  # type: ignore[attr-defined]


class ModelBackend(_CompiledUserLookup, DjangoModelBackend):
    """Email and password, as Django's own (the admin's login)."""


class AuthenticationBackend(_CompiledUserLookup, AllauthBackend):
    """allauth's: email login, and the accounts its flows (verification, social) authenticate."""

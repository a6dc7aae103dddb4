"""The authentication backends read the signed-in user with a compiled statement, under the parents' rules."""

from __future__ import annotations

from importlib import import_module
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, get_backends
from django.contrib.sessions.backends.base import SessionBase
from django.test import Client

from bookdesk.accounts.backends import AuthenticationBackend, ModelBackend
from bookdesk.accounts.models import User
from bookdesk.accounts.services import user_ensure_verified

from .accounts_helpers import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/_allauth/app/v1/auth/login"


def login(email: str = "ada@example.com") -> str:
    response = Client().post(LOGIN, {"email": email, "password": PASSWORD}, content_type="application/json")
    assert response.status_code == 200, response.content
    return str(response.json()["meta"]["session_token"])


def cart(token: str) -> Any:
    return Client().get("/api/cart", headers={"X-Session-Token": token})


def test_a_login_records_our_backend_and_later_requests_read_the_user_through_it() -> None:
    user_ensure_verified(email="ada@example.com", password=PASSWORD)
    token = login()
    session: SessionBase = import_module(settings.SESSION_ENGINE).SessionStore(session_key=token)
    assert session[BACKEND_SESSION_KEY] in (
        "bookdesk.accounts.backends.ModelBackend",
        "bookdesk.accounts.backends.AuthenticationBackend",
    )
    assert [type(backend) for backend in get_backends()] == [ModelBackend, AuthenticationBackend]
    assert cart(token).status_code == 200


@pytest.mark.parametrize("backend", [ModelBackend, AuthenticationBackend])
def test_get_user_reads_what_the_orm_reads_and_refuses_whom_the_parent_refuses(backend: type[Any]) -> None:
    user, _ = user_ensure_verified(email="ada@example.com", password=PASSWORD)
    found = backend().get_user(user.pk)
    fresh = User.objects.get(pk=user.pk)
    assert {f.attname: getattr(found, f.attname) for f in User._meta.concrete_fields} == {
        f.attname: getattr(fresh, f.attname) for f in User._meta.concrete_fields
    }
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert backend().get_user(user.pk) is None
    assert backend().get_user(10**9) is None


def test_a_deactivated_customers_token_stops_working() -> None:
    user, _ = user_ensure_verified(email="ada@example.com", password=PASSWORD)
    token = login()
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert cart(token).status_code == 401

from __future__ import annotations

from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.test import Client

from bookdesk.accounts.models import User

pytestmark = pytest.mark.django_db


def run() -> str:
    out = StringIO()
    call_command("createdemouser", stdout=out)
    return out.getvalue()


def test_creates_a_verified_demo_customer_and_prints_credentials() -> None:
    output = run()

    assert "demo@bookdesk.local" in output
    assert "bookdesk-demo" in output
    user = User.objects.get(email="demo@bookdesk.local")
    assert not user.is_staff
    address = EmailAddress.objects.get(user=user)
    assert address.verified
    assert address.primary


def test_is_idempotent_and_restores_the_password() -> None:
    run()
    user = User.objects.get(email="demo@bookdesk.local")
    user.set_password("changed-by-someone")
    user.save()

    output = run()

    assert "Updated" in output
    assert User.objects.filter(email="demo@bookdesk.local").count() == 1
    assert EmailAddress.objects.filter(email="demo@bookdesk.local").count() == 1
    assert User.objects.get(email="demo@bookdesk.local").check_password("bookdesk-demo")


def test_demo_customer_can_log_in_through_the_page_and_the_api() -> None:
    run()

    browser = Client()
    browser.post("/accounts/login/", {"login": "demo@bookdesk.local", "password": "bookdesk-demo"})
    assert "_auth_user_id" in browser.session

    response = Client().post(
        "/_allauth/app/v1/auth/login",
        {"email": "demo@bookdesk.local", "password": "bookdesk-demo"},
        content_type="application/json",
    )
    assert response.status_code == 200
    token = response.json()["meta"]["session_token"]
    assert Client().get("/api/cart", headers={"X-Session-Token": token}).status_code == 200


def test_the_demo_operator_signs_in_and_opens_the_console_but_not_the_users() -> None:
    out = StringIO()
    call_command("createdemouser", operator=True, stdout=out)

    assert "owner@bookdesk.local" in out.getvalue()
    assert "operator" in out.getvalue()
    client = Client()
    assert client.login(email="owner@bookdesk.local", password="bookdesk-demo")
    assert client.get("/console/").status_code == 200
    assert client.get("/admin/orders/order/").status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 403  # an operator, not a superuser

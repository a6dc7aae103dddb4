from __future__ import annotations

import pytest
from django.test import Client

from bookdesk.accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client: Client) -> Client:
    client.force_login(User.objects.create_superuser(email="admin@example.com", password="admin-pass-123"))
    return client


def test_user_list_searches_and_filters_by_email(staff_client: Client) -> None:
    User.objects.create_user(email="ada@example.com", password="x-passphrase-1")
    User.objects.create_user(email="bob@example.com", password="x-passphrase-1")

    response = staff_client.get("/admin/accounts/user/", {"q": "ada", "is_staff__exact": "0"})

    assert response.status_code == 200
    assert b"ada@example.com" in response.content
    assert b"bob@example.com" not in response.content


def test_admin_adds_a_user_by_email(staff_client: Client) -> None:
    response = staff_client.post(
        "/admin/accounts/user/add/",
        {"email": "new@example.com", "password1": "a-long-passphrase-7", "password2": "a-long-passphrase-7"},
    )

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert User.objects.get(email="new@example.com").check_password("a-long-passphrase-7")


def test_user_change_page_renders(staff_client: Client) -> None:
    user = User.objects.create_user(email="ada@example.com", password="x-passphrase-1")
    assert staff_client.get(f"/admin/accounts/user/{user.pk}/change/").status_code == 200

"""Sign-up, verification, login, logout and password reset through the /accounts/ pages."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from bookdesk.accounts.models import User
from bookdesk.accounts.services import user_ensure_verified

from .accounts_helpers import PASSWORD, is_logged_in, link_in

pytestmark = pytest.mark.django_db


def sign_up(client: Client, email: str, password: str = PASSWORD) -> Any:
    return client.post("/accounts/signup/", {"email": email, "password1": password, "password2": password})


def log_in(client: Client, email: str, password: str = PASSWORD) -> Any:
    return client.post("/accounts/login/", {"login": email, "password": password})


def test_signup_page_renders(client: Client) -> None:
    response = client.get("/accounts/signup/")
    assert response.status_code == 200
    assert b'name="email"' in response.content


def test_signup_sends_a_verification_link_that_verifies_and_logs_in(client: Client, mailoutbox: list[Any]) -> None:
    response = sign_up(client, "ada@example.com")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert not is_logged_in(client)
    user = User.objects.get(email="ada@example.com")
    assert not EmailAddress.objects.get(user=user).verified
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["ada@example.com"]

    confirm = link_in(mailoutbox[0], "/accounts/confirm-email/")
    assert client.get(confirm).status_code == 200
    response = client.post(confirm)

    assert response.status_code == 302
    assert EmailAddress.objects.get(user=user).verified
    assert is_logged_in(client)


def test_login_is_blocked_until_the_email_is_verified(client: Client, mailoutbox: list[Any]) -> None:
    sign_up(Client(), "ada@example.com")

    response = log_in(client, "ada@example.com")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert not is_logged_in(client)
    assert len(mailoutbox) == 1  # the sign-up's link; resending right away is rate-limited

    client.post(link_in(mailoutbox[0], "/accounts/confirm-email/"))
    browser = Client()
    assert log_in(browser, "ada@example.com").status_code == 302
    assert is_logged_in(browser)


def test_login_without_verification_when_switched_off(client: Client, settings: Any, mailoutbox: list[Any]) -> None:
    settings.ACCOUNT_EMAIL_VERIFICATION = "none"
    response = sign_up(client, "ada@example.com")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert is_logged_in(client)

    browser = Client()
    assert log_in(browser, "ada@example.com")["Location"] == "/"
    assert is_logged_in(browser)


def test_wrong_password_is_refused(client: Client) -> None:
    user_ensure_verified(email="ada@example.com", password=PASSWORD)
    response = log_in(client, "ada@example.com", "not-the-password")
    assert response.status_code == 200
    assert not is_logged_in(client)


def test_logout_ends_the_session(client: Client) -> None:
    user_ensure_verified(email="ada@example.com", password=PASSWORD)
    log_in(client, "ada@example.com")
    assert is_logged_in(client)

    assert client.get("/accounts/logout/").status_code == 200  # a confirmation page, never a GET logout
    assert is_logged_in(client)
    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert not is_logged_in(client)


def test_password_reset_through_the_emailed_link(client: Client, mailoutbox: list[Any]) -> None:
    user_ensure_verified(email="ada@example.com", password=PASSWORD)

    response = client.post("/accounts/password/reset/", {"email": "ada@example.com"})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    reset = link_in(mailoutbox[0], "/accounts/password/reset/key/")

    form = client.get(reset, follow=True)
    assert form.status_code == 200
    set_password_url = form.redirect_chain[-1][0] if form.redirect_chain else reset
    response = client.post(
        set_password_url, {"password1": "a-brand-new-passphrase", "password2": "a-brand-new-passphrase"}
    )
    assert response.status_code == 302

    assert log_in(Client(), "ada@example.com", PASSWORD).status_code == 200  # the old one no longer works
    browser = Client()
    log_in(browser, "ada@example.com", "a-brand-new-passphrase")
    assert is_logged_in(browser)


def test_password_reset_link_works_once(client: Client, mailoutbox: list[Any]) -> None:
    user_ensure_verified(email="ada@example.com", password=PASSWORD)
    client.post("/accounts/password/reset/", {"email": "ada@example.com"})
    reset = link_in(mailoutbox[0], "/accounts/password/reset/key/")
    form = client.get(reset, follow=True)
    set_password_url = form.redirect_chain[-1][0]
    client.post(set_password_url, {"password1": "a-brand-new-passphrase", "password2": "a-brand-new-passphrase"})

    again = Client().get(reset, follow=True)
    assert b"password1" not in again.content  # a bad-token page, not the form


def test_duplicate_email_creates_no_second_account(client: Client, mailoutbox: list[Any]) -> None:
    user_ensure_verified(email="ada@example.com", password=PASSWORD)

    response = sign_up(client, "ada@example.com", "another-passphrase-99")

    # Verification is mandatory, so allauth hides that the address is taken (no enumeration) and
    # mails the owner instead; either way no second account exists and nobody is logged in.
    assert response.status_code == 302
    assert User.objects.filter(email__iexact="ada@example.com").count() == 1
    assert not is_logged_in(client)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["ada@example.com"]
    assert "/accounts/confirm-email/" not in mailoutbox[0].body


def test_duplicate_email_is_refused_openly_without_verification(client: Client, settings: Any) -> None:
    settings.ACCOUNT_EMAIL_VERIFICATION = "none"
    user_ensure_verified(email="ada@example.com", password=PASSWORD)

    response = sign_up(client, "ADA@example.com", "another-passphrase-99")

    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    assert User.objects.filter(email__iexact="ada@example.com").count() == 1


def test_email_is_case_insensitive(client: Client, settings: Any) -> None:
    settings.ACCOUNT_EMAIL_VERIFICATION = "none"
    sign_up(client, "Ada.Lovelace@Example.COM")

    user = User.objects.get()
    assert user.email == "ada.lovelace@example.com"
    assert EmailAddress.objects.get(user=user).email == "ada.lovelace@example.com"
    browser = Client()
    log_in(browser, "ADA.LOVELACE@example.com")
    assert is_logged_in(browser)


def test_signup_answers_alike_for_a_taken_and_a_free_email(mailoutbox: list[Any]) -> None:
    """With verification on (the default, and production's), sign-up does not tell who has an account: the same
    answer either way; the owner of the taken address gets an email instead."""
    user_ensure_verified(email="taken@example.com", password=PASSWORD)
    taken = sign_up(Client(), "taken@example.com")
    free = sign_up(Client(), "free@example.com")
    assert taken.status_code == free.status_code == 302
    assert taken["Location"] == free["Location"]
    assert sorted(message.to[0] for message in mailoutbox) == ["free@example.com", "taken@example.com"]

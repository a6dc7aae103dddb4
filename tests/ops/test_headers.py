"""Security headers on every response; noindex on account, admin and protected pages."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from bookdesk.web.decorators import protected_page

pytestmark = pytest.mark.django_db


def test_pages_carry_the_security_headers(client: Client) -> None:
    response = client.get("/")
    csp = response["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "X-Robots-Tag" not in response  # the catalog should be indexed


def test_forms_may_redirect_to_stripe_checkout_and_the_configured_api_host(client: Client, settings) -> None:
    settings.STRIPE_API_BASE = "http://127.0.0.1:12111"
    form_action = next(
        part for part in client.get("/healthz")["Content-Security-Policy"].split("; ") if part.startswith("form-action")
    )
    assert form_action == "form-action 'self' https://checkout.stripe.com http://127.0.0.1:12111"


def test_hsts_when_served_over_tls(client: Client, settings) -> None:
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/healthz", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/", "/admin/", "/admin/login/"])
def test_account_and_admin_pages_are_noindex(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code in {200, 302}
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_protected_page_requires_sign_in_and_is_noindex(django_user_model) -> None:
    @protected_page
    def my_bookings(request: HttpRequest) -> HttpResponse:
        return HttpResponse("mine")

    anonymous = RequestFactory().get("/bookings")
    from django.contrib.auth.models import AnonymousUser

    anonymous.user = AnonymousUser()
    redirect = my_bookings(anonymous)
    assert redirect.status_code == 302
    assert "/accounts/login/" in redirect["Location"]
    assert redirect["X-Robots-Tag"] == "noindex, nofollow"

    signed_in = RequestFactory().get("/bookings")
    signed_in.user = django_user_model.objects.create_user(email="cy@example.com", password="a-long-password-1")
    response = my_bookings(signed_in)
    assert response.status_code == 200
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-store" in response["Cache-Control"]

"""Every customer page renders from real data; missing things and bad input get readable pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from bookdesk.catalog.selectors import business_today

pytestmark = pytest.mark.django_db


def test_home_lists_courses_services_and_beats_with_seat_badges(client: Client, catalog) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Mixing basics" in html
    assert "Mastering clinic" in html
    assert "Few seats left" in html  # capacity 2
    assert "Old workshop" not in html  # past courses are not upcoming
    assert "Recording session" in html
    assert "Night Drive" in html
    assert "from €29.99" in html
    assert "Studio T-shirt" in html
    assert 'name="q"' in html


def test_home_search_narrows_every_section(client: Client, catalog) -> None:
    html = client.get("/", {"q": "mixing"}).content.decode()
    assert "Mixing basics" in html
    assert "Mastering clinic" not in html
    assert "Night Drive" not in html
    assert "No service matches" in html


def test_home_with_an_empty_catalog_says_so(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "No upcoming courses" in response.content.decode()


def test_course_page_shows_seats_and_a_way_to_book(client: Client, catalog) -> None:
    response = client.get(f"/courses/{catalog.course.slug}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Mixing basics" in html
    assert "12</strong> seats left" in html
    assert "€149.00" in html
    assert "Sign in to book" in html


def test_course_page_offers_book_now_to_a_signed_in_customer(client: Client, catalog, django_user_model) -> None:
    user = django_user_model.objects.create_user(email="ada@example.com", password="a-long-password-1")
    client.force_login(user)
    html = client.get(f"/courses/{catalog.course.slug}").content.decode()
    assert "Book now" in html
    assert "ada@example.com" in html  # the header shows who is signed in
    assert "Sign out" in html


def test_past_course_says_it_cannot_be_booked(client: Client, catalog) -> None:
    response = client.get(f"/courses/{catalog.past_course.slug}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "can no longer be booked" in html
    assert "Sign in to book" not in html


def test_unknown_course_is_the_readable_404_page(client: Client, catalog) -> None:
    response = client.get("/courses/no-such-course")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html
    assert "Back to the catalog" in html
    assert "<html" in html


@pytest.mark.parametrize("path", ["/services/999999", "/products/999999", "/no/such/page"])
def test_unknown_pages_are_the_readable_404_page(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_service_page_lists_free_times_in_the_business_time_zone(client: Client, catalog) -> None:
    day = business_today() + dt.timedelta(days=7)
    response = client.get(f"/services/{catalog.service.pk}", {"date": day.isoformat()})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Recording session" in html
    assert 'type="date" name="date"' in html
    assert f'value="{day.isoformat()}"' in html
    # Opening hours 10:00–18:00 local, two-hour slots: 10, 12, 14, 16 in Europe/Berlin.
    for start in ("10:00", "12:00", "14:00", "16:00"):
        assert f">{start}</time>" in html
    assert "Europe/Berlin" in html


@pytest.mark.parametrize("raw", ["not-a-date", "2024-13-45", "'><script>"])
def test_service_page_with_an_invalid_date_explains_instead_of_failing(client: Client, catalog, raw: str) -> None:
    response = client.get(f"/services/{catalog.service.pk}", {"date": raw})
    assert response.status_code == 400
    html = response.content.decode()
    assert "That is not a date" in html
    assert "<script>" not in html
    assert "Recording session" in html  # still the service page, showing today


def test_service_page_with_a_past_date_shows_today(client: Client, catalog) -> None:
    response = client.get(f"/services/{catalog.service.pk}", {"date": "2001-01-01"})
    assert response.status_code == 200
    assert "That day has passed" in response.content.decode()


def test_product_page_lists_license_tiers_and_flags_the_exclusive(client: Client, catalog) -> None:
    response = client.get(f"/products/{catalog.beat.pk}")
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Basic lease", "€29.99", "Premium lease", "€79.99", "Exclusive rights", "€499.00", "Exclusive"):
        assert text in html


def test_physical_product_page_says_it_ships(client: Client, catalog) -> None:
    html = client.get(f"/products/{catalog.merch.pk}").content.decode()
    assert "ships to you" in html
    assert "€25.00" in html


@pytest.mark.parametrize(
    "path",
    ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/", "/accounts/confirm-email/"],
)
def test_account_pages_use_the_site_layout(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/web/site.css" in html
    assert 'class="site-header"' in html
    assert "auth-panel" in html


def test_sign_out_page_uses_the_site_layout(client: Client, django_user_model) -> None:
    client.force_login(django_user_model.objects.create_user(email="bo@example.com", password="a-long-password-1"))
    response = client.get("/accounts/logout/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "manage-panel" in html
    assert 'class="site-header"' in html


def test_stylesheet_is_served_by_the_app(client: Client) -> None:
    response = client.get("/static/web/site.css")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
    assert b".card" in body


def test_api_docs_use_local_swagger_assets(client: Client) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()


def test_a_rate_limited_page_answers_429_with_retry_after(rf) -> None:
    from bookdesk.errors import RateLimited
    from bookdesk.web.middleware import ErrorPageMiddleware

    middleware = ErrorPageMiddleware(lambda request: None)  # type: ignore[arg-type,return-value]
    response = middleware.process_exception(rf.get("/checkout"), RateLimited("Slow down.", retry_after=7))
    assert response is not None
    assert response.status_code == 429
    assert response["Retry-After"] == "7"
    assert "Slow down." in response.content.decode()
    # The API renders its own problem+json; the page middleware leaves /api/ alone.
    assert middleware.process_exception(rf.get("/api/checkout"), RateLimited()) is None

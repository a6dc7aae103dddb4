"""Every error under /api/ is problem+json with a stable code, whichever layer produces it.

A small probe API (a second `BookdeskAPI`, mounted under /api/_probe/ by this module's urlconf)
gives the error paths an operation with a JSON body, a crash and an unsafe authenticated method;
it shares the real exception handlers, auth classes and middleware.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import include, path
from ninja import Router, Schema

from bookdesk.accounts.auth import SessionCookieAuth, user_auth
from bookdesk.api import BookdeskAPI
from bookdesk.errors import SoldOut
from problems import assert_problem

probe = Router()


class BookingIn(Schema):
    course_id: int
    seats: int = 1


@probe.post("/bookings")
def probe_booking(request: Any, payload: BookingIn) -> dict[str, int]:
    if payload.course_id == 13:
        raise SoldOut("No seats left on this course.")
    return {"course_id": payload.course_id}


@probe.get("/boom")
def probe_boom(request: Any) -> None:
    raise RuntimeError("password=hunter2 in a stack trace")


@probe.post("/secure", auth=user_auth)
def probe_secure(request: Any) -> dict[str, str]:
    return {"email": request.auth.email}


probe_api = BookdeskAPI(urls_namespace="probe", docs_url=None, openapi_url=None)
probe_api.add_router("", probe)

urlpatterns = [path("api/_probe/", probe_api.urls), path("", include("bookdesk.urls"))]

probe_urls = pytest.mark.urls(__name__)


# Paths and methods Django or ninja answer before any operation runs.


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/nope", "/api/courses/1/nothing-here", "/api/cart/", "/api/%E2%9C%93"])
def test_unknown_api_path_is_problem_404(client: Client, url: str) -> None:
    assert_problem(client.get(url), status=404, code="not_found")


@pytest.mark.django_db
def test_unknown_api_path_with_unsafe_method_is_404_not_csrf(client: Client) -> None:
    strict = Client(enforce_csrf_checks=True)
    assert_problem(strict.post("/api/nope", {}, content_type="application/json"), status=404, code="not_found")


@pytest.mark.django_db
def test_wrong_method_on_known_path_is_problem_405_with_allow(client: Client) -> None:
    response = client.delete("/api/cart")
    assert_problem(response, status=405, code="method_not_allowed")
    assert response["Allow"] == "GET"


@pytest.mark.django_db
def test_non_api_404_stays_a_page(client: Client) -> None:
    response = client.get("/definitely-not-a-page")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/problem+json")


# Errors raised inside an operation.


@probe_urls
@pytest.mark.django_db
def test_malformed_json_is_invalid_json(client: Client) -> None:
    response = client.post("/api/_probe/bookings", "{not json", content_type="application/json")
    assert_problem(response, status=400, code="invalid_json")


@probe_urls
@pytest.mark.django_db
def test_validation_error_lists_fields(client: Client) -> None:
    response = client.post("/api/_probe/bookings", {"seats": "many"}, content_type="application/json")
    body = assert_problem(response, status=422, code="invalid")
    fields = {(error["field"], error["in"]) for error in body["errors"]}
    assert fields == {("payload.course_id", "body"), ("payload.seats", "body")}
    assert all(error["message"] for error in body["errors"])


@pytest.mark.django_db
def test_query_validation_error_names_the_query_field(client: Client) -> None:
    body = assert_problem(client.get("/api/courses", {"page": "zero"}), status=422, code="invalid")
    assert [(error["field"], error["in"]) for error in body["errors"]] == [("page", "query")]
    assert body["errors"][0]["message"]


@probe_urls
@pytest.mark.django_db
def test_domain_error_keeps_its_code_and_status(client: Client) -> None:
    response = client.post("/api/_probe/bookings", {"course_id": 13}, content_type="application/json")
    body = assert_problem(response, status=409, code="sold_out")
    assert body["detail"] == "No seats left on this course."


@probe_urls
@pytest.mark.django_db
def test_oversized_body_is_413(client: Client, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    payload = json.dumps({"course_id": 1, "padding": "x" * 4096})
    response = client.post("/api/_probe/bookings", payload, content_type="application/json")
    assert_problem(response, status=413, code="payload_too_large")


@probe_urls
@pytest.mark.django_db
def test_unexpected_exception_is_500_and_leaks_nothing(client: Client, caplog: Any) -> None:
    response = client.get("/api/_probe/boom")
    body = assert_problem(response, status=500, code="server_error")
    assert "hunter2" not in response.content.decode()
    assert "RuntimeError" not in response.content.decode()
    assert body["detail"] == "An unexpected error occurred; it has been logged."
    assert any(record.exc_info and "hunter2" in str(record.exc_info[1]) for record in caplog.records)


# CSRF for cookie-authenticated unsafe calls.


@probe_urls
def test_cookie_post_without_csrf_token_is_403_csrf_failed(verified_user: Any) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(verified_user)
    response = browser.post("/api/_probe/secure")
    assert_problem(response, status=403, code="csrf_failed")


@probe_urls
def test_cookie_post_with_csrf_token_passes(verified_user: Any) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(verified_user)
    browser.get("/accounts/password/change/")  # a page with a form sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    response = browser.post("/api/_probe/secure", headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.content
    assert response.json() == {"email": verified_user.email}


@probe_urls
def test_token_post_needs_no_csrf_token(session_token: str, verified_user: Any) -> None:
    app = Client(enforce_csrf_checks=True)
    response = app.post("/api/_probe/secure", headers={"X-Session-Token": session_token})
    assert response.status_code == 200, response.content
    assert response.json() == {"email": verified_user.email}


@probe_urls
@pytest.mark.django_db
def test_anonymous_unsafe_call_is_401_not_a_csrf_error() -> None:
    response = Client(enforce_csrf_checks=True).post("/api/_probe/secure")
    assert_problem(response, status=401, code="not_authenticated")


def test_session_cookie_auth_checks_csrf_only_for_unsafe_methods(verified_user: Any) -> None:
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.test import RequestFactory

    from bookdesk.errors import CsrfFailed

    auth = SessionCookieAuth()
    for method, needs_token in [("get", False), ("head", False), ("post", True), ("delete", True)]:
        request = getattr(RequestFactory(), method)("/api/anything")
        SessionMiddleware(lambda r: None).process_request(request)  # type: ignore[arg-type,return-value]
        request.user = verified_user
        if needs_token:
            with pytest.raises(CsrfFailed):
                auth(request)
        else:
            assert auth(request) == verified_user


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/api/courses?q=%C3%A4%007J", "/api/orders/BD-%00X", "/api/services/1/slots?date=2026-01-01%00"]
)
def test_a_nul_character_in_the_url_is_a_400_not_a_database_error(client: Client, url: str) -> None:
    # PostgreSQL refuses NUL in text; the fuzzer found GET /api/courses?q=…%00… answering 500.
    body = assert_problem(client.get(url), status=400, code="bad_request")
    assert "NUL" in body["detail"]


@pytest.mark.django_db
def test_a_nul_character_in_a_page_address_is_a_readable_400_page(client: Client) -> None:
    response = client.get("/payment/success?session_id=cs_%00")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert b"NUL character" in response.content

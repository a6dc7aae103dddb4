"""Bodies, headers and parameters no client of ours would send: too big, not JSON, the wrong JSON, numbers
past any integer, pages past the end. Each is a 4xx problem (or a readable page) and nothing is written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from bookdesk.cart.models import CartItem
from factories import CourseFactory

pytestmark = pytest.mark.django_db


def post_raw(token: str, body: bytes, content_type: str = "application/json", **headers: str) -> Any:
    return Client().generic(
        "POST", "/api/cart/items", body, content_type=content_type, headers={"X-Session-Token": token, **headers}
    )


def assert_refused(response: Any, *statuses: int) -> None:
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/problem+json"
    assert not CartItem.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"not json at all",
        b"[]",
        b"null",
        b'"course"',
        b'{"kind": "course", "course_id": "1 OR 1=1"}',
        b'{"kind": "ticket", "course_id": 1}',
        b'{"kind": "course", "course_id": 99999999999999999999999}',
        b'{"kind": "course", "course_id": -1}',
        b'{"kind": "course", "course_id": 1e309}',
        b'{"kind": "course", "course_id": NaN}',
        b'{"kind": "service", "service_id": 1, "starts_at": "9999-12-31T23:59:59Z"}',
        b'{"kind": "service", "service_id": 1, "starts_at": "0001-01-01T00:00:00Z"}',
        b'{"kind": "service", "service_id": 1, "starts_at": "yesterday"}',
        b"\xff\xfe\x00{",
        b"[" * 5000 + b"]" * 5000,
    ],
    ids=[
        "empty",
        "truncated",
        "not-json",
        "array",
        "null",
        "string",
        "id-as-sql",
        "unknown-kind",
        "id-past-int64",
        "negative-id",
        "id-infinity",
        "nan",
        "year-9999",
        "year-1",
        "not-a-date",
        "not-utf8",
        "deep-nesting",
    ],
)
def test_a_malformed_cart_body_is_a_problem_and_adds_nothing(eve_token: str, body: bytes) -> None:
    CourseFactory(pk=1)
    assert_refused(post_raw(eve_token, body), 400, 404, 409, 422)


def test_a_body_over_the_upload_limit_is_refused(eve_token: str, settings: Any) -> None:
    filler = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    assert_refused(
        post_raw(eve_token, json.dumps({"kind": "course", "course_id": 1, "pad": filler}).encode()), 400, 413
    )


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_body_that_is_not_json_by_its_type_is_refused(eve_token: str, content_type: str) -> None:
    CourseFactory(pk=1)
    response = post_raw(eve_token, b"kind=course&course_id=1", content_type=content_type)
    assert_refused(response, 400, 415, 422)


@pytest.mark.parametrize(
    "params",
    [
        {"page": 0},
        {"page": -1},
        {"page": "two"},
        {"page_size": 0},
        {"page_size": 10**6},
        {"upcoming": "perhaps"},
    ],
    ids=["page-0", "page-negative", "page-word", "size-0", "size-huge", "bool-word"],
)
def test_a_list_parameter_out_of_range_is_a_422(db: None, params: dict[str, Any]) -> None:
    response = Client().get("/api/courses", params)
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("page", [10**6, 10**18, 10**30])
def test_a_page_far_past_the_end_is_empty_and_reads_no_rows(db: None, page: int) -> None:
    CourseFactory.create_batch(3)
    body = Client().get("/api/courses", {"page": page}).json()
    assert (body["items"], body["pages"], body["total"]) == ([], 1, 3)


@pytest.mark.parametrize("date", ["2026-02-30", "10000-01-01", "0000-01-01", "2026-13-01", "today", "1.1.2026"])
def test_a_slots_date_that_is_not_a_day_is_a_problem(db: None, date: str) -> None:
    from factories import studio

    service, _ = studio()
    response = Client().get(f"/api/services/{service.pk}/slots", {"date": date})
    assert 400 <= response.status_code < 500, response.content
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/api/courses/99999999999999999999999", "/api/products/-5", "/api/courses/1e3"])
def test_an_id_that_cannot_be_a_row_is_a_problem(db: None, path: str) -> None:
    response = Client().get(path)
    assert response.status_code in (404, 422)
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "99999999999999999999"])
def test_a_malformed_content_length_is_a_400_not_a_500(eve_token: str, length: str) -> None:
    response = Client().generic(
        "POST",
        "/api/cart/items",
        b'{"kind": "course", "course_id": 1}',
        content_type="application/json",
        headers={"X-Session-Token": eve_token},
        CONTENT_LENGTH=length,
    )
    assert response.status_code in (400, 413, 422), response.content
    assert not CartItem.objects.exists()


@pytest.mark.parametrize(
    "header", ["Token with spaces", "x" * 5000, "\u00e9\u00e9", ""], ids=["spaces", "long", "latin1", "empty"]
)
def test_a_broken_session_token_is_a_401(db: None, header: str) -> None:
    response = Client().get("/api/cart", headers={"X-Session-Token": header})
    assert response.status_code in (401, 400)
    assert response["Content-Type"] == "application/problem+json"

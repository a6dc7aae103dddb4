"""Assertions shared by the API tests."""

from __future__ import annotations

from typing import Any


def assert_problem(response: Any, *, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith(f"/problems/{code}")
    assert body["title"]
    assert body["detail"]
    assert body["instance"] == response.wsgi_request.path
    return body

from __future__ import annotations

import pytest
import schemathesis
from django.test import Client


@pytest.mark.django_db
def test_openapi_document_is_valid_and_describes_auth_and_errors(client: Client) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    # schemathesis resolves every operation, reference and parameter of the document, or says why not.
    operations = list(schemathesis.openapi.from_dict(document).get_all_operations())
    assert operations
    assert all(result.ok() for result in operations), [result.err() for result in operations if not result.ok()]
    assert document["openapi"].startswith("3.1")
    schemes = document["components"]["securitySchemes"]
    assert schemes["SessionTokenAuth"] == {"type": "apiKey", "in": "header", "name": "X-Session-Token"}
    assert schemes["SessionCookieAuth"]["in"] == "cookie"
    cart = document["paths"]["/api/cart"]["get"]
    assert cart["security"] == [{"SessionTokenAuth": []}, {"SessionCookieAuth": []}]
    assert list(cart["responses"]["401"]["content"]) == ["application/problem+json"]
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code"} <= set(problem["required"])


@pytest.mark.django_db
def test_docs_page_renders(client: Client) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
    assert b"/api/openapi.json" in response.content

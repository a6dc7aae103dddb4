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


@pytest.mark.django_db
def test_free_text_in_the_address_is_documented_without_nul_and_a_nul_is_a_400(client: Client) -> None:
    """No request may carry NUL (the middleware answers 400 first): every free-text query or path parameter's
    schema says so, or a schema-valid request would be refused (schemathesis found `q=…%00…` on courses)."""
    document = client.get("/api/openapi.json").json()
    free_text = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                for option in schema.get("anyOf", [schema]):
                    if option.get("type") == "string" and not {"enum", "format", "$ref"} & set(option):
                        free_text.append((method, path, parameter["name"], option.get("pattern")))
    assert {name for _, _, name, _ in free_text} >= {"q", "code", "number"}
    assert all(pattern == "^[^\\x00]*$" for *_, pattern in free_text), free_text
    answer = client.get("/api/courses", {"q": "a\x00b"})
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/problem+json"

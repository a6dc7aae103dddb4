"""Property-based run of every operation in the live OpenAPI document (it picks up new endpoints).

Every check schemathesis has, on valid and invalid requests: no 5xx; every status, content type, header and
body is documented; data that breaks the schema is refused and data that fits it is not refused as invalid
(a refusal that depends on what is on sale or in the cart is a 409, not a 422).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from factories import login_token


@pytest.fixture
def session_headers(db: None) -> dict[str, str]:
    return {"X-Session-Token": login_token("fuzz@example.com")}


@pytest.fixture
def api_schema(db: None, session_headers: dict[str, str], stripe_sandbox: Any, demo_media: Any) -> Iterator[Any]:
    from bookdesk.wsgi import application

    call_command("seed", verbosity=0)  # a few courses, services and products to read back
    # Called as a plain WSGI app, Django would close the test transaction's connection after each
    # request (it is "in a transaction"); Django's test client unhooks the same receivers per request,
    # so this comes after the last test-client call.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/openapi.json", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_schema(case: Any, session_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=session_headers)

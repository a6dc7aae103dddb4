"""Request ids: taken from a sane X-Request-ID or generated, returned, and on every JSON log line."""

from __future__ import annotations

import io
import json
import logging
import logging.config

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log() -> io.StringIO:
    """The project's own LOGGING formatter and filter, writing to a buffer we can read back."""
    stream = io.StringIO()
    formatter_config = settings.LOGGING["formatters"]["json"]
    handler_config = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": settings.LOGGING["filters"],
        "formatters": {"json": formatter_config},
        "handlers": {
            "buffer": {
                "class": "logging.StreamHandler",
                "stream": stream,
                "formatter": "json",
                "filters": ["request_id"],
            }
        },
        "loggers": {"bookdesk.access": {"handlers": ["buffer"], "level": "DEBUG", "propagate": False}},
    }
    logging.config.dictConfig(handler_config)
    yield stream
    logging.config.dictConfig(settings.LOGGING)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_sane_incoming_request_id_is_kept_and_logged_as_json(client: Client, json_log: io.StringIO) -> None:
    response = client.get("/", headers={"X-Request-ID": "edge-7f3a9c2b-0001"})
    assert response["X-Request-ID"] == "edge-7f3a9c2b-0001"
    line = _lines(json_log)[-1]
    assert line["request_id"] == "edge-7f3a9c2b-0001"
    assert line["logger"] == "bookdesk.access"
    assert line["level"] == "INFO"
    assert line["method"] == "GET"
    assert line["path"] == "/"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert "time" in line


@pytest.mark.parametrize("incoming", ["", "short", "bad id with spaces", "x" * 300, "evil\r\nInjected: 1"])
def test_an_insane_request_id_is_replaced_by_a_generated_one(client: Client, incoming: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": incoming} if incoming else {})
    generated = response["X-Request-ID"]
    assert generated != incoming
    assert len(generated) == 32
    assert generated.isalnum()


def test_each_request_gets_its_own_id(client: Client) -> None:
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert first != second


def test_access_log_never_contains_query_strings_or_credentials(client: Client, json_log: io.StringIO) -> None:
    client.get(
        "/?q=x&token=secret-reset-token",
        headers={"Authorization": "Bearer secret-bearer", "Cookie": "sessionid=secret-cookie"},
    )
    text = json_log.getvalue()
    assert "secret-reset-token" not in text
    assert "secret-bearer" not in text
    assert "secret-cookie" not in text


def test_access_log_carries_the_signed_in_user_id(client: Client, json_log: io.StringIO, django_user_model) -> None:
    user = django_user_model.objects.create_user(email="dee@example.com", password="a-long-password-1")
    client.force_login(user)
    client.get("/")
    assert _lines(json_log)[-1]["user_id"] == user.pk


def test_any_log_record_during_a_request_carries_its_id() -> None:
    from bookdesk.ops.logging import RequestIdFilter, request_id_var

    record = logging.LogRecord("bookdesk.test", logging.INFO, __file__, 1, "hello", None, None)
    token = request_id_var.set("req-0123456789")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    assert record.request_id == "req-0123456789"
    outside = logging.LogRecord("bookdesk.test", logging.INFO, __file__, 1, "hello", None, None)
    RequestIdFilter().filter(outside)
    assert outside.request_id == "-"

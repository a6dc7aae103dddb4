"""A request no client should send (a Content-Length that is not a number) is a 400, never a 500: a problem
document under /api/, a readable page elsewhere; under the test client and Django's own server alike."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from bookdesk.payments.models import WebhookEvent

PATHS = ["/api/stripe/webhook", "/api/cart/items", "/cart/items", "/accounts/login/"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("length", ["abc", "-5", "1e3", "12, 12", "\u00b2"])
def test_a_content_length_that_is_not_a_number_is_a_400(path: str, length: str) -> None:
    response = Client().post(path, b"{}", content_type="application/json", CONTENT_LENGTH=length)
    assert response.status_code == 400
    if path.startswith("/api/"):
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "bad_request"
        assert "Content-Length" in response.json()["detail"]
    else:
        assert "Content-Length" in response.content.decode()
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_development_server_answers_400_too(live_server: Any) -> None:
    """`bookdesk demo` serves with Django's own server: the header reaches the app as sent."""
    address = urlsplit(live_server.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/stripe/webhook HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: abc\r\nConnection: close\r\n\r\n{}"
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line = answer.split(b"\r\n", 1)[0]
    assert b" 400 " in status_line, answer[:300]

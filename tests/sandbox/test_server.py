"""The HTTP layer over raw sockets: keep-alive, malformed requests, limits, disconnects."""

from __future__ import annotations

import json
import re
import socket
import time
from urllib.parse import urlsplit

import pytest
import stripe

from stripe_sandbox.server import MAX_BODY_BYTES

from .conftest import API_KEY, create_session

AUTH = f"Authorization: Bearer {API_KEY}\r\n".encode()
STATUS_LINE = re.compile(rb"HTTP/1\.1 (\d{3}) [^\r\n]*\r\n")


def connect(base_url: str) -> socket.socket:
    parts = urlsplit(base_url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=5)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def responses(data: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """Split a stream of HTTP/1.1 responses (each with Content-Length) into (status, headers, body)."""
    found = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = dict(line.split(": ", 1) for line in lines[1:])
        length = int(headers.get("Content-Length", "0"))
        found.append((status, headers, rest[:length]))
        data = rest[length:]
    return found


def exchange(base_url: str, raw: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    with connect(base_url) as sock:
        sock.sendall(raw)
        return responses(read_all(sock))


def test_several_requests_on_one_connection_are_answered_in_order(base_url: str) -> None:
    raw = (
        b"GET /_sandbox/health HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /v1/events?limit=1 HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n"
        b"GET /_sandbox/faults HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    answers = exchange(base_url, raw)
    assert [status for status, _, _ in answers] == [200, 200, 200]
    assert json.loads(answers[0][2])["status"] == "ok"
    assert json.loads(answers[1][2])["object"] == "list"
    assert "latency_ms" in json.loads(answers[2][2])
    assert answers[1][1]["Request-Id"].startswith("req_")


def test_a_kept_alive_connection_serves_requests_sent_one_after_another(base_url: str) -> None:
    with connect(base_url) as sock:
        for _ in range(3):
            sock.sendall(b"GET /_sandbox/health HTTP/1.1\r\nHost: x\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(1)
            match = STATUS_LINE.match(head)
            assert match is not None
            assert match.group(1) == b"200"
            length = int(re.search(rb"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
            body = b""
            while len(body) < length:
                body += sock.recv(length - len(body))
            assert json.loads(body)["status"] == "ok"


def test_answers_carry_the_server_date_and_length_headers(base_url: str) -> None:
    ((status, headers, body),) = exchange(base_url, b"GET /_sandbox/health HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert status == 200
    assert headers["Server"] == "stripe-sandbox "  # http.server's version string, its trailing space included
    assert headers["Date"].endswith(" GMT")
    assert headers["Content-Type"] == "application/json"
    assert int(headers["Content-Length"]) == len(body)


def test_http_1_0_gets_one_answer_and_the_connection_closes(base_url: str) -> None:
    answers = exchange(base_url, b"GET /_sandbox/health HTTP/1.0\r\n\r\nGET /_sandbox/health HTTP/1.0\r\n\r\n")
    assert [status for status, _, _ in answers] == [200]


def test_head_answers_headers_with_the_length_of_the_body_it_leaves_out(base_url: str) -> None:
    raw = b"HEAD /_sandbox/health HTTP/1.1\r\n\r\nGET /_sandbox/health HTTP/1.1\r\nConnection: close\r\n\r\n"
    with connect(base_url) as sock:
        sock.sendall(raw)
        data = read_all(sock)
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert rest.startswith(b"HTTP/1.1 200 ")  # no body between the two answers
    (_, _, body), *_ = responses(rest)
    assert int(re.search(rb"Content-Length: (\d+)", head).group(1)) == len(body)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        (b"GET / HTTP/x.y", 400),
        (b"GET / HTTP/1.1 extra", 400),
        (b"GET", 400),
        (b"POST /v1/checkout/sessions", 400),  # HTTP/0.9 knows GET only
        (b"GET / HTTP/2.0", 505),
    ],
)
def test_a_malformed_request_line_gets_an_error_page_and_the_connection_closes(
    base_url: str, request_line: bytes, status: int
) -> None:
    with connect(base_url) as sock:
        sock.sendall(request_line + b"\r\n\r\nGET /_sandbox/health HTTP/1.1\r\n\r\n")
        data = read_all(sock)
    # http.server answers as to HTTP/0.9 (a bare page, no status line) when the version is unknown.
    assert data.startswith(b"<!DOCTYPE HTML>")
    assert f"Error code: {status}".encode() in data
    assert b"HTTP/1.1" not in data  # the request after it was not served


def test_an_unknown_method_is_501_and_the_connection_closes(base_url: str) -> None:
    answers = exchange(base_url, b"BREW /v1/coffee HTTP/1.1\r\n\r\nGET /_sandbox/health HTTP/1.1\r\n\r\n")
    assert [status for status, _, _ in answers] == [501]
    assert answers[0][1]["Connection"] == "close"
    assert answers[0][1]["Content-Type"] == "text/html;charset=utf-8"


def test_a_request_line_over_64_kib_is_414(base_url: str) -> None:
    ((status, headers, _),) = exchange(base_url, b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n")
    assert status == 414
    assert headers["Connection"] == "close"


@pytest.mark.parametrize(
    ("header_block", "reason"),
    [
        (b"X: " + b"a" * 70_000 + b"\r\n", b"Line too long"),
        (b"".join(b"X-%d: y\r\n" % number for number in range(100)), b"Too many headers"),
    ],
)
def test_header_blocks_over_the_limits_are_431(base_url: str, header_block: bytes, reason: bytes) -> None:
    with connect(base_url) as sock:
        sock.sendall(b"GET /_sandbox/health HTTP/1.1\r\n" + header_block + b"\r\n")
        data = read_all(sock)
    assert data.startswith(b"HTTP/1.1 431 " + reason + b"\r\n")


def test_headers_are_read_case_insensitively_and_folded_lines_joined(base_url: str) -> None:
    raw = (
        b"GET /v1/events?limit=1 HTTP/1.1\r\nauthorization: Bearer " + API_KEY.encode() + b"\r\n"
        b"STRIPE-VERSION: 2019-01-01\r\nConnection: close\r\n\r\n"
    )
    ((status, _, body),) = exchange(base_url, raw)
    assert status == 400
    assert json.loads(body)["error"]["code"] == "api_version_invalid"


def test_an_oversized_body_is_413_and_the_connection_closed(base_url: str) -> None:
    raw = (
        f"POST /v1/checkout/sessions HTTP/1.1\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode()
        + b"GET /_sandbox/health HTTP/1.1\r\n\r\n"
    )
    answers = exchange(base_url, raw)
    assert [status for status, _, _ in answers] == [413]
    assert answers[0][2] == b"Request body too large"


def test_a_client_that_disconnects_mid_body_does_not_disturb_the_others(
    base_url: str, client: stripe.StripeClient
) -> None:
    with connect(base_url) as sock:
        sock.sendall(b"POST /v1/checkout/sessions HTTP/1.1\r\n" + AUTH + b"Content-Length: 500\r\n\r\nmode=pay")
        sock.shutdown(socket.SHUT_WR)
        leftover = read_all(sock)  # the server reads what came, answers it, and hangs up
    assert leftover == b"" or leftover.startswith(b"HTTP/1.1 ")
    with connect(base_url) as sock:
        sock.sendall(b"POST /v1/checkout/sessions HTTP/1.1\r\n" + AUTH + b"Content-Length: 500\r\n\r\nmode=pay")
    time.sleep(0.1)
    assert create_session(client).status == "open"
    assert exchange(base_url, b"GET /_sandbox/health HTTP/1.1\r\nConnection: close\r\n\r\n")[0][0] == 200


def test_expect_100_continue_gets_100_before_the_answer(base_url: str) -> None:
    raw = (
        b"POST /v1/refunds HTTP/1.1\r\n" + AUTH + b"Expect: 100-continue\r\nContent-Length: 10\r\n"
        b"Connection: close\r\n\r\n"
    )
    with connect(base_url) as sock:
        sock.sendall(raw)
        sock.sendall(b"amount=abc")
        data = read_all(sock)
    interim, _, final = data.partition(b"\r\n\r\n")
    assert interim == b"HTTP/1.1 100 Continue"
    ((status, _, body),) = responses(final)
    assert status == 400
    assert json.loads(body)["error"]["param"] == "amount"

"""The sandbox over raw sockets: keep-alive, malformed requests, limits, disconnects.

What is checked is behaviour a client sees (answers, statuses, when the connection closes), not a
particular server's words: malformed input is refused with a 4xx and never crashes the sandbox.
"""

from __future__ import annotations

import json
import re
import socket
from urllib.parse import urlsplit

import pytest
import requests
import stripe

from stripe_sandbox.server import MAX_BODY_BYTES

from .conftest import API_KEY, create_session

AUTH = f"Authorization: Bearer {API_KEY}\r\n".encode()
STATUS_LINE = re.compile(rb"HTTP/1\.1 (\d{3}) [^\r\n]*\r\n")
HEALTH = b"GET /_sandbox/health HTTP/1.1\r\nHost: x\r\n\r\n"
HEALTH_AND_CLOSE = b"GET /_sandbox/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def connect(base_url: str) -> socket.socket:
    parts = urlsplit(base_url)
    return socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=5)


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a timeout fails the test)."""
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
    """Send ``raw`` and read the answers until the server closes the connection."""
    with connect(base_url) as sock:
        sock.sendall(raw)
        return responses(read_all(sock))


def still_serving(base_url: str) -> bool:
    return exchange(base_url, HEALTH_AND_CLOSE)[0][0] == 200


def test_several_requests_on_one_connection_are_answered_in_order(base_url: str) -> None:
    raw = (
        HEALTH + b"GET /v1/events?limit=1 HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n"
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
            sock.sendall(HEALTH)
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(1)
            match = STATUS_LINE.match(head)
            assert match is not None
            assert match.group(1) == b"200"
            assert b"Connection: close" not in head
            length = int(re.search(rb"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
            body = b""
            while len(body) < length:
                body += sock.recv(length - len(body))
            assert json.loads(body)["status"] == "ok"


def test_requests_reuses_one_connection_for_many_requests(base_url: str) -> None:
    # requests (urllib3) is the SDK's HTTP stack: a kept-alive connection serves every call.
    with requests.Session() as session:
        for _ in range(5):
            answer = session.post(
                base_url + "/v1/checkout/sessions",
                data={"mode": "payment", "success_url": "http://shop.test/ok"},
                headers={"Authorization": f"Bearer {API_KEY}"},
                timeout=5,
            )
            assert answer.status_code == 400  # no line items: the answer does not matter here
        pools = session.get_adapter(base_url).poolmanager.pools
        assert [(pools[key].num_requests, pools[key].num_connections) for key in list(pools.keys())] == [(5, 1)]


def test_answers_carry_the_server_date_and_length_headers(base_url: str) -> None:
    ((status, headers, body),) = exchange(base_url, HEALTH_AND_CLOSE)
    assert status == 200
    assert headers["Server"] == "stripe-sandbox"
    assert headers["Date"].endswith(" GMT")
    assert headers["Content-Type"] == "application/json"
    assert int(headers["Content-Length"]) == len(body)


def test_answers_are_json_indented_as_stripe_indents_it(base_url: str) -> None:
    ((_, _, body),) = exchange(base_url, HEALTH_AND_CLOSE)
    assert body == json.dumps(json.loads(body), indent=2).encode()


def test_http_1_0_gets_one_answer_and_the_connection_closes(base_url: str) -> None:
    answers = exchange(base_url, b"GET /_sandbox/health HTTP/1.0\r\n\r\nGET /_sandbox/health HTTP/1.0\r\n\r\n")
    assert [status for status, _, _ in answers] == [200]


def test_head_answers_headers_with_the_length_of_the_body_it_leaves_out(base_url: str) -> None:
    raw = b"HEAD /_sandbox/health HTTP/1.1\r\nHost: x\r\n\r\n" + HEALTH_AND_CLOSE
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
        (b"POST /v1/checkout/sessions", 400),
        (b"GET / HTTP/2.0", 505),
    ],
)
def test_a_malformed_request_line_is_refused_and_the_connection_closes(
    base_url: str, request_line: bytes, status: int
) -> None:
    answers = exchange(base_url, request_line + b"\r\n\r\n" + HEALTH)
    assert [answer[0] for answer in answers] == [status]  # the request after it was not served
    assert still_serving(base_url)


@pytest.mark.parametrize(
    "header_lines",
    [
        b"not a header\r\n",  # no colon
        b"Content-Length: abc\r\n",
        b"Content-Length: -1\r\n",
    ],
)
def test_malformed_headers_are_400_not_a_crash(base_url: str, header_lines: bytes) -> None:
    raw = b"POST /v1/refunds HTTP/1.1\r\nHost: x\r\n" + AUTH + header_lines + b"\r\n" + HEALTH_AND_CLOSE
    answers = exchange(base_url, raw)
    assert answers[0][0] == 400  # what follows on that connection may be served or not
    assert still_serving(base_url)


def test_a_request_line_over_64_kib_is_414(base_url: str) -> None:
    ((status, _, _),) = exchange(base_url, b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n")
    assert status == 414
    assert still_serving(base_url)


def test_a_header_block_over_64_kib_is_refused_and_the_connection_closed(base_url: str) -> None:
    raw = b"GET /_sandbox/health HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 70_000 + b"\r\n\r\n" + HEALTH
    ((status, headers, _),) = exchange(base_url, raw)
    assert status in (413, 431)
    assert headers["Connection"] == "close"
    assert still_serving(base_url)


def test_headers_are_read_case_insensitively(base_url: str) -> None:
    raw = (
        b"GET /v1/events?limit=1 HTTP/1.1\r\nHost: x\r\nauthorization: Bearer " + API_KEY.encode() + b"\r\n"
        b"STRIPE-VERSION: 2019-01-01\r\nConnection: close\r\n\r\n"
    )
    ((status, _, body),) = exchange(base_url, raw)
    assert status == 400
    assert json.loads(body)["error"]["code"] == "api_version_invalid"


def test_an_oversized_body_is_413_and_the_connection_closed(base_url: str) -> None:
    raw = (
        f"POST /v1/checkout/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode()
        + HEALTH
    )
    answers = exchange(base_url, raw)
    assert [status for status, _, _ in answers] == [413]
    assert answers[0][1]["Connection"] == "close"
    assert answers[0][2] == b"Request body too large"


def test_an_oversized_chunked_body_is_refused(base_url: str) -> None:
    chunk = b"a" * 65_536
    raw = b"POST /v1/refunds HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Transfer-Encoding: chunked\r\n\r\n"
    with connect(base_url) as sock:
        try:
            sock.sendall(raw)
            for _ in range(MAX_BODY_BYTES // len(chunk) + 2):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
            answers = responses(read_all(sock))
        except (ConnectionResetError, BrokenPipeError):
            answers = []  # the server answered and hung up while the body still came: the answer is lost
    assert [answer[:1] + answer[2:] for answer in answers] in ([], [(413, b"Request body too large")])
    assert still_serving(base_url)


def test_a_chunked_body_is_read(base_url: str) -> None:
    raw = (
        b"POST /v1/refunds HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"6\r\namount\r\n4\r\n=abc\r\n0\r\n\r\n"
    )
    ((status, _, body),) = exchange(base_url, raw)
    assert status == 400
    assert json.loads(body)["error"]["param"] == "amount"


def test_a_client_that_disconnects_mid_body_does_not_disturb_the_others(
    base_url: str, client: stripe.StripeClient
) -> None:
    with connect(base_url) as sock:
        sock.sendall(
            b"POST /v1/checkout/sessions HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Content-Length: 500\r\n\r\nmode=pay"
        )
        sock.shutdown(socket.SHUT_WR)
        leftover = read_all(sock)  # the server reads what came and hangs up, perhaps with an answer
    assert leftover == b"" or leftover.startswith(b"HTTP/1.1 ")
    with connect(base_url) as sock:
        sock.sendall(
            b"POST /v1/checkout/sessions HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Content-Length: 500\r\n\r\nmode=pay"
        )
    assert create_session(client).status == "open"
    assert still_serving(base_url)


def test_expect_100_continue_gets_100_before_the_answer(base_url: str) -> None:
    raw = (
        b"POST /v1/refunds HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Expect: 100-continue\r\nContent-Length: 10\r\n"
        b"Connection: close\r\n\r\n"
    )
    with connect(base_url) as sock:
        sock.sendall(raw)
        interim = b""
        while b"\r\n\r\n" not in interim:
            interim += sock.recv(1)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"  # asked for the body before it was sent
        sock.sendall(b"amount=abc")
        data = read_all(sock)
    ((status, _, body),) = responses(data)
    assert status == 400
    assert json.loads(body)["error"]["param"] == "amount"

"""Request headers are read exactly as http.server (http.client + email.parser) reads them."""

from __future__ import annotations

import http.client
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stripe_sandbox.headers import MAX_HEADERS, MAX_LINE, RequestHeaders, read_header_fields


def stdlib_fields(block: bytes) -> list[tuple[str, str]]:
    return list(http.client.parse_headers(io.BytesIO(block)).items())


def ours(block: bytes) -> list[tuple[str, str]]:
    return read_header_fields(io.BytesIO(block))


# Lines that well-behaved clients send, and the odd ones the email parser has rules for.
LINE_ENDS = st.sampled_from([b"\r\n", b"\n", b"\r\n", b"\r\n"])
NAMES = st.sampled_from([b"Host", b"Content-Length", b"X-Custom", b"authorization", b"From", b"x", b""])
VALUES = st.binary(max_size=12).map(lambda raw: raw.replace(b"\n", b"").replace(b"\r", b""))
GAPS = st.sampled_from([b"", b" ", b"\t ", b"  "])
FIELD = st.builds(lambda name, gap, value: name + b":" + gap + value, NAMES, GAPS, VALUES)
ODD = st.sampled_from(
    [
        b" continued",
        b"\tcontinued: with colon",
        b"From someone",
        b"no colon here",
        b"Bad Name: space in the name",
        b": no name",
        b"X: bare\rCR",
        b"X: trailing space  ",
        b"\xe9t\xe9: latin-1",
    ]
)
LINE = st.builds(lambda body, end: body + end, st.one_of(FIELD, FIELD, ODD), LINE_ENDS)
BLOCK = st.builds(
    lambda lines, end: b"".join(lines) + end, st.lists(LINE, max_size=8), st.sampled_from([b"\r\n", b"\n", b""])
)


@settings(max_examples=500)
@given(BLOCK)
def test_fields_are_those_http_client_and_email_parser_find(block: bytes) -> None:
    assert ours(block) == stdlib_fields(block)


@pytest.mark.parametrize(
    "block",
    [
        b"Host: x\r\nAuthorization: Bearer sk_test_1\r\nContent-Length: 3\r\n\r\n",
        b"From sender\r\nHost: x\r\n\r\n",
        b"Host: x\r\nFrom sender\r\n\r\n",
        b"Host: x\r\nFrom sender\r\nX: 1\r\n\r\n",
        b" leading continuation\r\nHost: x\r\n\r\n",
        b"Folded: one\r\n two\r\n\tthree\r\nHost: x\r\n\r\n",
        b"Host: x\r\nnot a header\r\nX: lost\r\n\r\n",
        b"Host: x\r\n",
        b"Host: x\r\nX: a\rb",
        b"Host: x\r\nX: ab",
        b"X:\r\nY: \t \r\nZ:  v  \r\n\r\n",
        b"",
    ],
)
def test_odd_blocks_read_as_the_stdlib_reads_them(block: bytes) -> None:
    assert ours(block) == stdlib_fields(block)


def test_a_header_line_over_the_limit_is_refused_as_http_client_refuses_it() -> None:
    block = b"X: " + b"a" * MAX_LINE + b"\r\n\r\n"
    with pytest.raises(http.client.LineTooLong) as stdlib_error:
        stdlib_fields(block)
    with pytest.raises(http.client.LineTooLong) as our_error:
        ours(block)
    assert str(our_error.value) == str(stdlib_error.value)


@pytest.mark.parametrize(("count", "refused"), [(MAX_HEADERS - 1, False), (MAX_HEADERS, True)])
def test_the_header_count_limit_is_http_clients(count: int, refused: bool) -> None:
    block = b"".join(b"X-%d: y\r\n" % number for number in range(count)) + b"\r\n"
    if not refused:
        assert ours(block) == stdlib_fields(block)
        return
    with pytest.raises(http.client.HTTPException) as stdlib_error:
        stdlib_fields(block)
    with pytest.raises(http.client.HTTPException) as our_error:
        ours(block)
    assert str(our_error.value) == str(stdlib_error.value)


def test_reading_stops_at_the_blank_line_and_leaves_the_body() -> None:
    stream = io.BytesIO(b"Content-Length: 4\r\n\r\nbody")
    assert read_header_fields(stream) == [("Content-Length", "4")]
    assert stream.read() == b"body"


def test_lookups_match_the_message_object() -> None:
    block = b"Content-Length: 10\r\ncontent-length: 3\r\nConnection: close\r\n\r\n"
    headers = RequestHeaders(ours(block))
    message = http.client.parse_headers(io.BytesIO(block))
    assert headers.first("content-length") == message.get("Content-Length") == "10"
    assert headers.last == {key.lower(): value for key, value in message.items()}
    assert headers.first("expect") == message.get("Expect", "") == ""

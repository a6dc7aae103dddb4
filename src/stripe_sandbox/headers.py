"""HTTP request headers read as ``http.server`` reads them, without the cost of ``email.parser``.

``http.server`` hands the header block to :mod:`email`'s feed parser, which costs more CPU than
the sandbox's whole answer to a simple request. :func:`read_header_fields` reads the same lines
with the same limits (``http.client``'s 65,536 bytes a line and 100 lines, raising the same
errors) and splits them into fields as the parser's ``compat32`` policy does.
"""

from __future__ import annotations

import email.utils
import http.client
import io
import re
import time
from collections.abc import Iterable

MAX_LINE = 65536  # http.client._MAXLINE
MAX_HEADERS = 100  # http.client._MAXHEADERS

# email.feedparser.headerRE: a field, an envelope line, or a continuation. The header block ends
# at the first line that is none of them.
_HEADER_LINE = re.compile(r"^(From |[\041-\071\073-\176]*:|[\t ])")
_NAME_BYTES = bytes(range(0o41, 0o72)) + bytes(range(0o73, 0o177))  # the same, as bytes


def read_header_fields(rfile: io.BufferedIOBase) -> list[tuple[str, str]]:
    """The header fields up to the blank line, as ``(name, value)`` pairs in the order sent."""
    lines: list[bytes] = []
    while True:
        line = rfile.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        lines.append(line)
        if len(lines) > MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
        if line in (b"\r\n", b"\n", b""):
            break
    fields = _plain_fields(lines)
    if fields is not None:
        return fields
    # The parser splits at a lone CR too: universal newlines, as its StringIO(newline="") does.
    text = b"".join(lines).decode("iso-8859-1")
    return parse_header_lines(io.StringIO(text, newline="").readlines())


def _plain_fields(lines: list[bytes]) -> list[tuple[str, str]] | None:
    """The fields of a block as clients send it, or None for anything else.

    Each line before the blank one is ``Name: value`` ending in CRLF, with no other CR, and a
    name of the characters the parser allows (so no folded line, and no "From " line). For
    those its rules come down to: the value without the blanks after the colon and the CRLF.
    """
    fields = []
    for line in lines[:-1]:
        name, colon, rest = line.partition(b":")
        if not (colon and name and rest.endswith(b"\r\n")) or name.translate(None, _NAME_BYTES):
            return None
        if rest.find(b"\r") != len(rest) - 2:
            return None
        fields.append((name.decode("iso-8859-1"), rest[:-2].lstrip(b" \t").decode("iso-8859-1")))
    return fields


def parse_header_lines(lines: Iterable[str]) -> list[tuple[str, str]]:
    """Fields from header lines (with their line ends) as ``email.feedparser`` and ``compat32`` see them."""
    block: list[str] = []
    for line in lines:
        if not _HEADER_LINE.match(line):
            break
        block.append(line)
    fields: list[tuple[str, str]] = []
    current: list[str] = []  # a field's first line and its continuation lines

    def finish() -> None:
        name, value = current[0].split(":", 1)
        fields.append((name, (value.lstrip(" \t") + "".join(current[1:])).rstrip("\r\n")))
        current.clear()

    for number, line in enumerate(block):
        if line[0] in " \t":
            if current:  # a continuation before any field is dropped
                current.append(line)
            continue
        if current:
            finish()
        if line.startswith("From "):  # an envelope line: the parser keeps it out of the fields
            if number == len(block) - 1 and number:
                break
            continue
        if line.startswith(":"):  # no field name: dropped
            continue
        current.append(line)
    if current:
        finish()
    return fields


class RequestHeaders:
    """A request's fields by lower-case name: ``last`` as ``dict(message.items())`` keeps them,
    :meth:`first` as ``message.get`` finds them."""

    def __init__(self, fields: Iterable[tuple[str, str]]) -> None:
        self.last: dict[str, str] = {}
        self._first: dict[str, str] = {}
        for name, value in fields:
            lower = name.lower()
            self.last[lower] = value
            self._first.setdefault(lower, value)

    def first(self, name: str, default: str = "") -> str:
        return self._first.get(name, default)


_date_cache: tuple[int, str] = (0, "")


def http_date() -> str:
    """``BaseHTTPRequestHandler.date_time_string()``, formatted once a second."""
    global _date_cache
    now = time.time()
    second, text = _date_cache
    if int(now) != second:
        text = email.utils.formatdate(now, usegmt=True)
        _date_cache = (int(now), text)
    return text

"""HTTP range requests (RFC 9110 §14), fenced in one module: Django serves whole files only.

`parse_range` reads a `Range` header against a representation's length and says what to send: the whole
thing (no header, or one we ignore as §14.2 allows: another unit, bad syntax, several ranges), one byte
range, or nothing satisfiable (416). `RangeFile` reads just that range from an open file.
tests/web/test_ranges.py holds it to the RFC's cases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO

_SPEC = re.compile(r"^(\d*)-(\d*)$")


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


class Unsatisfiable:
    """The range asks for nothing the representation has: 416 with `Content-Range: bytes */size`."""

    def content_range(self, size: int) -> str:
        return f"bytes */{size}"


UNSATISFIABLE = Unsatisfiable()


def parse_range(header: str | None, size: int) -> ByteRange | Unsatisfiable | None:
    """What `Range: header` asks of `size` bytes: a ByteRange, UNSATISFIABLE, or None for the whole thing."""
    if not header:
        return None
    unit, sep, specs = header.strip().partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None  # another unit, or not a ranges-specifier at all: ignored (§14.2)
    parts = [part.strip() for part in specs.split(",")]
    if len(parts) != 1:
        return None  # several ranges: we may serve the whole representation instead (§14.2)
    match = _SPEC.match(parts[0])
    if not match or match.group(0) == "-":
        return None  # bad syntax: ignored
    first, last = match.groups()
    if first == "":  # suffix: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            return UNSATISFIABLE
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    if last != "" and int(last) < start:
        return None  # last-pos before first-pos: an invalid range-spec, ignored (§14.1.1)
    if start >= size:
        return UNSATISFIABLE
    end = size - 1 if last == "" else min(int(last), size - 1)
    return ByteRange(start, end)


class RangeFile:
    """The bytes of one range of an open file, read in blocks (for a streaming response); closes the file."""

    def __init__(self, handle: BinaryIO, byte_range: ByteRange) -> None:
        self._handle = handle
        self._left = byte_range.length
        handle.seek(byte_range.start)

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        want = self._left if size is None or size < 0 else min(size, self._left)
        data = self._handle.read(want)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._handle.close()

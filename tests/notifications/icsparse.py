"""A small RFC 5545 reader for the tests: unfold, split into properties, group the VEVENTs."""

from __future__ import annotations

import re


def unfold(data: bytes) -> bytes:
    return re.sub(rb"\r\n[ \t]", b"", data)


def physical_lines(data: bytes) -> list[bytes]:
    assert data.endswith(b"\r\n"), "the file ends with CRLF"
    lines = data[:-2].split(b"\r\n")
    assert not any(b"\n" in line or b"\r" in line for line in lines), "every line ends with CRLF, no bare LF or CR"
    return lines


def events(data: bytes) -> list[dict[str, str]]:
    """Every VEVENT as {property name: raw value} (values still escaped)."""
    found: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for line in unfold(data).decode("utf-8").split("\r\n"):
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            assert current is not None
            found.append(current)
            current = None
        elif current is not None and line:
            name, _, value = line.partition(":")
            current[name.split(";")[0]] = value
    return found


def unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)

"""iCalendar (RFC 5545) files for an order's course seats and studio slots.

Written by hand: a dozen properties do not need a dependency, but the rules that calendar apps
enforce are kept — CRLF line endings, lines folded at 75 octets (never inside a UTF-8 sequence),
TEXT values escaped, times in UTC `Z` form, and a UID that stays the same for a booking whatever
email carries it, so a calendar updates the event instead of adding a second one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from bookdesk.orders.models import ACTIVE_HOLD, Booking, Order, OrderLine, Reservation
from bookdesk.orders.selectors import lines_with_holds

CONTENT_TYPE = "text/calendar; method=PUBLISH; charset=utf-8"
LINE_OCTETS = 75
CRLF = "\r\n"


@dataclass(frozen=True)
class Event:
    uid: str
    starts_at: datetime
    ends_at: datetime
    summary: str
    location: str = ""
    description: str = ""
    url: str = ""


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11): backslash, semicolon and comma escaped, newlines as `\\n`."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line into chunks of at most 75 octets, continuation lines starting with a space."""
    if line.isascii():  # one octet per character: plain slices
        if len(line) <= LINE_OCTETS:
            return line
        rest = LINE_OCTETS - 1
        return (CRLF + " ").join(
            [line[:LINE_OCTETS], *(line[i : i + rest] for i in range(LINE_OCTETS, len(line), rest))]
        )
    chunks: list[str] = []
    current, size, limit = "", 0, LINE_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            chunks.append(current)
            # A continuation line's leading space counts towards its 75 octets.
            current, size, limit = "", 0, LINE_OCTETS - 1
        current += char
        size += width
    chunks.append(current)
    return (CRLF + " ").join(chunks)


def utc_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def render(events: Iterable[Event], *, now: datetime | None = None) -> bytes:
    """A VCALENDAR (METHOD:PUBLISH) with one VEVENT per event, as UTF-8 bytes with CRLF line endings."""
    stamp = utc_stamp(now or timezone.now())
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:-//bookdesk//{escape_text(settings.BOOKDESK_NAME)}//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ]
    for event in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{event.uid}",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{utc_stamp(event.starts_at)}",
            f"DTEND:{utc_stamp(event.ends_at)}",
            f"SUMMARY:{escape_text(event.summary)}",
        ]
        if event.location:
            lines.append(f"LOCATION:{escape_text(event.location)}")
        if event.description:
            lines.append(f"DESCRIPTION:{escape_text(event.description)}")
        if event.url:
            lines.append(f"URL:{event.url}")
        lines += ["STATUS:CONFIRMED", "TRANSP:OPAQUE", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines).encode("utf-8")


def _uid_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "bookdesk.invalid"


def order_events(order: Order, lines: Iterable[OrderLine] | None = None) -> list[Event]:
    """One event per course seat and studio slot the order holds or has confirmed.

    `lines` are the order's lines as `lines_with_holds` reads them, when the caller has them already.
    """
    domain = _uid_domain()
    order_url = f"{settings.SITE_URL}/orders/{order.code}"
    description = f"{settings.BOOKDESK_NAME} — order {order.code}\n{order_url}"
    events = []
    for line in lines_with_holds(order) if lines is None else lines:
        hold = line.hold
        if hold is None or hold.status not in ACTIVE_HOLD:
            continue
        if isinstance(hold, Booking):
            events.append(
                Event(
                    uid=f"booking-{hold.pk}@{domain}",
                    starts_at=hold.course.starts_at,
                    ends_at=hold.course.ends_at,
                    summary=hold.course.title,
                    location=hold.course.location,
                    description=description,
                    url=order_url,
                )
            )
        elif isinstance(hold, Reservation):
            events.append(
                Event(
                    uid=f"reservation-{hold.pk}@{domain}",
                    starts_at=hold.starts_at,
                    ends_at=hold.ends_at,
                    summary=f"{hold.service.name} — {hold.resource.name}",
                    location=f"{hold.resource.name}, {settings.BOOKDESK_NAME}",
                    description=description,
                    url=order_url,
                )
            )
    return sorted(events, key=lambda event: (event.starts_at, event.uid))


def calendar_for(order: Order, lines: Iterable[OrderLine] | None = None) -> bytes | None:
    """The order's .ics file, or None when it has no course seat or studio slot."""
    events = order_events(order, lines)
    return render(events) if events else None

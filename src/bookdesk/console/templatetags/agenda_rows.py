"""The agenda's table rows, written in Python: `{% load agenda_rows %}`.

A week's agenda lists a couple of hundred courses and up to 20 studio sessions a day; as template markup each
row cost a dozen variable lookups, filters and URL reversals (~0.3 ms a row, most of the page's time). These
write the same markup with one escape per value. tests/console/test_agenda_rows.py renders rows both ways,
this and the template markup it replaced, and holds them equal: change both together.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape  # what Django's autoescape applies to a `{{ value }}`

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from bookdesk.bookings.agenda import CourseSlot, StudioSession
from bookdesk.console.templatetags.console import id_urls

register = template.Library()

# The whitespace is the template's, so the page reads the same in a browser's source view.
_COURSE_ROW = """
      <tr{soon}>
        <td data-label="Time" class="nowrap">{hours}</td>
        <td data-label="Course"><strong>{title}</strong>{location}</td>
        <td data-label="Sold" class="num">{sold} / {capacity}</td>
        <td data-label="Held" class="num">{held}</td>
        <td data-label="Free" class="num">{free}</td>
        <td class="row-action"><a class="link-arrow" href="{roster}">Roster</a></td>
      </tr>
    """

_SESSION_ROW = """
      <tr{soon}>
        <td data-label="Time" class="nowrap">{hours}</td>
        <td data-label="Session"><strong>{service}</strong> <span class="muted small">· <a href="{calendar}?resource={resource_id}&amp;week={week}">{resource}</a></span></td>
        <td data-label="Customer">{customer}<br><span class="muted small">{email}</span></td>
        <td data-label="Status">{status}</td>
        <td data-label="Order"><a class="order-code" href="{order_url}">{order_code}</a></td>
      </tr>
    """  # noqa: E501

_SOON = ' class="is-soon"'
_FULL = '<span class="badge badge-soldout">Full</span>'
_BOOKED = '<span class="badge badge-confirmed">Booked</span>'
_HELD = '<span class="badge badge-pending">Held, unpaid</span>'


@register.simple_tag
def agenda_course_rows(courses: Iterable[CourseSlot]) -> SafeString:
    """The `<tr>`s of a day's courses."""
    roster_url = id_urls("console:roster")
    rows = [
        _COURSE_ROW.format(
            soon=_SOON if course.starting_soon else "",
            hours=escape(course.hours),
            title=escape(course.title),
            location=f'<span class="muted small"> · {escape(course.location)}</span>' if course.location else "",
            sold=course.sold,
            capacity=course.capacity,
            held=course.held,
            free=course.free or _FULL,
            roster=escape(roster_url(course.course_id)),
        )
        for course in courses
    ]
    return mark_safe("".join(rows))  # every value above is escaped, or a number


@register.simple_tag
def agenda_session_rows(sessions: Iterable[StudioSession]) -> SafeString:
    """The `<tr>`s of a day's studio sessions."""
    calendar = escape(reverse("console:calendar"))
    order_url = id_urls("admin:orders_order_change")
    rows = [
        _SESSION_ROW.format(
            soon=_SOON if session.starting_soon else "",
            hours=escape(session.hours),
            service=escape(session.service),
            calendar=calendar,
            resource_id=session.resource_id,
            week=escape(session.week),
            resource=escape(session.resource),
            customer=escape(session.customer),
            email=escape(session.email),
            status=_BOOKED if session.confirmed else _HELD,
            order_url=escape(order_url(session.order_id)),
            order_code=escape(session.order_code),
        )
        for session in sessions
    ]
    return mark_safe("".join(rows))  # every value above is escaped, or a number

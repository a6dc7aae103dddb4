"""The agenda's rows written in Python (`console/templatetags/agenda_rows.py`) against the template markup they
replaced, and `id_urls` against `reverse`: the same HTML for every kind of row, names that need escaping too."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, reverse

from bookdesk.bookings.agenda import CourseSlot, StudioSession
from bookdesk.console.templatetags.agenda_rows import agenda_course_rows, agenda_session_rows
from bookdesk.console.templatetags.console import id_urls

# The rows as the template wrote them before (tags and filters per value).
PLAIN_COURSES = Template(
    """{% load tz %}{% timezone "Europe/Berlin" %}{% for course in courses %}
      <tr{% if course.starting_soon %} class="is-soon"{% endif %}>
        <td data-label="Time" class="nowrap">{{ course.starts_at|time:"H:i" }}–{{ course.ends_at|time:"H:i" }}</td>
        <td data-label="Course"><strong>{{ course.title }}</strong>{% if course.location %}<span class="muted small"> · {{ course.location }}</span>{% endif %}</td>
        <td data-label="Sold" class="num">{{ course.sold }} / {{ course.capacity }}</td>
        <td data-label="Held" class="num">{{ course.held }}</td>
        <td data-label="Free" class="num">{% if course.free %}{{ course.free }}{% else %}<span class="badge badge-soldout">Full</span>{% endif %}</td>
        <td class="row-action"><a class="link-arrow" href="{% url 'console:roster' course.course_id %}">Roster</a></td>
      </tr>
    {% endfor %}{% endtimezone %}"""  # noqa: E501
)
PLAIN_SESSIONS = Template(
    """{% load tz console %}{% timezone "Europe/Berlin" %}{% for session in sessions %}
      <tr{% if session.starting_soon %} class="is-soon"{% endif %}>
        <td data-label="Time" class="nowrap">{{ session.starts_at|time:"H:i" }}–{{ session.ends_at|time:"H:i" }}</td>
        <td data-label="Session"><strong>{{ session.service }}</strong> <span class="muted small">· <a href="{% url 'console:calendar' %}?resource={{ session.resource_id }}&amp;week={{ session.week }}">{{ session.resource }}</a></span></td>
        <td data-label="Customer">{{ session.customer }}<br><span class="muted small">{{ session.email }}</span></td>
        <td data-label="Status">{% if session.confirmed %}<span class="badge badge-confirmed">Booked</span>{% else %}<span class="badge badge-pending">Held, unpaid</span>{% endif %}</td>
        <td data-label="Order"><a class="order-code" href="{% order_admin_url session.order_id %}">{{ session.order_code }}</a></td>
      </tr>
    {% endfor %}{% endtimezone %}"""  # noqa: E501
)

STARTS = dt.datetime(2026, 3, 28, 22, 45, tzinfo=dt.UTC)  # 23:45 in Berlin, the night the clocks go forward
NAMES = ["Mixing & mastering", '<script>alert("x")</script>', "Ölmühle's “Studio”"]


def courses() -> list[CourseSlot]:
    return [
        CourseSlot(
            course_id=course_id,
            title=title,
            starts_at=STARTS + dt.timedelta(minutes=50 * n),
            ends_at=STARTS + dt.timedelta(hours=3, minutes=7 * n),
            location=location,
            capacity=12,
            sold=sold,
            held=held,
            starting_soon=soon,
        )
        for n, (course_id, title, location, (sold, held), soon) in enumerate(
            itertools.product([1, 9_876_543], NAMES, ["", "Room <2> & co"], [(0, 0), (10, 2), (12, 0)], [False, True])
        )
    ]


def sessions() -> list[StudioSession]:
    return [
        StudioSession(
            reservation_id=n,
            starts_at=STARTS + dt.timedelta(minutes=35 * n),
            ends_at=STARTS + dt.timedelta(hours=2, minutes=35 * n),
            resource=name,
            resource_id=7 + n,
            service=name[::-1],
            customer=customer,
            email=f"{customer[:5]}@example.com",
            confirmed=confirmed,
            order_id=1000 + n,
            order_code=f"BD-{n}&<",
            starting_soon=soon,
        )
        for n, (name, customer, confirmed, soon) in enumerate(
            itertools.product(NAMES, ["Ada Lovelace", "o'neil+1@example.com"], [False, True], [False, True])
        )
    ]


def test_course_rows_are_the_template_s() -> None:
    rows = courses()
    assert agenda_course_rows(rows) == PLAIN_COURSES.render(Context({"courses": rows}))


def test_session_rows_are_the_template_s() -> None:
    rows = sessions()
    assert agenda_session_rows(rows) == PLAIN_SESSIONS.render(Context({"sessions": rows}))


@pytest.mark.parametrize("name", ["console:roster", "admin:orders_order_change", "console:event_replay"])
def test_id_urls_reverse_as_reverse_does(name: str) -> None:
    url = id_urls(name)
    for pk in (1, 42, 2**31, 987654321987 - 1):
        assert url(pk) == reverse(name, args=[pk])


def test_id_urls_with_leading_ids_reverse_as_reverse_does() -> None:
    url = id_urls("console:check_in", 7)
    for pk in (1, 42, 2**31):
        assert url(pk) == reverse("console:check_in", args=[7, pk])
    assert id_urls("console:check_in", 8)(3) == reverse("console:check_in", args=[8, 3])


def test_id_urls_refuses_a_url_without_an_id() -> None:
    with pytest.raises(NoReverseMatch):
        id_urls("console:calendar")

"""The roster's rows written in Python (`console/templatetags/roster_rows.py`) against the template markup they
replaced: the same HTML for every kind of seat (each status, checked in or not, check-in open or not), names
that need escaping, and three currencies."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.template import Context, Template
from django.utils import timezone
from django.utils.safestring import mark_safe

from bookdesk.bookings.roster import Attendee, Roster
from bookdesk.catalog.models import Course
from bookdesk.console.templatetags.roster_rows import roster_rows

# The rows as the template wrote them before (tags and filters per value).
PLAIN_ROWS = Template(
    """{% load tz bookdesk console l10n %}{% timezone "Europe/Berlin" %}{% localize off %}{% with course=roster.course %}{% for a in roster.attendees %}
    <tr id="seat-{{ a.booking_id }}" class="seat-{{ a.status }}{% if a.checked_in_at %} is-checked-in{% endif %}">
      <td data-label="Name"><strong>{{ a.name }}</strong></td>
      <td data-label="Email" class="break">{{ a.email }}</td>
      <td data-label="Seat"><span class="badge badge-{% if a.status == 'confirmed' %}confirmed{% elif a.status == 'held' %}pending{% else %}cancelled{% endif %}">{{ a.status_label }}</span></td>
      <td data-label="Order"><a class="order-code" href="{% order_admin_url a.order_id %}">{{ a.order_code }}</a> <span class="muted small">{{ a.order_status_label }}</span></td>
      <td data-label="Paid" class="num">{{ a.paid_amount|money:a.currency }}</td>
      <td data-label="Check-in" class="check-in">
        {% if a.can_check_in and roster.check_in_open %}
        <form method="post" action="{% url 'console:check_in' course.pk a.booking_id %}">{{ csrf_input }}
          {% if a.checked_in_at %}
          <input type="hidden" name="checked_in" value="0">
          <span class="checked">✓ {{ a.checked_in_at|time:"H:i" }}</span> <button class="button button-ghost button-small" type="submit" aria-label="Undo check-in of {{ a.name }}">Undo</button>
          {% else %}
          <input type="hidden" name="checked_in" value="1">
          <button class="button button-small" type="submit" aria-label="Check in {{ a.name }}">Check in</button>
          {% endif %}
        </form>
        {% elif a.checked_in_at %}<span class="checked">✓ {{ a.checked_in_at|date:"j M H:i" }}</span>
        {% else %}<span class="muted small">—</span>{% endif %}
      </td>
    </tr>
  {% endfor %}{% endwith %}{% endlocalize %}{% endtimezone %}"""  # noqa: E501
)
CSRF = mark_safe('<input type="hidden" name="csrfmiddlewaretoken" value="abc&amp;123">')
CHECKED_IN = dt.datetime(2026, 3, 29, 0, 59, tzinfo=dt.UTC)  # 01:59 in Berlin, a minute before the clocks go forward
NAMES = [("Ada Lovelace", "ada@example.com"), ('<script>"x"</script>', "o'neil+1@example.com"), ("Ölmühle", "ö@ex.de")]


def attendees(currency: str) -> list[Attendee]:
    return [
        Attendee(
            booking_id=booking_id,
            name=name,
            email=email,
            status=status,
            order_id=order_id,
            order_code=f"BD-{order_id}&<",
            order_status=order_status,
            paid_amount=paid,
            currency=currency,
            checked_in_at=checked_in_at,
        )
        for (booking_id, order_id), (name, email), status, order_status, paid, checked_in_at in itertools.product(
            [(1, 7), (2**31, 987_654_321)],
            NAMES,
            ["confirmed", "held", "cancelled"],
            ["paid", "refunded"],
            [0, 4_999],
            [None, CHECKED_IN, CHECKED_IN + dt.timedelta(days=200, minutes=7)],
        )
    ]


@pytest.mark.parametrize("check_in_open", [True, False])
@pytest.mark.parametrize("currency", ["eur", "jpy", "usd"])
def test_roster_rows_are_the_template_s(check_in_open: bool, currency: str) -> None:
    course = Course(pk=42, title="Mixing", currency=currency)
    roster = Roster(
        course=course,
        attendees=attendees(currency),
        check_in_open=check_in_open,
        confirmed=0,
        held=0,
        checked_in=0,
        paid_total=0,
        matching=0,
        page=1,
        q="",
    )
    plain = PLAIN_ROWS.render(Context({"roster": roster, "csrf_input": CSRF}))
    with timezone.override("Europe/Berlin"):  # the business's zone, as the console's middleware sets it
        written = roster_rows(roster, CSRF)
    assert written == plain
    assert ("✓ 01:59" if check_in_open else "✓ 29 Mar 01:59") in written

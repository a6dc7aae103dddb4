"""Console template helpers: `{% load console %}`."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()

# A stand-in id, to cut a reversed URL around (no URL of ours holds these digits otherwise).
_STAND_IN = 987654321987


@functools.lru_cache(maxsize=256)
def _around_id(name: str, leading: tuple[int, ...], script_prefix: str, urlconf: str) -> tuple[str, str]:
    head, found, tail = reverse(name, args=[*leading, _STAND_IN], urlconf=urlconf).partition(str(_STAND_IN))
    if not found or str(_STAND_IN) in head + tail:
        raise ValueError(f"{name} does not end in one id")
    return head, tail


def id_urls(name: str, *leading: int) -> Callable[[int], str]:
    """`reverse(name, args=[*leading, pk])` as a function of `pk`, for a URL whose last argument is an integer
    id, reversed once (not once per row: a console page lists hundreds, and `reverse` costs tens of
    microseconds each time). tests/console/test_agenda_rows.py holds it to `reverse`."""
    head, tail = _around_id(
        name, tuple(int(pk) for pk in leading), get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF
    )
    return lambda pk: f"{head}{int(pk)}{tail}"


@register.filter
def permille(value: int | None) -> str:
    """953 → "95.3%" (tenths of a percent, no floats); None → "—"."""
    if value is None or value == "":
        return "—"
    whole, tenth = divmod(int(value), 10)
    return f"{whole}.{tenth}%"


@register.filter
def span(value: dt.timedelta | None) -> str:
    """A duration as a person says it: "4 s", "3 min", "2 h 5 min", "3 d 4 h"; None → "—"."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@register.simple_tag
def order_admin_url(order_id: int | None) -> str:
    return id_urls("admin:orders_order_change")(order_id) if order_id else ""


@register.filter
def roster_url(course_id: int) -> str:
    return id_urls("console:roster")(course_id)


@register.filter
def id_url(pk: int, name: str) -> str:
    """`{{ pk|id_url:"console:order_refund" }}`: `{% url name pk %}` for a URL of one id, at a fraction of the cost."""
    return id_urls(name)(pk)

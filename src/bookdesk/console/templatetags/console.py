"""Console template helpers: `{% load console %}`."""

from __future__ import annotations

import datetime as dt

from django import template
from django.urls import reverse

register = template.Library()


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
    return reverse("admin:orders_order_change", args=[order_id]) if order_id else ""

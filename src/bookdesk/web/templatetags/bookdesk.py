"""Template helpers: `{% load bookdesk %}` then `{{ amount|money:currency }}`, `{{ course|seat_badge }}`."""

from __future__ import annotations

from typing import Any

from django import template

from bookdesk.money import format_money

register = template.Library()

FEW_SEATS = 3


@register.filter
def money(amount: int | None, currency: str = "eur") -> str:
    """Minor units → "€19.99"; an empty amount renders as empty."""
    if amount is None or amount == "":
        return ""
    return format_money(int(amount), currency or "eur")


@register.filter
def price(offer: Any) -> str:
    """An offer's price from its `price_amount` and `currency`."""
    return money(getattr(offer, "price_amount", None), getattr(offer, "currency", "eur"))


@register.simple_tag
def seat_badge(course: Any) -> dict[str, str] | None:
    """{"text", "tone"} for a course card: sold out, few seats left, or nothing."""
    seats_left = getattr(course, "seats_left", None)
    if seats_left is None:
        return None
    if seats_left <= 0:
        return {"text": "Sold out", "tone": "soldout"}
    if seats_left <= FEW_SEATS:
        return {"text": "Few seats left", "tone": "few"}
    return None


@register.filter
def duration(minutes: int | None) -> str:
    """90 → "1 h 30 min"."""
    if not minutes:
        return ""
    hours, rest = divmod(int(minutes), 60)
    parts = ([f"{hours} h"] if hours else []) + ([f"{rest} min"] if rest else [])
    return " ".join(parts)


@register.filter
def percent(basis_points: int | None) -> str:
    """1900 → "19%", 750 → "7.5%" (a tax rate in basis points, without floats)."""
    if basis_points is None or basis_points == "":
        return ""
    whole, rest = divmod(int(basis_points), 100)
    return f"{whole}%" if not rest else f"{whole}.{rest:02d}".rstrip("0") + "%"


@register.filter
def clock(seconds: int | float | None) -> str:
    """125 → "2:05" (a track's length)."""
    if seconds is None or seconds == "":
        return "0:00"
    whole = max(0, round(float(seconds)))
    return f"{whole // 60}:{whole % 60:02d}"


@register.filter
def limit(value: int | None, unit: str) -> str:
    """A licence's limit in words: None → "Unlimited streams", 0 → "No radio stations", 5000 → "5,000 streams"."""
    if value is None:
        return f"Unlimited {unit}"
    if value == 0:
        return f"No {unit}"
    return f"{value:,} {unit.removesuffix('s') if value == 1 else unit}"

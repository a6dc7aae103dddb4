"""Fixtures for the outbox tests: a real SMTP listener (aiosmtpd) and orders whose holds are confirmed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from bookdesk.catalog.selectors import business_time_zone, business_today
from bookdesk.orders.models import Booking, Grant, HoldStatus, Order, OrderStatus, Reservation
from bookdesk.orders.services import ItemRequest, order_place
from factories import OpeningHoursFactory, ResourceFactory, ServiceFactory
from smtp_listener import MailHandler, free_port

__all__ = ["MailHandler", "free_port"]


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)


def studio_slot(hour: int = 10, days_ahead: int = 3) -> tuple[Any, dt.datetime]:
    """A service bookable `days_ahead` days from now at `hour` (business time), and that slot's start."""
    day = business_today() + dt.timedelta(days=days_ahead)
    resource = ResourceFactory()
    OpeningHoursFactory(resource=resource, weekday=day.weekday(), opens_at=dt.time(9), closes_at=dt.time(18))
    service = ServiceFactory(resources=[resource])
    return service, dt.datetime.combine(day, dt.time(hour), tzinfo=business_time_zone())


def confirmed_order(*, user: Any, items: list[ItemRequest]) -> Order:
    """An order placed through the real service, then marked paid and fulfilled as fulfilment would."""
    order = order_place(user=user, items=items, now=timezone.now())
    for model in (Booking, Reservation, Grant):
        model.objects.filter(line__order=order).update(status=HoldStatus.CONFIRMED)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.CONFIRMED)
    order.refresh_from_db()
    return order

"""Fixtures for the outbox tests: a real SMTP listener (aiosmtpd) and orders whose holds are confirmed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from bookdesk.orders.models import Order
from bookdesk.orders.services import ItemRequest
from factories import confirm, place, slot, studio
from smtp_listener import MailHandler, free_port

__all__ = ["MailHandler", "free_port"]


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)


def studio_slot(hour: int = 10, days_ahead: int = 3) -> tuple[Any, dt.datetime]:
    """A service bookable `days_ahead` days from now at `hour` (business time), and that slot's start."""
    service, day = studio(days_ahead)
    return service, slot(day, hour)


def confirmed_order(*, user: Any, items: list[ItemRequest]) -> Order:
    """An order placed through the real service, then marked paid and fulfilled as fulfilment would."""
    return confirm(place(user, *items))

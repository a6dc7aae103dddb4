"""Fixtures for the outbox tests: a real SMTP listener (aiosmtpd) and orders whose holds are confirmed."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import socket
import threading
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from bookdesk.catalog.selectors import business_time_zone, business_today
from bookdesk.orders.models import Booking, Grant, HoldStatus, Order, OrderStatus, Reservation
from bookdesk.orders.services import ItemRequest, order_place
from factories import OpeningHoursFactory, ResourceFactory, ServiceFactory


class MailHandler:
    """Accepts messages, or answers `451` to the first `refuse` DATA commands (a greylisting server)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[Message] = []
        self.raw: list[bytes] = []
        self.data_commands = 0
        self.refuse = 0
        self.delay = 0.0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.data_commands += 1
            refused = self.data_commands <= self.refuse
        if self.delay:
            await asyncio.sleep(self.delay)
        if refused:
            return "451 4.7.1 Try again later"
        raw: bytes = envelope.original_content
        with self.lock:
            self.raw.append(raw)
            self.messages.append(email.message_from_bytes(raw))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[MailHandler, int]]:
    handler = MailHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[MailHandler, int], settings: Any) -> MailHandler:
    """Django's real SMTP backend pointed at the listener; returns the listener's handler."""
    handler, port = smtp_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    return handler


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

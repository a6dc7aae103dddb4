"""Emails come from the business: "Business Name <address>", configured by DEFAULT_FROM_EMAIL and BOOKDESK_NAME."""

from __future__ import annotations

import os
import subprocess
import sys
from email.utils import parseaddr
from typing import Any

import pytest

from bookdesk.notifications.services import emails_send_due, notify_order_confirmed
from bookdesk.orders.services import ItemRequest
from factories import CourseFactory, UserFactory

from .conftest import MailHandler, confirmed_order

pytestmark = pytest.mark.django_db


def sender_with_env(**variables: str) -> str:
    """DEFAULT_FROM_EMAIL as bookdesk.settings reads it in a fresh interpreter with these variables."""
    env = {k: v for k, v in os.environ.items() if k not in {"DEFAULT_FROM_EMAIL", "BOOKDESK_NAME"}}
    env.update(DJANGO_SETTINGS_MODULE="bookdesk.settings", **variables)
    code = "import bookdesk.settings as settings; print(settings.DEFAULT_FROM_EMAIL)"  # the module alone: no apps
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_a_bare_address_is_named_after_the_business() -> None:
    assert sender_with_env(DEFAULT_FROM_EMAIL="hello@studio-nord.de", BOOKDESK_NAME="Studio Nord") == (
        "Studio Nord <hello@studio-nord.de>"
    )
    # A name given with the address is kept; nothing set: the business's name at the local default.
    assert sender_with_env(DEFAULT_FROM_EMAIL="Nord Bookings <b@studio-nord.de>") == "Nord Bookings <b@studio-nord.de>"
    assert sender_with_env(BOOKDESK_NAME="Studio Nord") == "Studio Nord <bookings@localhost>"


def test_the_sender_arrives_over_smtp_with_the_business_name(mailbox: MailHandler, settings: Any) -> None:
    settings.DEFAULT_FROM_EMAIL = sender_with_env(
        DEFAULT_FROM_EMAIL="hello@studio-nord.de", BOOKDESK_NAME="Studio Nord"
    )
    order = confirmed_order(user=UserFactory(), items=[ItemRequest(kind="course", course_id=CourseFactory().pk)])
    notify_order_confirmed(order)

    assert emails_send_due() == 1

    (message,) = mailbox.messages
    assert message["From"] == "Studio Nord <hello@studio-nord.de>"
    assert parseaddr(message["From"]) == ("Studio Nord", "hello@studio-nord.de")

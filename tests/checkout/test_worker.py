"""`bookdesk worker --once`: one hold sweep and the queued tasks, then exit."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from bookdesk.orders.models import Order, OrderStatus
from factories import CourseFactory, UserFactory

# The worker closes stale connections as it polls, as a long-running process must: no test transaction here.
pytestmark = pytest.mark.django_db(transaction=True)


def test_worker_once_expires_lapsed_holds(stripe_sandbox: Any) -> None:
    client = Client()
    client.force_login(UserFactory())
    code = client.post(
        "/api/stripe/checkout", {"course_id": CourseFactory().pk}, content_type="application/json"
    ).json()["order"]["code"]
    Order.objects.update(hold_expires_at=timezone.now() - timedelta(minutes=1))

    out = StringIO()
    call_command("worker", "--once", stdout=out)

    assert "1 holds expired" in out.getvalue()
    assert Order.objects.get(code=code).status == OrderStatus.EXPIRED

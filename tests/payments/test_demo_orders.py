"""The demo's sample orders (`bookdesk demoorders`): placed from the seeded catalog and paid on the sandbox the way
a browser pays, confirmed by the sandbox's own webhooks; once per database; never against Stripe itself."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
from django.core.management import CommandError, call_command

from bookdesk.orders.models import Order, OrderStatus, Shipment
from bookdesk.payments.demo_orders import samples
from bookdesk.payments.models import Payment

from .conftest import SECRET, deliver, run_inbox, session_events

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_sandbox")]


@pytest.fixture(autouse=True)
def catalog(demo_media: Any, settings: Any) -> None:
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    call_command("seed", verbosity=0)


def test_sample_orders_are_paid_on_the_sandbox_and_confirmed_by_its_webhooks(
    stripe_client: stripe.StripeClient, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("demoorders")

    planned = samples()
    orders = list(Order.objects.filter(user__email__in=[s.email for s in planned]))
    assert len(orders) == len(planned) == 5
    for payment in Payment.objects.filter(order__in=orders):
        session = stripe_client.v1.checkout.sessions.retrieve(payment.session_id or "")
        assert (session.status, session.payment_status) == ("complete", "paid")
        for event in session_events(stripe_client, session.id):
            assert deliver(event).status_code == 200
    run_inbox()
    assert {order.status for order in Order.objects.filter(pk__in=[o.pk for o in orders])} == {OrderStatus.CONFIRMED}
    record = Shipment.objects.get(order__user__email="marie.curie@example.com")
    assert (record.status, record.city, record.country) == ("to_ship", "Berlin", "DE")
    assert "Placed and paid 5 sample orders" in capsys.readouterr().out

    call_command("demoorders")  # once per database
    assert Order.objects.count() == len(orders)
    assert "done before" in capsys.readouterr().out


def test_sample_orders_are_never_paid_on_stripe_itself(settings: Any) -> None:
    settings.STRIPE_API_BASE = "https://api.stripe.com"
    with pytest.raises(CommandError, match="sandbox only"):
        call_command("demoorders")
    assert not Order.objects.exists()

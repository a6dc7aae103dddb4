"""A lived-in demo: a few customers' orders from the seeded catalog, placed and paid the way a browser's are,
so that the console has a shop's day to show on the demo's first start.

Each order is placed (`order_place`), its Checkout Session opened on the sandbox (`checkout_start`) and paid
there with a test card through the sandbox's test helper; the sandbox's webhooks then confirm it through the
web server and the worker, as for any payment. Stripe's side is the sandbox's, kept beside the shop's database
(`bookdesk demo` gives it `--db`), so the two agree after a restart.

Demo only: refused unless the Stripe API is another than Stripe's own, and done once (nothing is placed when the
sample customers have orders already).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from bookdesk.accounts.models import User
from bookdesk.catalog.models import Course, License, Product, Service
from bookdesk.catalog.selectors import business_time_zone
from bookdesk.errors import BookdeskError
from bookdesk.orders.models import Order
from bookdesk.orders.services import ItemRequest, order_place
from bookdesk.payments import gateway
from bookdesk.payments.checkout import checkout_start

BERLIN = {"line1": "Oranienstraße 12", "postal_code": "10999", "city": "Berlin", "country": "DE"}


class NotTheSandbox(BookdeskError):
    """The demo's orders are paid with the sandbox's test helper: never against Stripe itself."""


@dataclass(frozen=True)
class Sample:
    email: str
    first_name: str
    last_name: str
    items: list[ItemRequest]
    ships: bool = False  # goods among the items: paid with an address on the payment page


def _course(slug: str) -> ItemRequest:
    return ItemRequest(kind="course", course_id=Course.objects.get(slug=slug).pk)


def _license(slug: str, tier: str) -> ItemRequest:
    beat = Product.objects.get(slug=slug)
    return ItemRequest(kind="product", product_id=beat.pk, license_id=beat.licenses.get(tier=tier).pk)


def _studio_tomorrow() -> ItemRequest | None:
    """The first studio service's first hour on the next day one of its rooms opens (from tomorrow on)."""
    service = Service.objects.filter(published=True).order_by("pk").first()
    if service is None:
        return None
    zone = business_time_zone()
    today = timezone.now().astimezone(zone).date()
    for ahead in range(1, 8):
        day = today + dt.timedelta(days=ahead)
        for resource in service.resources.order_by("pk"):
            hours = resource.opening_hours.filter(weekday=day.weekday()).order_by("opens_at").first()
            if hours is not None:
                starts = dt.datetime.combine(day, hours.opens_at, tzinfo=zone).astimezone(dt.UTC)
                return ItemRequest(kind="service", service_id=service.pk, starts_at=starts)
    return None


def samples() -> list[Sample]:
    """Who bought what: seats of the course this week (one with a beat), studio time tomorrow, a record to ship."""
    first = "mixing-fundamentals"
    beat = _license("midnight-drive", License.Tier.PREMIUM)
    found = [
        Sample("ada.lovelace@example.com", "Ada", "Lovelace", [_course(first), beat]),
        Sample("grace.hopper@example.com", "Grace", "Hopper", [_course(first)]),
        Sample("alan.turing@example.com", "Alan", "Turing", [_course(first), _course("vocal-production-masterclass")]),
        Sample("marie.curie@example.com", "Marie", "Curie", [ItemRequest(
            kind="product", product_id=Product.objects.get(slug="vinyl-night-sessions-lp").pk, quantity=2
        )], ships=True),
    ]  # fmt: skip
    slot = _studio_tomorrow()
    if slot is not None:
        found.append(Sample("nina.simone@example.com", "Nina", "Simone", [slot]))
    return found


def demo_orders_place(*, say: Callable[[str], Any] = print) -> int:
    """Place and pay the samples' orders (see the module); how many were placed (0 when done before)."""
    base = str(settings.STRIPE_API_BASE or "")
    if not base or "stripe.com" in base:
        raise NotTheSandbox("The demo's orders are paid on the Stripe sandbox only (STRIPE_API_BASE).")
    planned = samples()
    if Order.objects.filter(user__email__in=[sample.email for sample in planned]).exists():
        return 0
    for sample in planned:
        user = User.objects.filter(email=sample.email).first() or User.objects.create_user(
            email=sample.email,
            first_name=sample.first_name,
            last_name=sample.last_name,  # no password: no sign-in
        )
        order = order_place(user=user, items=sample.items)
        payment = checkout_start(order=order, actor=f"user:{user.pk}")
        paid: dict[str, Any] = {"payment_method": "pm_card_visa"}
        if sample.ships:
            paid["shipping_details"] = {"name": f"{sample.first_name} {sample.last_name}", "address": BERLIN}
        gateway.client().raw_request("post", f"/v1/test_helpers/checkout/sessions/{payment.session_id}/pay", **paid)
        say(f"  {order.code} paid by {user.email}")
    return len(planned)

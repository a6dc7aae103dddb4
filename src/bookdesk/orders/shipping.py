"""Shipping goods: what an order's parcel costs to each zone (the options offered on the payment page),
and the shipment's life once paid — recorded from Checkout, shipped with a tracking number, delivered.

Rates live in the admin (`catalog.ShippingZone` and its `ShippingRate` weight bands); the countries goods
ship to are `settings.SHIPPING_COUNTRIES`. Stripe Checkout's shipping options do not depend on the address,
so each zone is one option ("Standard — Germany"); fulfilment checks that the address is in the chosen
option's zone (otherwise the order goes to review) and settles the order's total on the option chosen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from bookdesk.catalog.models import ShippingRate, ShippingZone
from bookdesk.errors import Conflict, InvalidInput, NotFound
from bookdesk.orders import events
from bookdesk.orders.audit import audit
from bookdesk.orders.models import Order, OrderLine, OrderStatus, Shipment, ShipmentStatus
from bookdesk.orders.pricing import PricedLine

# Stripe takes at most 5 shipping options per Checkout Session.
MAX_OPTIONS = 5
# Orders whose goods may leave the shop: paid and not (wholly) refunded.
SHIPPABLE_ORDERS = frozenset({OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_REFUNDED})
_TRACKING_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 \-]{2,60}$")


class NotShippable(Conflict):
    code = "not_shippable"
    title = "Cannot ship this order"


class ShipmentRefused(Conflict):
    code = "shipment_refused"
    title = "This shipment cannot change that way"


@dataclass(frozen=True)
class Band:
    """One weight band of a zone's service, as the quote reads it."""

    rate_id: int
    name: str
    max_weight_grams: int
    amount: int
    min_days: int | None = None
    max_days: int | None = None


@dataclass(frozen=True)
class Zone:
    zone_id: int
    name: str
    countries: tuple[str, ...]
    currency: str
    free_shipping_over: int | None
    bands: tuple[Band, ...]


@dataclass(frozen=True)
class ShippingOption:
    """One option on the payment page: a zone's service at its price for this parcel."""

    rate_id: int
    zone: str
    display_name: str
    amount: int
    currency: str
    countries: tuple[str, ...]
    min_days: int | None = None
    max_days: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "countries": list(self.countries)}

    @staticmethod
    def from_json(data: dict[str, Any]) -> ShippingOption:
        return ShippingOption(**{**data, "countries": tuple(data.get("countries") or ())})


@dataclass(frozen=True)
class Quote:
    ships: bool
    weight_grams: int
    goods_amount: int
    options: tuple[ShippingOption, ...] = field(default=())

    @property
    def cheapest(self) -> int:
        return min((option.amount for option in self.options), default=0)

    @property
    def countries(self) -> list[str]:
        """The countries the options cover, in `SHIPPING_COUNTRIES` order (Checkout's allowed countries)."""
        covered = {country for option in self.options for country in option.countries}
        return [country for country in settings.SHIPPING_COUNTRIES if country in covered]


def options_for(
    zones: Iterable[Zone], *, weight_grams: int, goods_amount: int, currency: str, allowed: Iterable[str]
) -> tuple[ShippingOption, ...]:
    """The options for a parcel of this weight and goods value, a pure function of the rates.

    Per zone (in its order) and service, the band with the smallest maximum weight that carries the parcel;
    a zone whose free-shipping threshold the goods reach ships free with its cheapest service. Zones in
    another currency, without a country the shop ships to or without a band for the weight are left out;
    at most `MAX_OPTIONS` options.
    """
    allowed_set = {code.upper() for code in allowed}
    options: list[ShippingOption] = []
    for zone in zones:
        countries = tuple(code for code in zone.countries if code in allowed_set)
        if zone.currency != currency or not countries:
            continue
        best: dict[str, Band] = {}
        for band in sorted(zone.bands, key=lambda b: (b.max_weight_grams, b.amount, b.rate_id)):
            if band.max_weight_grams >= weight_grams and band.name not in best:
                best[band.name] = band
        services = sorted(best.values(), key=lambda b: (b.amount, b.name))
        for index, band in enumerate(services):
            free = index == 0 and zone.free_shipping_over is not None and goods_amount >= zone.free_shipping_over
            name = f"Free {band.name.lower()} shipping" if free else band.name
            options.append(
                ShippingOption(
                    rate_id=band.rate_id,
                    zone=zone.name,
                    display_name=f"{name} — {zone.name}"[:100],
                    amount=0 if free else band.amount,
                    currency=currency,
                    countries=countries,
                    min_days=band.min_days,
                    max_days=band.max_days,
                )
            )
    return tuple(options[:MAX_OPTIONS])


def zones_configured() -> list[Zone]:
    """The active zones with their active bands, as the admin has them (two queries)."""
    rates = ShippingRate.objects.filter(active=True)
    return [
        Zone(
            zone_id=zone.pk,
            name=zone.name,
            countries=tuple(zone.country_list),
            currency=zone.currency,
            free_shipping_over=zone.free_shipping_over,
            bands=tuple(
                Band(rate.pk, rate.name, rate.max_weight_grams, rate.amount, rate.min_days, rate.max_days)
                for rate in zone.rates.all()
            ),
        )
        for zone in ShippingZone.objects.filter(active=True).prefetch_related(Prefetch("rates", queryset=rates))
    ]


def shipping_quote(*, lines: Sequence[PricedLine], currency: str) -> Quote:
    """The shipping options for these lines: none (and no query) when nothing ships."""
    goods = [line for line in lines if line.ships]
    if not goods:
        return Quote(ships=False, weight_grams=0, goods_amount=0)
    weight = sum(line.weight_grams for line in goods)
    amount = sum(line.total for line in goods)
    options = options_for(
        zones_configured(),
        weight_grams=weight,
        goods_amount=amount,
        currency=currency.lower(),
        allowed=settings.SHIPPING_COUNTRIES,
    )
    return Quote(ships=True, weight_grams=weight, goods_amount=amount, options=options)


def order_quote(order: Order, lines: Iterable[Any]) -> Quote:
    """The quote for an order's lines as placed (each goods line's product weighs what it weighs now)."""
    priced = [
        PricedLine(
            line.description,
            line.unit_amount,
            line.quantity,
            ships=line.product is not None and line.product.ships,
            weight_grams=((line.product.weight_grams or 0) * line.quantity) if line.product is not None else 0,
        )
        for line in lines
    ]
    return shipping_quote(lines=priced, currency=order.currency)


# --- the shipment's life ------------------------------------------------------------------------------

ADDRESS_FIELDS = ("line1", "line2", "postal_code", "city", "state", "country")


def shipment_record(
    *, order: Order, name: str, address: dict[str, Any], option: ShippingOption, stripe_rate: str, actor: str
) -> Shipment:
    """Store where the order's goods go, from the completed Checkout Session (once: a repeat changes nothing)."""
    existing = Shipment.objects.filter(order=order).first()
    if existing is not None:
        return existing
    values = {key: str(address.get(key) or "")[:200] for key in ADDRESS_FIELDS}
    shipment = Shipment.objects.create(
        order=order,
        name=name[:200],
        line1=values["line1"],
        line2=values["line2"],
        postal_code=values["postal_code"][:20],
        city=values["city"][:100],
        state=values["state"][:100],
        country=values["country"][:2].upper(),
        rate_name=option.display_name[:120],
        rate_amount=option.amount,
        currency=option.currency,
        stripe_shipping_rate=stripe_rate[:255],
    )
    audit(
        actor=actor,
        action="shipment.recorded",
        obj=shipment,
        order=order,
        data={"country": shipment.country, "rate": shipment.rate_name, "amount": shipment.rate_amount},
    )
    return shipment


def tracking_url(carrier: str, tracking_number: str) -> str:
    _, template = settings.SHIPPING_CARRIERS[carrier]
    return str(template).replace("{number}", quote(tracking_number.replace(" ", ""), safe=""))


def carrier_choices() -> list[tuple[str, str]]:
    return [(key, label) for key, (label, _) in settings.SHIPPING_CARRIERS.items()]


def _locked(shipment_id: int) -> Shipment:
    shipment = Shipment.objects.select_for_update().select_related("order").filter(pk=shipment_id).first()
    if shipment is None:
        raise NotFound("No such shipment.")
    return shipment


@transaction.atomic
def shipment_mark_shipped(*, shipment_id: int, carrier: str, tracking_number: str, actor: str) -> Shipment:
    """The parcel left: carrier and tracking number recorded, the customer emailed the tracking link. An unknown
    shipment is NotFound whatever was given for it."""
    shipment = _locked(shipment_id)
    number = " ".join(tracking_number.split())
    errors = []
    if carrier not in settings.SHIPPING_CARRIERS:
        errors.append({"field": "carrier", "in": "body", "message": "unknown carrier"})
    if not _TRACKING_NUMBER.match(number):
        errors.append({"field": "tracking_number", "in": "body", "message": "3–61 letters, digits, spaces or dashes"})
    if errors:
        raise InvalidInput("Give a known carrier and the parcel's tracking number.", errors=errors)
    if shipment.status != ShipmentStatus.TO_SHIP:
        raise ShipmentRefused(
            f"The shipment of {shipment.order.code} is already {shipment.get_status_display().lower()}."
        )
    if shipment.order.status not in SHIPPABLE_ORDERS:
        raise ShipmentRefused(
            f"Order {shipment.order.code} is {shipment.order.get_status_display().lower()}: "
            "only a confirmed order ships."
        )
    shipment.status = ShipmentStatus.SHIPPED
    shipment.carrier = carrier
    shipment.tracking_number = number
    shipment.tracking_url = tracking_url(carrier, number)
    shipment.shipped_at = timezone.now()
    shipment.save(update_fields=["status", "carrier", "tracking_number", "tracking_url", "shipped_at"])
    audit(
        actor=actor,
        action="shipment.shipped",
        obj=shipment,
        order=shipment.order,
        data={"carrier": carrier, "tracking_number": number},
    )
    events.tell_shipment_shipped(shipment)
    return shipment


@transaction.atomic
def shipment_mark_delivered(*, shipment_id: int, actor: str) -> Shipment:
    shipment = _locked(shipment_id)
    if shipment.status != ShipmentStatus.SHIPPED:
        raise ShipmentRefused(
            f"The shipment of {shipment.order.code} is {shipment.get_status_display().lower()}: "
            "only a shipped parcel can be delivered."
        )
    shipment.status = ShipmentStatus.DELIVERED
    shipment.delivered_at = timezone.now()
    shipment.save(update_fields=["status", "delivered_at"])
    audit(actor=actor, action="shipment.delivered", obj=shipment, order=shipment.order, data={})
    return shipment


def shipment_cancel_unshipped(*, order: Order, actor: str) -> bool:
    """The order's shipment is cancelled when no goods are left to send (every goods line cancelled before
    shipping): it leaves the list of orders to ship. Whether it was; the caller holds the order's lock."""
    if OrderLine.objects.filter(
        order=order, kind=OrderLine.Kind.PRODUCT, license__isnull=True, status=OrderLine.Status.ACTIVE
    ).exists():
        return False
    cancelled = Shipment.objects.filter(order=order, status=ShipmentStatus.TO_SHIP).update(
        status=ShipmentStatus.CANCELLED
    )
    if cancelled:
        audit(actor=actor, action="shipment.cancelled", obj=order.shipment, order=order, data={})
    return bool(cancelled)

"""Shipping options: per zone and service the band that carries the parcel, free over the zone's threshold,
only the shop's countries, at most five; and the zones as the operator edits them in the admin."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from bookdesk.catalog.models import ShippingRate, ShippingZone
from bookdesk.orders.pricing import PricedLine
from bookdesk.orders.shipping import MAX_OPTIONS, Band, Zone, options_for, shipping_quote
from factories import StaffUserFactory

HOME = Zone(
    1, "Home", ("DE",), "eur", 6000,
    (Band(1, "Standard", 1000, 490), Band(2, "Standard", 5000, 690), Band(3, "Express", 2000, 1490)),
)  # fmt: skip
ABROAD = Zone(2, "Abroad", ("FR", "XX"), "eur", None, (Band(4, "Standard", 1000, 990),))


def test_each_zone_offers_the_smallest_band_that_carries_the_parcel_per_service() -> None:
    light = options_for([HOME, ABROAD], weight_grams=640, goods_amount=2800, currency="eur", allowed=["DE", "FR"])
    assert [(o.display_name, o.amount, o.countries) for o in light] == [
        ("Standard — Home", 490, ("DE",)),
        ("Express — Home", 1490, ("DE",)),
        ("Standard — Abroad", 990, ("FR",)),  # XX is not a country the shop ships to
    ]
    heavy = options_for([HOME, ABROAD], weight_grams=2500, goods_amount=2800, currency="eur", allowed=["DE", "FR"])
    assert [(o.display_name, o.amount) for o in heavy] == [("Standard — Home", 690)]  # no band abroad, no express


def test_the_threshold_makes_the_cheapest_service_free_and_only_it() -> None:
    options = options_for([HOME], weight_grams=300, goods_amount=6000, currency="eur", allowed=["DE"])
    assert [(o.display_name, o.amount) for o in options] == [
        ("Free standard shipping — Home", 0),
        ("Express — Home", 1490),
    ]


def test_zones_in_another_currency_or_without_allowed_countries_are_left_out() -> None:
    assert options_for([HOME], weight_grams=1, goods_amount=1, currency="usd", allowed=["DE"]) == ()
    assert options_for([HOME], weight_grams=1, goods_amount=1, currency="eur", allowed=["FR"]) == ()


@settings(deadline=None)  # a pure function: a busy machine must not fail it
@given(
    weight=st.integers(0, 40_000),
    goods=st.integers(0, 20_000),
    threshold=st.one_of(st.none(), st.integers(0, 20_000)),
    zones=st.integers(1, 8),
)
def test_options_are_few_carry_the_weight_and_are_free_only_over_the_threshold(
    weight: int, goods: int, threshold: int | None, zones: int
) -> None:
    many = [
        Zone(i, f"Z{i}", (f"C{i}",), "eur", threshold, (Band(i * 10, "Standard", 1000 * (i + 1), 100 * (i + 1)),))
        for i in range(zones)
    ]
    options = options_for(
        many, weight_grams=weight, goods_amount=goods, currency="eur", allowed=[f"C{i}" for i in range(8)]
    )
    assert len(options) <= MAX_OPTIONS
    for option in options:
        zone = next(z for z in many if z.name == option.zone)
        assert zone.bands[0].max_weight_grams >= weight
        free = threshold is not None and goods >= threshold
        assert option.amount == (0 if free else zone.bands[0].amount)


@pytest.mark.django_db
def test_the_seeded_zones_price_a_record_and_nothing_ships_for_digital_goods() -> None:
    quote = shipping_quote(lines=[PricedLine("LP", 2800, 1, ships=True, weight_grams=320)], currency="eur")
    assert quote.ships
    assert quote.cheapest == 490
    assert {"DE", "FR", "US"} <= set(quote.countries)
    digital = shipping_quote(lines=[PricedLine("Beat", 2999, 1)], currency="eur")
    assert (digital.ships, digital.options, digital.cheapest) == (False, (), 0)


@pytest.mark.django_db
def test_the_admin_refuses_unknown_countries_and_negative_amounts() -> None:
    staff = Client()
    staff.force_login(StaffUserFactory())
    form = {
        "name": "Moon", "countries": "DE, XX", "currency": "eur", "position": "5", "active": "on",
        "rates-TOTAL_FORMS": "1", "rates-INITIAL_FORMS": "0", "rates-MIN_NUM_FORMS": "0", "rates-MAX_NUM_FORMS": "1000",
        "rates-0-name": "Standard", "rates-0-max_weight_grams": "1000", "rates-0-amount": "-5", "rates-0-active": "on",
    }  # fmt: skip

    page = staff.post("/admin/catalog/shippingzone/add/", form).content.decode()

    assert "SHIPPING_COUNTRIES" in page
    assert "XX" in page
    assert "Enter an amount of zero or more." in page  # typed in euros, as money
    assert not ShippingZone.objects.filter(name="Moon").exists()
    assert (
        staff.post(
            "/admin/catalog/shippingzone/add/", {**form, "countries": "de, fr", "rates-0-amount": "5.00"}
        ).status_code
        == 302
    )
    moon = ShippingZone.objects.get(name="Moon")
    assert (moon.countries, ShippingRate.objects.get(zone=moon).amount) == ("DE,FR", 500)
    assert staff.get("/admin/catalog/shippingzone/").status_code == 200

"""The shipping zones a new shop starts with (the operator adjusts them in the admin): Germany, the EU and a
few countries further away, each priced by weight band. Migration catalog 0003 seeds the same rows."""

from __future__ import annotations

from django.db import transaction

from bookdesk.catalog.models import ShippingRate, ShippingZone

# (zone, countries, free shipping from (minor units), [(max grams, amount, min days, max days)]).
DEFAULT_ZONES: list[tuple[str, str, int | None, list[tuple[int, int, int, int]]]] = [
    ("Germany", "DE", 6000, [(1000, 490, 1, 3), (5000, 690, 1, 3), (31500, 1690, 2, 4)]),
    (
        "European Union",
        "AT,BE,NL,LU,FR,IT,ES,PT,IE,DK,SE,FI,PL,CZ",
        None,
        [(1000, 990, 3, 7), (5000, 1790, 3, 7), (31500, 3490, 4, 8)],
    ),
    ("Worldwide", "GB,CH,NO,US,CA,AU,JP", None, [(1000, 1490, 5, 14), (5000, 3990, 5, 14)]),
]


@transaction.atomic
def zones_ensure_defaults() -> int:
    """Create the default zones when there are none at all (a new shop); returns how many were created."""
    if ShippingZone.objects.exists():
        return 0
    for position, (name, countries, free_over, bands) in enumerate(DEFAULT_ZONES):
        zone = ShippingZone.objects.create(
            name=name, countries=countries, currency="eur", free_shipping_over=free_over, position=position
        )
        ShippingRate.objects.bulk_create(
            ShippingRate(
                zone=zone, name="Standard", max_weight_grams=weight, amount=amount, min_days=low, max_days=high
            )
            for weight, amount, low, high in bands
        )
    return len(DEFAULT_ZONES)

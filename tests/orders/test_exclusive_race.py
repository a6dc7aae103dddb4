"""The exclusive licence against leases (marketplace convention): an exclusive may be bought while leases exist
(their holders keep them), and once it is held or sold no new licence of the beat is sold. A lease and an
exclusive racing end one consistent way: the lease before the exclusive, or refused after it.

First the race itself: without the product's row lock, a lease checked while an exclusive is being placed is
approved (it cannot see the uncommitted exclusive). Then the same with the lock, and a crowd.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django.utils import timezone

from bookdesk.accounts.models import User
from bookdesk.errors import SoldOut
from bookdesk.orders.availability import license_available, product_get
from bookdesk.orders.models import ACTIVE_HOLD, Grant
from bookdesk.orders.services import ItemRequest, order_place, plan_items
from factories import BeatFactory, UserFactory
from parallel import at_once

pytestmark = pytest.mark.django_db(transaction=True)

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks and concurrent writers: PostgreSQL (SQLite serialises)"
)


def _item(beat, tier: str) -> ItemRequest:  # type: ignore[no-untyped-def]
    return ItemRequest(kind="product", product_id=beat.pk, license_id=beat.licenses.get(tier=tier).pk)


def test_an_exclusive_can_be_bought_while_leases_exist_and_then_the_beat_is_off_sale():
    beat = BeatFactory()
    lease = order_place(user=UserFactory(), items=[_item(beat, "basic")])
    order_place(user=UserFactory(), items=[_item(beat, "exclusive")])

    with pytest.raises(SoldOut):
        order_place(user=UserFactory(), items=[_item(beat, "premium")])
    with pytest.raises(SoldOut):
        order_place(user=UserFactory(), items=[_item(beat, "exclusive")])
    assert Grant.objects.get(line__order=lease).status in ACTIVE_HOLD  # the lease holder keeps it
    shown = product_get(product_id=beat.pk)
    assert not any(license_available(shown, lic) for lic in shown.licenses.all())


def _lease_checked_while_an_exclusive_is_placed(beat, *, lock: bool) -> str:  # type: ignore[no-untyped-def]
    """Place the exclusive and hold its transaction open while another buyer's lease is checked."""
    exclusive_buyer, lease_buyer = UserFactory(), UserFactory()
    placed, release = threading.Event(), threading.Event()

    def place_exclusive() -> None:
        try:
            with transaction.atomic():
                order_place(user=exclusive_buyer, items=[_item(beat, "exclusive")])
                placed.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    def check_lease(buyer: User) -> str:
        placed.wait(timeout=30)
        try:
            with transaction.atomic():
                plan_items(user=buyer, items=[_item(beat, "basic")], now=timezone.now(), lock=lock)
            return "approved"
        except SoldOut:
            return "sold_out"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        exclusive = pool.submit(place_exclusive)
        lease = pool.submit(check_lease, lease_buyer)
        if not lock:
            outcome = lease.result(timeout=30)  # decided while the exclusive is still uncommitted
            release.set()
        else:
            with pytest.raises(TimeoutError):
                lease.result(timeout=1)  # waits on the product's row lock…
            release.set()
            outcome = lease.result(timeout=30)  # …and decides once the exclusive has committed
        exclusive.result(timeout=30)
    return outcome


@on_postgresql
def test_without_the_lock_a_lease_slips_in_after_the_exclusive():
    assert _lease_checked_while_an_exclusive_is_placed(BeatFactory(), lock=False) == "approved"


@on_postgresql
def test_with_the_lock_the_lease_waits_and_is_refused():
    assert _lease_checked_while_an_exclusive_is_placed(BeatFactory(), lock=True) == "sold_out"


@on_postgresql
def test_a_crowd_of_leases_and_exclusives_ends_consistently():
    beat = BeatFactory()
    buyers = [UserFactory() for _ in range(12)]
    tiers = iter(["exclusive", "basic", "premium", "exclusive"] * 3)
    plan = list(zip(buyers, tiers, strict=True))
    turn = iter(range(len(plan)))
    pick = threading.Lock()

    def buy() -> str:
        with pick:
            buyer, tier = plan[next(turn)]
        try:
            order_place(user=buyer, items=[_item(beat, tier)])
            return tier
        except SoldOut:
            return "sold_out"

    outcomes = at_once(len(plan), buy)

    grants = list(Grant.objects.filter(product=beat, status__in=ACTIVE_HOLD).order_by("pk"))
    exclusives = [grant for grant in grants if grant.exclusive]
    assert len(exclusives) == 1  # exactly one exclusive: someone always gets it in a crowd of twelve
    assert outcomes.count("exclusive") == 1
    # Every lease granted was placed before the exclusive; none after it.
    assert all(grant.pk < exclusives[0].pk for grant in grants if not grant.exclusive)
    assert outcomes.count("sold_out") == len(plan) - len(grants)

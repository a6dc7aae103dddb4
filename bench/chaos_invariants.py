"""What must hold after a chaos run, read from bookdesk's database (through Django, so on any database) and
from Stripe's side (the sandbox, through the SDK). Each invariant is a name, whether it held, and the
figures that say so."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import stripe

from benchkit import run_script

# Run in the app's environment: bookdesk's side of every invariant, as JSON.
BOOKDESK_SIDE = r"""
from collections import Counter
from django.db.models import Count, Q, Sum
from bookdesk.catalog.models import Course, Product
from bookdesk.notifications.models import OutgoingEmail
from bookdesk.orders.models import AuditEntry, Booking, Grant, Order
from bookdesk.payments.models import Payment, WebhookEvent

live = Q(status__in=["held", "confirmed"])
oversold = [
    c.pk for c in Course.objects.annotate(n=Count("bookings", filter=Q(bookings__status__in=["held", "confirmed"])))
    if c.n > c.capacity
]
exclusives = Counter(Grant.objects.filter(live, exclusive=True).values_list("product_id", flat=True))
leases_after = 0
for product_id, n in exclusives.items():
    sold_at = Grant.objects.filter(live, exclusive=True, product_id=product_id).values_list("created_at", flat=True)
    later = Grant.objects.filter(live, exclusive=False, product_id=product_id, created_at__gt=max(sold_at))
    leases_after += later.count()
confirmations = Counter(AuditEntry.objects.filter(action="order.confirmed").values_list("order__code", flat=True))
emails = Counter(
    OutgoingEmail.objects.filter(key__endswith=":confirmation").values_list("key", flat=True)
)
confirmed = list(Order.objects.filter(status__in=["confirmed", "partially_refunded"]).values_list("code", flat=True))
orders = {
    code: {"status": status, "total": total, "refunded": refunded}
    for code, status, total, refunded in Order.objects.values_list("code", "status", "total_amount", "amount_refunded")
}
payments = {
    p.session_id: {
        "order": p.order.code, "status": p.status, "received": p.amount_received, "refunded": p.amount_refunded
    }
    for p in Payment.objects.select_related("order").exclude(session_id=None)
}
print(json.dumps({
    "oversold_courses": oversold,
    "exclusives_per_beat_max": max(exclusives.values(), default=0),
    "leases_after_exclusive": leases_after,
    "confirmed_twice": [c for c, n in confirmations.items() if n > 1],
    "emails_twice": [k for k, n in emails.items() if n > 1],
    "confirmed_without_email": [c for c in confirmed if emails[f"order:{c}:confirmation"] == 0],
    "events": dict(Counter(WebhookEvent.objects.values_list("status", flat=True))),
    "orders": orders,
    "payments": payments,
}))
"""


@dataclass
class Invariant:
    name: str
    held: bool
    figures: str


def _stripe_list(resource: Any) -> list[Any]:
    return list(resource.list(params={"limit": 100}).auto_paging_iter())


def check(env: dict[str, str], client: stripe.StripeClient, *, server_errors: list[str]) -> list[Invariant]:
    ours = json.loads(run_script(BOOKDESK_SIDE, [], env, "reading bookdesk's side", timeout=600).splitlines()[-1])
    sessions = _stripe_list(client.v1.checkout.sessions)
    charges = _stripe_list(client.v1.charges)
    refunds = _stripe_list(client.v1.refunds)
    payments, orders = ours["payments"], ours["orders"]

    paid = [s for s in sessions if s.payment_status == "paid"]
    unsettled = []
    for session in paid:
        mine = payments.get(session.id)
        order = orders.get(mine["order"]) if mine else None
        kept = order and order["status"] in ("confirmed", "partially_refunded", "refunded")
        given_back = mine and mine["status"] in ("refunded", "refunding")
        if not (kept or given_back):
            unsettled.append(f"{session.id}: {mine and mine['status']} / {order and order['status']}")

    taken = sum(c.amount for c in charges if c.status == "succeeded")
    returned = sum(r.amount for r in refunds if r.status in ("succeeded", "pending"))
    kept_by_us = sum(p["received"] - p["refunded"] for p in payments.values())
    owed = sum(
        o["total"] - o["refunded"] for o in orders.values() if o["status"] in ("confirmed", "partially_refunded")
    )
    events = ours["events"]
    bad_events = {k: v for k, v in events.items() if k in ("failed", "dead")}
    return [
        Invariant("paid → confirmed or refunded", not unsettled, f"{len(paid)} paid sessions, {len(unsettled)} not"),
        Invariant("no oversold course", not ours["oversold_courses"], f"oversold: {ours['oversold_courses']}"),
        Invariant(
            "one exclusive per beat, no lease after it",
            ours["exclusives_per_beat_max"] <= 1 and ours["leases_after_exclusive"] == 0,
            f"most exclusives on one beat {ours['exclusives_per_beat_max']}, "
            f"leases sold after one {ours['leases_after_exclusive']}",
        ),
        Invariant(
            "one confirmation and one email per confirmed order",
            not (ours["confirmed_twice"] or ours["emails_twice"] or ours["confirmed_without_email"]),
            f"confirmed twice {len(ours['confirmed_twice'])}, emailed twice {len(ours['emails_twice'])}, "
            f"without email {len(ours['confirmed_without_email'])}",
        ),
        Invariant("no dead or failed webhook event", not bad_events, f"events by status: {events}"),
        Invariant(
            "no 5xx",
            not server_errors,
            f"{len(server_errors)} 5xx" + (f": {server_errors[0]}" if server_errors else ""),
        ),
        Invariant(
            "money equal to the cent",
            taken - returned == kept_by_us == owed,
            f"Stripe kept {taken - returned} (charged {taken}, refunded {returned}); "
            f"bookdesk's payments kept {kept_by_us}; confirmed orders owe {owed}",
        ),
    ]

"""`bookdesk webhooks list [--status dead]`, `bookdesk webhooks replay ID`, `bookdesk webhooks replay --dead`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from bookdesk.payments.models import WebhookEvent
from bookdesk.payments.webhooks import replay


class Command(BaseCommand):
    help = "List stored Stripe webhook events, or replay one (or every dead one)."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="The latest events.")
        listing.add_argument("--status", choices=[s.value for s in WebhookEvent.Status])
        listing.add_argument("--limit", type=int, default=50)
        again = sub.add_parser("replay", help="Process an event again now (a dead one included).")
        again.add_argument("event", nargs="?", help="Our row id or the Stripe event id (evt_…).")
        again.add_argument("--dead", action="store_true", help="Replay every dead event.")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "list":
            self._list(options.get("status"), options["limit"])
        else:
            self._replay(options.get("event"), dead=options["dead"])

    def _list(self, status: str | None, limit: int) -> None:
        events = WebhookEvent.objects.all()
        if status:
            events = events.filter(status=status)
        rows = list(events[: max(1, limit)])
        if not rows:
            self.stdout.write("No webhook events.")
        for e in rows:
            error = f"  last error: {e.last_error.splitlines()[0][:100]}" if e.last_error else ""
            self.stdout.write(
                f"{e.pk:>6}  {e.stripe_id}  {e.type:<42} {e.status:<9} attempts={e.attempts}"
                f"  {e.received_at:%Y-%m-%d %H:%M:%S}{error}"
            )

    def _replay(self, ref: str | None, *, dead: bool) -> None:
        if dead == bool(ref):
            raise CommandError("Give one event (row id or evt_…) or --dead.")
        if dead:
            targets = list(WebhookEvent.objects.filter(status=WebhookEvent.Status.DEAD).order_by("pk"))
        else:
            found = WebhookEvent.objects.filter(stripe_id=ref).first() or (
                WebhookEvent.objects.filter(pk=int(ref)).first() if ref and ref.isascii() and ref.isdigit() else None
            )
            if found is None:
                raise CommandError(f"No webhook event {ref!r}.")
            targets = [found]
        for event in targets:
            status = replay(event.pk)
            event.refresh_from_db()
            if status is None:
                self.stdout.write(f"{event.stripe_id} {event.type}: already {event.status}; nothing to do")
            else:
                self.stdout.write(f"{event.stripe_id} {event.type}: {status} ({event.outcome or event.last_error})")
        if dead and not targets:
            self.stdout.write("No dead events.")

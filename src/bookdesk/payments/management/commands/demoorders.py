"""`bookdesk demoorders`: a few customers' paid orders on the sandbox, for the demo's console (demo_orders)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from bookdesk.errors import BookdeskError
from bookdesk.payments.demo_orders import demo_orders_place


class Command(BaseCommand):
    help = (
        "Place and pay a few sample customers' orders on the Stripe sandbox (once), so the console has a day to show."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            placed = demo_orders_place(say=self.stdout.write)
        except BookdeskError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(
            f"Placed and paid {placed} sample orders; the worker confirms them."
            if placed
            else "Sample orders: done before."
        )

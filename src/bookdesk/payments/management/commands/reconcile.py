"""`bookdesk reconcile [--since 3d]`: repair what missed webhooks left behind, and print what was found."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from bookdesk.payments.reconcile import reconcile

UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_window(text: str) -> timedelta:
    match = re.fullmatch(r"\s*(\d{1,4})\s*([mhd])\s*", text or "")
    if not match:
        raise CommandError(f"--since takes a number and a unit (m, h or d), such as 3d or 12h; got {text!r}.")
    return timedelta(**{UNITS[match[2]]: int(match[1])})


class Command(BaseCommand):
    help = "Compare Stripe's events and Checkout Sessions with our records and apply what is missing."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--since", default="3d", help="How far back to look: 30m, 12h, 3d… (default 3d).")

    def handle(self, *args: Any, since: str, **options: Any) -> None:
        report = reconcile(since=timezone.now() - parse_window(since))
        for line in report.lines():
            self.stdout.write(line)
        if report.errors:
            raise CommandError(f"{len(report.errors)} errors; see above.")

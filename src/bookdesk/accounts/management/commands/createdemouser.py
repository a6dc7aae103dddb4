"""`bookdesk createdemouser`: the demo customer, verified and ready to log in (safe to run again)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from bookdesk.accounts.services import DEMO_EMAIL, DEMO_PASSWORD, user_ensure_verified


class Command(BaseCommand):
    help = f"Create (or reset) the verified demo customer {DEMO_EMAIL}."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--email", default=DEMO_EMAIL)
        parser.add_argument("--password", default=DEMO_PASSWORD)

    def handle(self, *args: Any, email: str, password: str, **options: Any) -> None:
        user, created = user_ensure_verified(email=email, password=password)
        self.stdout.write(f"{'Created' if created else 'Updated'} demo customer (verified email).")
        self.stdout.write(f"  email:    {user.email}")
        self.stdout.write(f"  password: {password}")

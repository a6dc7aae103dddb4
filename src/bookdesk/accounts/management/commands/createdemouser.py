"""`bookdesk createdemouser`: the demo customer, verified and ready to log in (safe to run again).

With `--operator` the demo's shop owner instead: an operator (the console at /console/ and the shop's part
of the admin), with the same password."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from bookdesk.accounts.services import (
    DEMO_EMAIL,
    DEMO_OPERATOR_EMAIL,
    DEMO_PASSWORD,
    user_ensure_verified,
    user_make_operator,
)


class Command(BaseCommand):
    help = f"Create (or reset) the verified demo customer {DEMO_EMAIL}."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--email", default=None, help=f"default {DEMO_EMAIL}, or {DEMO_OPERATOR_EMAIL}")
        parser.add_argument("--password", default=DEMO_PASSWORD)
        parser.add_argument("--operator", action="store_true", help="the demo's operator instead of its customer")

    def handle(self, *args: Any, email: str | None, password: str, operator: bool, **options: Any) -> None:
        email = email or (DEMO_OPERATOR_EMAIL if operator else DEMO_EMAIL)
        user, created = user_ensure_verified(email=email, password=password)
        if operator:
            user, _ = user_make_operator(email=email)
        role = "operator (console at /console/)" if operator else "customer"
        self.stdout.write(f"{'Created' if created else 'Updated'} demo {role} (verified email).")
        self.stdout.write(f"  email:    {user.email}")
        self.stdout.write(f"  password: {password}")

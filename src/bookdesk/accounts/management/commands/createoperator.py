"""`bookdesk createoperator EMAIL`: make someone an operator (staff, in the operator group); safe to run again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from bookdesk.accounts.services import user_make_operator


class Command(BaseCommand):
    help = "Make EMAIL an operator: staff, in the operator group (orders, refunds, catalog, console); not a superuser."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, email: str, **options: Any) -> None:
        user, created = user_make_operator(email=email)
        self.stdout.write(f"{'Created' if created else 'Updated'} operator {user.email}.")
        if not user.has_usable_password():
            self.stdout.write(
                f"  No password yet: set one with `bookdesk changepassword {user.email}`, "
                "or they use “Forgot password?” on the sign-in page."
            )

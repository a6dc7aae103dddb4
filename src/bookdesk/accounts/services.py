"""Account writes that are ours rather than allauth's."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.db import transaction

from bookdesk.accounts.models import User
from bookdesk.accounts.roles import operator_group_sync

DEMO_EMAIL = "demo@bookdesk.local"
DEMO_PASSWORD = "bookdesk-demo"  # noqa: S105 - a published demo credential, never a real one
DEMO_OPERATOR_EMAIL = "owner@bookdesk.local"  # the demo's operator: the console and the admin


@transaction.atomic
def user_ensure_verified(*, email: str, password: str) -> tuple[User, bool]:
    """A customer who can log in at once with this password: the user, and whether it was created.

    Idempotent: an existing user gets the password reset and the address marked verified.
    """
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if user is None:
        user = User.objects.create_user(email=email, password=password)
    else:
        user.set_password(password)
        user.is_active = True
        user.save(update_fields=["password", "is_active"])
    EmailAddress.objects.filter(user=user).exclude(email__iexact=email).update(primary=False)
    address = EmailAddress.objects.filter(user=user, email__iexact=email).first()
    if address is None:
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    elif not (address.verified and address.primary):
        address.verified = True
        address.primary = True
        address.save(update_fields=["verified", "primary"])
    return user, created


@transaction.atomic
def user_make_operator(*, email: str) -> tuple[User, bool]:
    """The user (made without a password if new) as an operator: active staff in the operator group.

    The group's permissions are brought in step with `accounts.roles` on the way.
    """
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if user is None:
        user = User.objects.create_user(email=email, password=None)
    user.is_staff = True
    user.is_active = True
    user.save(update_fields=["is_staff", "is_active"])
    user.groups.add(operator_group_sync())
    return user, created

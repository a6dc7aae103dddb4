"""Account reads that are ours rather than allauth's."""

from __future__ import annotations

from allauth.account.models import EmailAddress

from bookdesk.accounts.models import User


def email_verified(user: User) -> bool:
    """Whether the customer proved they own their address (allauth's verification)."""
    return EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()

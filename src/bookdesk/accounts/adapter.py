"""allauth hooks: one spelling per email address, whichever way it arrives (form, headless, OIDC)."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    def clean_email(self, email: str) -> str:
        # User.email is unique as stored; lower-casing here keeps "Ann@x.io" and "ann@x.io" one account.
        return super().clean_email(email.strip().lower())

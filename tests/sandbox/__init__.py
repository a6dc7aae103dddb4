"""Tests of the Stripe sandbox (src/stripe_sandbox), which imports nothing from bookdesk."""

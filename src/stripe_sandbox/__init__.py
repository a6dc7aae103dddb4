"""A local, stateful stand-in for the Stripe API subset bookdesk uses.

The official ``stripe`` SDK talks to it unchanged once its base address points here
(``stripe.StripeClient(key, base_addresses={"api": "http://127.0.0.1:12111"})``).
See :mod:`stripe_sandbox.server` for the programmatic API, :mod:`stripe_sandbox.state` for the
state it serves, :mod:`stripe_sandbox.payments` for the payment engine,
:mod:`stripe_sandbox.control` for the ``/_sandbox/`` control API and :mod:`stripe_sandbox.cli`
for the command line.
"""

from stripe_sandbox.objects import API_VERSION
from stripe_sandbox.server import DEFAULT_PORT, Sandbox

__all__ = ["API_VERSION", "DEFAULT_PORT", "Sandbox"]

"""A local Stripe for sandbox mode: the part of Stripe's v1 API billing uses, its hosted pages, signed webhooks.

Run it::

    python -m sandbox.stripe --port 8097 --webhook-url http://localhost:8000/webhooks/stripe/ --webhook-secret whsec_...

or in-process::

    with StripeSandbox(port=0, webhook_url=..., deliver=False) as stripe_double:
        StripeClient("sk_test_sandbox", base_addresses={"api": stripe_double.base_url})

Module map: server (HTTP, StripeSandbox, webhook signing and delivery, the control API, the hosted pages),
state (the objects, their JSON shapes, what moves them and the events each move makes). No Django, no stripe.
"""

from .server import DEFAULT_API_KEY, DEFAULT_WEBHOOK_SECRET, StripeSandbox, signature_header

__all__ = ["DEFAULT_API_KEY", "DEFAULT_WEBHOOK_SECRET", "StripeSandbox", "signature_header"]

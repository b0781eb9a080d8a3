"""Billing's fixtures: the Stripe double for the session (settings point the gateway at it), a plan, and a helper
that plays Stripe's side: a tenant subscribes through Checkout, the subscription moves, and the events the
double made are signed as Stripe signs them and posted to the webhook."""

import json
import secrets
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from django.conf import settings
from rest_framework.test import APIClient

from billing.checkout import customer_ensure
from billing.gateway import StripeGateway
from billing.models import Plan, StripeEvent
from billing.tasks import process_stripe_event
from sandbox.stripe import StripeSandbox, signature_header
from tenants.models import Tenant

WEBHOOK = "/webhooks/stripe/"


@pytest.fixture(scope="session")
def stripe_double() -> Iterator[StripeSandbox]:
    """One double for the session; events are kept, not sent, unless a test points it at a web server."""
    double = StripeSandbox(
        port=0,
        api_key="sk_test_" + secrets.token_hex(8),
        webhook_secret="whsec_" + secrets.token_hex(16),
        deliver=False,
    )
    with double:
        names = ("STRIPE_MODE", "STRIPE_SANDBOX_URL", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")
        originals = {name: getattr(settings, name) for name in names}
        settings.STRIPE_MODE = "sandbox"
        settings.STRIPE_SANDBOX_URL = double.base_url
        settings.STRIPE_SECRET_KEY = double.api_key
        settings.STRIPE_WEBHOOK_SECRET = double.webhook_secret
        yield double
        for name, value in originals.items():
            setattr(settings, name, value)


def make_plan(name: str = "Starter", *, price_id: str | None = None, **fields: Any) -> Plan:
    defaults: dict[str, Any] = {
        "monthly_price": Decimal("29.00"),
        "included_numbers": 1,
        "included_minutes": 100,
        "included_segments": 200,
        "overage_per_minute": Decimal("0.0200"),
        "overage_per_segment": Decimal("0.0100"),
        "overage_per_number": Decimal("1.50"),
        "max_calls_per_day": 321,
        "max_messages_per_day": 654,
        "api_rate_limit_per_minute": 77,
        "max_users": 5,
        "max_api_keys": 4,
        "allowed_countries": ["US", "GB"],
    }
    return Plan.objects.create(
        name=name, stripe_price_id=price_id or f"price_{secrets.token_hex(6)}", **{**defaults, **fields}
    )


@pytest.fixture
def plan(db: None) -> Plan:
    return make_plan()


class StripeSide:
    """What Stripe's customers and clock do, through the double's control API, and its events, delivered."""

    def __init__(self, double: StripeSandbox) -> None:
        self.double = double
        self.base_url = double.base_url

    def subscribe(self, tenant: Tenant, plan: Plan, *, trial: bool = False) -> str:
        """The tenant becomes a customer, opens a Checkout session and pays; answers the subscription's id."""
        gateway = StripeGateway()
        customer = customer_ensure(tenant=tenant, email=f"admin@{tenant.slug}.test", gateway=gateway)
        session_id, _ = gateway.checkout_session_create(
            customer=customer,
            price_id=plan.stripe_price_id,
            tenant_id=tenant.pk,
            success_url="http://example.test/ok",
            cancel_url="http://example.test/no",
        )
        return str(self.control(f"checkout/{session_id}/complete", {"trial": trial})["id"])

    def move(self, subscription_id: str, status: str) -> dict[str, Any]:
        return self.control(f"subscriptions/{subscription_id}/status", {"status": status})

    def control(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = requests.post(f"{self.base_url}/sandbox/{path}", json=body, timeout=10)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def events(self, *, since: int = 0) -> list[dict[str, Any]]:
        return list(self.double.store.events[since:])

    def event_count(self) -> int:
        return len(self.double.store.events)


@pytest.fixture
def stripe_side(stripe_double: StripeSandbox) -> StripeSide:
    return StripeSide(stripe_double)


def signed_post(
    client: APIClient,
    event: dict[str, Any],
    *,
    secret: str | None = None,
    at: int | None = None,
    body: str | None = None,
) -> Any:
    payload = body if body is not None else json.dumps(event)
    header = signature_header(payload, secret or settings.STRIPE_WEBHOOK_SECRET, at)
    return client.post(WEBHOOK, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


def deliver(client: APIClient, event: dict[str, Any]) -> StripeEvent:
    """Posts the event as Stripe does and runs its processing as the worker would (the task's own body)."""
    response = signed_post(client, event)
    assert response.status_code == 200, response.content
    kept = StripeEvent.objects.get(event_id=event["id"])
    process_stripe_event.run(stripe_event_id=kept.pk)
    kept.refresh_from_db()
    return kept

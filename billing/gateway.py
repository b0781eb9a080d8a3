"""The one way Switchboard talks to Stripe: the official stripe library's StripeClient.

With STRIPE_MODE=sandbox the client's API base address is the local Stripe double (STRIPE_SANDBOX_URL, see
sandbox/stripe/); nothing else changes. What Stripe answers is read into small frozen records here, so the rest
of billing never handles the library's objects, and its errors into three kinds: try again later (Stripe
unreachable, rate limited, failing), not found, refused.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import stripe
from django.conf import settings

# With settings.STRIPE_REQUEST_TIMEOUT_SECONDS per request (the library's default is 80 s), a read gives up
# within about (1 + REQUEST_RETRIES) times that.
REQUEST_RETRIES = 2


class StripeUnavailable(Exception):
    """Stripe could not answer now; the same request may work later."""


class StripeNotFound(Exception):
    pass


class StripeRefused(Exception):
    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code  # Stripe's error code, e.g. "resource_missing"


@dataclass(frozen=True)
class SubscriptionState:
    id: str
    customer: str
    status: str
    price_id: str
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    metadata: dict[str, str]


@dataclass(frozen=True)
class InvoiceState:
    id: str
    customer: str
    subscription: str
    number: str
    status: str
    amount_due: int  # in the currency's smallest unit, as Stripe counts
    amount_paid: int
    currency: str
    hosted_invoice_url: str
    period_start: datetime | None
    period_end: datetime | None
    created: datetime


def timestamp(value: object) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if isinstance(value, int | float) and value else None


def subscription_state(data: dict[str, Any]) -> SubscriptionState:
    """From a subscription as Stripe sends it (an API answer or an event's object). Since API version
    2025-03-31 the billing period is on each item rather than on the subscription; both are read."""
    items = (data.get("items") or {}).get("data") or [{}]
    item = items[0]
    price = item.get("price") or {}
    return SubscriptionState(
        id=str(data["id"]),
        customer=str(data.get("customer") or ""),
        status=str(data["status"]),
        price_id=str(price.get("id") or ""),
        current_period_start=timestamp(item.get("current_period_start") or data.get("current_period_start")),
        current_period_end=timestamp(item.get("current_period_end") or data.get("current_period_end")),
        cancel_at_period_end=bool(data.get("cancel_at_period_end")),
        metadata={str(key): str(value) for key, value in (data.get("metadata") or {}).items()},
    )


def invoice_subscription_id(data: dict[str, Any]) -> str:
    """The subscription an invoice bills: under parent.subscription_details since API version 2025-03-31,
    at the top level before."""
    details = ((data.get("parent") or {}).get("subscription_details")) or {}
    return str(details.get("subscription") or data.get("subscription") or "")


def invoice_state(data: dict[str, Any]) -> InvoiceState:
    return InvoiceState(
        id=str(data["id"]),
        customer=str(data.get("customer") or ""),
        subscription=invoice_subscription_id(data),
        number=str(data.get("number") or ""),
        status=str(data.get("status") or ""),
        amount_due=int(data.get("amount_due") or 0),
        amount_paid=int(data.get("amount_paid") or 0),
        currency=str(data.get("currency") or "usd").upper(),
        hosted_invoice_url=str(data.get("hosted_invoice_url") or ""),
        period_start=timestamp(data.get("period_start")),
        period_end=timestamp(data.get("period_end")),
        created=timestamp(data.get("created")) or datetime.now(tz=UTC),
    )


@cache
def _client(api_key: str, base_url: str, timeout_seconds: float) -> stripe.StripeClient:
    base_addresses: Any = {"api": base_url, "meter_events": base_url} if base_url else None
    return stripe.StripeClient(
        api_key,
        base_addresses=base_addresses,
        max_network_retries=REQUEST_RETRIES,
        http_client=stripe.RequestsClient(timeout=timeout_seconds),
    )


def _as_dict(resource: Any) -> dict[str, Any]:
    return dict(resource.to_dict())


class StripeGateway:
    def __init__(self) -> None:
        base_url = settings.STRIPE_SANDBOX_URL if settings.STRIPE_MODE == "sandbox" else ""
        self.client = _client(settings.STRIPE_SECRET_KEY, base_url, settings.STRIPE_REQUEST_TIMEOUT_SECONDS)

    def _call(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return request(*args, **kwargs)
        except (stripe.APIConnectionError, stripe.RateLimitError) as error:
            raise StripeUnavailable(str(error.user_message or error)) from error
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                raise StripeNotFound(str(error.user_message or error)) from error
            raise StripeRefused(str(error.user_message or error), code=str(error.code or "")) from error
        except stripe.StripeError as error:
            if error.http_status is None or error.http_status >= 500:
                raise StripeUnavailable(str(error.user_message or error)) from error
            raise StripeRefused(str(error.user_message or error), code=str(error.code or "")) from error

    def customer_create(self, *, name: str, email: str, tenant_id: int, tenant_slug: str) -> str:
        customer = self._call(
            self.client.v1.customers.create,
            params={"name": name, "email": email, "metadata": {"tenant_id": str(tenant_id), "tenant": tenant_slug}},
            options={"idempotency_key": f"customer-of-tenant-{tenant_id}"},
        )
        return str(customer.id)

    def checkout_session_create(
        self, *, customer: str, price_id: str, tenant_id: int, success_url: str, cancel_url: str
    ) -> tuple[str, str]:
        session = self._call(
            self.client.v1.checkout.sessions.create,
            params={
                "mode": "subscription",
                "customer": customer,
                "client_reference_id": str(tenant_id),
                "line_items": [{"price": price_id, "quantity": 1}],
                "subscription_data": {"metadata": {"tenant_id": str(tenant_id)}},
                "success_url": success_url,
                "cancel_url": cancel_url,
            },
        )
        return str(session.id), str(session.url)

    def portal_session_create(self, *, customer: str, return_url: str) -> str:
        session = self._call(
            self.client.v1.billing_portal.sessions.create, params={"customer": customer, "return_url": return_url}
        )
        return str(session.url)

    def subscription_retrieve(self, *, subscription_id: str) -> SubscriptionState:
        return subscription_state(_as_dict(self._call(self.client.v1.subscriptions.retrieve, subscription_id)))

    def invoice_retrieve(self, *, invoice_id: str) -> InvoiceState:
        return invoice_state(_as_dict(self._call(self.client.v1.invoices.retrieve, invoice_id)))

    def meter_event_create(self, *, event_name: str, customer: str, value: int, identifier: str, at: datetime) -> None:
        self._call(
            self.client.v1.billing.meter_events.create,
            params={
                "event_name": event_name,
                "identifier": identifier,
                "timestamp": int(at.timestamp()),
                "payload": {"stripe_customer_id": customer, "value": str(value)},
            },
        )

"""Stripe's webhook events: verified and kept once by their id (the webhook), then processed by a worker.

Processing never trusts an event's copy of an object: it names the subscription (directly, through an invoice,
or through a checkout session), and billing.lifecycle reads that subscription again from Stripe and applies it.
So a duplicate, a late or a reordered event leaves the tenant as the newest subscription state has it.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import stripe
import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.gateway import InvoiceState, StripeGateway, StripeNotFound, StripeRefused, invoice_subscription_id
from billing.lifecycle import subscription_sync, tenant_of_customer
from billing.models import Invoice, StripeEvent
from tenants.models import Tenant

logger = structlog.get_logger(__name__)

SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
    }
)
INVOICE_EVENTS = frozenset({"invoice.paid", "invoice.payment_failed"})
CHECKOUT_EVENTS = frozenset({"checkout.session.completed"})
HANDLED = SUBSCRIPTION_EVENTS | INVOICE_EVENTS | CHECKOUT_EVENTS
# Currencies Stripe counts in whole units (https://docs.stripe.com/currencies#zero-decimal); the rest in cents.
ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV"})


class EventRejected(Exception):
    """Not a genuine, recent Stripe event: nothing is kept."""


def event_receive(*, payload: bytes, signature: str | None) -> tuple[StripeEvent, bool]:
    """Verifies the event as Stripe signs it and keeps it; answers the event and whether it is new."""
    try:
        event = stripe.Webhook.construct_event(
            payload,
            signature,
            settings.STRIPE_WEBHOOK_SECRET,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
        )
    except stripe.SignatureVerificationError as error:
        raise EventRejected(str(error).split("\n")[0]) from error
    except (ValueError, KeyError, TypeError) as error:
        raise EventRejected(f"Not a Stripe event: {error}") from error
    body = json.loads(payload)
    if not isinstance(body, dict) or not body.get("id") or not body.get("type") or "data" not in body:
        raise EventRejected("Not a Stripe event: it needs an id, a type and data.")
    try:
        with transaction.atomic():
            return StripeEvent.objects.get_or_create(
                event_id=str(event.id),
                defaults={
                    "type": str(body["type"]),
                    "created": datetime.fromtimestamp(int(body.get("created") or 0), tz=UTC),
                    "livemode": bool(body.get("livemode")),
                    "payload": body,
                },
            )
    except IntegrityError:  # the same event delivered twice at once
        return StripeEvent.objects.get(event_id=str(event.id)), False


@dataclass(frozen=True)
class Processed:
    event: StripeEvent
    tenant: Tenant | None  # whose subscription the event concerned, once applied


def event_process(*, event_id: int, gateway: StripeGateway | None = None) -> Processed:
    """Applies a kept event (a worker). Raises StripeUnavailable while Stripe cannot be read (try again); any other
    failure, a refusal by Stripe among them, is kept on the event as its result, for staff to see."""
    event = StripeEvent.objects.get(pk=event_id)
    if event.result in (StripeEvent.Result.APPLIED, StripeEvent.Result.IGNORED):
        return Processed(event, None)
    gateway = gateway or StripeGateway()
    StripeEvent.objects.filter(pk=event.pk).update(attempts=event.attempts + 1)
    obj: dict[str, Any] = event.payload["data"]["object"]
    tenant: Tenant | None = None
    try:
        if event.type not in HANDLED:
            result, detail = StripeEvent.Result.IGNORED, f"{event.type} is not an event billing acts on."
        else:
            subscription_id, customer, metadata = _names(event.type, obj)
            tenant = tenant_of_customer(customer=customer, metadata=metadata)
            if tenant is None:
                result, detail = StripeEvent.Result.IGNORED, f"No tenant is Stripe customer {customer or '?'}."
            elif event.type in INVOICE_EVENTS:
                _invoice_keep(tenant=tenant, invoice_id=str(obj["id"]), gateway=gateway)
                result, detail = _synced(tenant, subscription_id, gateway)
            else:
                result, detail = _synced(tenant, subscription_id, gateway)
    except StripeNotFound as error:
        result, detail = StripeEvent.Result.IGNORED, str(error)
    except StripeRefused as error:
        result, detail = StripeEvent.Result.FAILED, f"Stripe refused: {error}"
    except (KeyError, TypeError, ValueError) as error:
        result, detail = StripeEvent.Result.FAILED, f"{type(error).__name__}: {error}"
    StripeEvent.objects.filter(pk=event.pk).update(
        result=result, detail=detail, tenant=tenant, processed_at=timezone.now()
    )
    event.refresh_from_db()
    logger.info("billing.event_processed", event_id=event.event_id, type=event.type, result=result)
    return Processed(event, tenant if result == StripeEvent.Result.APPLIED else None)


def _names(kind: str, obj: dict[str, Any]) -> tuple[str, str, dict[str, str]]:
    """The subscription, customer and metadata an event's object names."""
    if kind in SUBSCRIPTION_EVENTS:
        return str(obj["id"]), str(obj.get("customer") or ""), obj.get("metadata") or {}
    if kind in INVOICE_EVENTS:
        details = (obj.get("parent") or {}).get("subscription_details") or {}
        return invoice_subscription_id(obj), str(obj.get("customer") or ""), details.get("metadata") or {}
    reference = str(obj.get("client_reference_id") or "")
    return str(obj.get("subscription") or ""), str(obj.get("customer") or ""), {"tenant_id": reference}


def _synced(tenant: Tenant, subscription_id: str, gateway: StripeGateway) -> tuple[StripeEvent.Result, str]:
    if not subscription_id:
        return StripeEvent.Result.IGNORED, "The event names no subscription."
    synced = subscription_sync(tenant=tenant, subscription_id=subscription_id, gateway=gateway)
    result = StripeEvent.Result.APPLIED if synced.subscription is not None else StripeEvent.Result.IGNORED
    return result, synced.detail


def _invoice_keep(*, tenant: Tenant, invoice_id: str, gateway: StripeGateway) -> Invoice:
    state: InvoiceState = gateway.invoice_retrieve(invoice_id=invoice_id)
    invoice, _ = Invoice.objects.update_or_create(
        stripe_invoice_id=state.id,
        defaults={
            "tenant": tenant,
            "number": state.number,
            "status": state.status,
            "amount_due": _amount(state.amount_due, state.currency),
            "amount_paid": _amount(state.amount_paid, state.currency),
            "currency": state.currency,
            "hosted_invoice_url": state.hosted_invoice_url,
            "period_start": state.period_start,
            "period_end": state.period_end,
            "created": state.created,
        },
    )
    return invoice


def _amount(minor_units: int, currency: str) -> Decimal:
    return Decimal(minor_units) if currency.upper() in ZERO_DECIMAL else Decimal(minor_units) / 100

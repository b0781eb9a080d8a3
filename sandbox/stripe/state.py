"""What the Stripe double keeps: customers, checkout sessions, subscriptions, invoices, portal sessions, meter
events and the events it made, in Stripe's JSON shapes (API version 2025-03-31 and later: a subscription's
billing period is on its items, an invoice names its subscription under parent.subscription_details)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

PERIOD_SECONDS = 30 * 24 * 3600
TRIAL_SECONDS = 14 * 24 * 3600
DEFAULT_UNIT_AMOUNT = 2900

# Moves a subscription may be asked to make through the control API, and the events Stripe sends for each.
STATUSES = ("incomplete", "incomplete_expired", "trialing", "active", "past_due", "canceled", "unpaid", "paused")


class StripeError(Exception):
    def __init__(self, status: int, message: str, *, code: str = "", kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.kind = status, message, code, kind

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.kind, "message": self.message}
        if self.code:
            error["code"] = self.code
        return {"error": error}


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def missing(kind: str, object_id: str) -> StripeError:
    return StripeError(404, f"No such {kind}: '{object_id}'", code="resource_missing")


class Store:
    def __init__(self, base_url: Callable[[], str]) -> None:
        self.lock = threading.RLock()
        self.base_url = base_url
        self.customers: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.portal_sessions: dict[str, dict[str, Any]] = {}
        self.meter_events: dict[str, dict[str, Any]] = {}
        self.prices: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.idempotent: dict[str, dict[str, Any]] = {}
        self._invoice_count = 0

    # --- the API ------------------------------------------------------------------------------------

    def customer_create(self, params: dict[str, Any]) -> dict[str, Any]:
        customer_id = new_id("cus")
        customer: dict[str, Any] = {
            "id": customer_id,
            "object": "customer",
            "name": params.get("name"),
            "email": params.get("email"),
            "metadata": params.get("metadata") or {},
            "created": int(time.time()),
            "livemode": False,
        }
        self.customers[customer_id] = customer
        return customer

    def checkout_session_create(self, params: dict[str, Any]) -> dict[str, Any]:
        customer = params.get("customer")
        if customer not in self.customers:
            raise missing("customer", str(customer))
        if params.get("mode") != "subscription":
            raise StripeError(400, "The sandbox only makes subscription-mode sessions.", code="parameter_invalid")
        items = params.get("line_items") or []
        if not items or not isinstance(items, list) or not items[0].get("price"):
            raise StripeError(400, "Missing required param: line_items[0][price].", code="parameter_missing")
        for name in ("success_url", "cancel_url"):
            if not params.get(name):
                raise StripeError(400, f"Missing required param: {name}.", code="parameter_missing")
        session_id = new_id("cs_test")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "subscription",
            "status": "open",
            "payment_status": "unpaid",
            "customer": customer,
            "client_reference_id": params.get("client_reference_id"),
            "subscription": None,
            "success_url": params["success_url"],
            "cancel_url": params["cancel_url"],
            "url": f"{self.base_url()}/sandbox/checkout/{session_id}",
            "metadata": params.get("metadata") or {},
            "created": int(time.time()),
            "livemode": False,
            "_price": items[0]["price"],
            "_subscription_metadata": (params.get("subscription_data") or {}).get("metadata") or {},
        }
        self.sessions[session_id] = session
        return session

    def portal_session_create(self, params: dict[str, Any]) -> dict[str, Any]:
        customer = params.get("customer")
        if customer not in self.customers:
            raise missing("customer", str(customer))
        session_id = new_id("bps")
        session = {
            "id": session_id,
            "object": "billing_portal.session",
            "customer": customer,
            "return_url": params.get("return_url"),
            "url": f"{self.base_url()}/sandbox/portal/{session_id}",
            "created": int(time.time()),
            "livemode": False,
        }
        self.portal_sessions[session_id] = session
        return session

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        if subscription_id not in self.subscriptions:
            raise missing("subscription", subscription_id)
        return self.subscriptions[subscription_id]

    def subscription_update(self, subscription_id: str, params: dict[str, Any]) -> dict[str, Any]:
        subscription = self.subscription(subscription_id)
        if subscription["status"] in ("canceled", "incomplete_expired"):
            raise StripeError(400, "A canceled subscription can only update its cancellation_details and metadata.")
        previous: dict[str, Any] = {}
        if "cancel_at_period_end" in params:
            previous["cancel_at_period_end"] = subscription["cancel_at_period_end"]
            subscription["cancel_at_period_end"] = str(params["cancel_at_period_end"]).lower() == "true"
        items = params.get("items")
        if isinstance(items, list) and items and items[0].get("price"):
            previous["items"] = _copy(subscription["items"])
            subscription["items"]["data"][0]["price"] = self.price(items[0]["price"])
        if "metadata" in params:
            previous["metadata"] = dict(subscription["metadata"])
            subscription["metadata"].update(params["metadata"] or {})
        self.event("customer.subscription.updated", subscription, previous)
        return subscription

    def subscription_cancel(self, subscription_id: str) -> dict[str, Any]:
        return self.subscription_move(subscription_id, "canceled")

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        if invoice_id not in self.invoices:
            raise missing("invoice", invoice_id)
        return self.invoices[invoice_id]

    def invoice_list(self, params: dict[str, Any]) -> dict[str, Any]:
        found = [
            invoice
            for invoice in self.invoices.values()
            if (not params.get("customer") or invoice["customer"] == params["customer"])
            and (
                not params.get("subscription")
                or invoice["parent"]["subscription_details"]["subscription"] == params["subscription"]
            )
        ]
        found.sort(key=lambda invoice: invoice["created"], reverse=True)
        limit = int(params.get("limit") or 10)
        return {"object": "list", "url": "/v1/invoices", "has_more": len(found) > limit, "data": found[:limit]}

    def meter_event_create(self, params: dict[str, Any]) -> dict[str, Any]:
        for name in ("event_name", "payload"):
            if not params.get(name):
                raise StripeError(400, f"Missing required param: {name}.", code="parameter_missing")
        payload = params["payload"]
        if not payload.get("stripe_customer_id") or "value" not in payload:
            raise StripeError(400, "payload needs stripe_customer_id and value.", code="parameter_missing")
        identifier = str(params.get("identifier") or new_id("mev"))
        if identifier in self.meter_events:
            raise StripeError(400, f"A meter event with identifier {identifier} already exists.", code="duplicate")
        event = {
            "object": "billing.meter_event",
            "event_name": params["event_name"],
            "identifier": identifier,
            "payload": payload,
            "timestamp": int(params.get("timestamp") or time.time()),
            "created": int(time.time()),
            "livemode": False,
        }
        self.meter_events[identifier] = event
        return event

    # --- what a customer or Stripe's clock does (the control API) ------------------------------------

    def price(self, price_id: str) -> dict[str, Any]:
        known = self.prices.get(price_id, {})
        return {
            "id": price_id,
            "object": "price",
            "currency": known.get("currency", "usd"),
            "unit_amount": int(known.get("unit_amount", DEFAULT_UNIT_AMOUNT)),
            "recurring": {"interval": "month", "interval_count": 1},
            "livemode": False,
        }

    def checkout_complete(self, session_id: str, *, trial: bool = False) -> dict[str, Any]:
        session = self.sessions.get(session_id)
        if session is None:
            raise missing("checkout session", session_id)
        if session["status"] != "open":
            raise StripeError(400, "This Checkout Session is no longer open.", code="checkout_session_not_open")
        now = int(time.time())
        subscription_id = new_id("sub")
        period_end = now + (TRIAL_SECONDS if trial else PERIOD_SECONDS)
        subscription = {
            "id": subscription_id,
            "object": "subscription",
            "customer": session["customer"],
            "status": "trialing" if trial else "active",
            "created": now,
            "start_date": now,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "ended_at": None,
            "trial_start": now if trial else None,
            "trial_end": period_end if trial else None,
            "pause_collection": None,
            "metadata": dict(session["_subscription_metadata"]),
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": new_id("si"),
                        "object": "subscription_item",
                        "price": self.price(session["_price"]),
                        "quantity": 1,
                        "current_period_start": now,
                        "current_period_end": period_end,
                        "subscription": subscription_id,
                    }
                ],
                "has_more": False,
            },
            "latest_invoice": None,
            "livemode": False,
        }
        self.subscriptions[subscription_id] = subscription
        self.event("customer.subscription.created", subscription)
        invoice = self._invoice(subscription, paid=True, amount=0 if trial else None)
        self.event("invoice.paid", invoice)
        session.update(status="complete", payment_status="paid", subscription=subscription_id)
        self.event("checkout.session.completed", session)
        return subscription

    def subscription_move(self, subscription_id: str, status: str) -> dict[str, Any]:
        """Moves the subscription to `status` as Stripe would get there, with the events Stripe sends."""
        if status not in STATUSES:
            raise StripeError(400, f"Unknown status {status!r}; one of {', '.join(STATUSES)}.")
        subscription = self.subscription(subscription_id)
        before = subscription["status"]
        if before in ("canceled", "incomplete_expired"):
            raise StripeError(400, f"The subscription is {before}; it cannot change any more.")
        now = int(time.time())
        subscription["status"] = status
        previous = {"status": before}
        if status == "past_due":
            self.event("invoice.payment_failed", self._invoice(subscription, paid=False))
        if status == "active" and before in ("past_due", "unpaid", "incomplete"):
            self.event("invoice.paid", self._pay_open_invoice(subscription))
        if status == "canceled":
            subscription.update(canceled_at=now, ended_at=now)
            self.event("customer.subscription.deleted", subscription, previous)
            return subscription
        if status == "paused":
            subscription["pause_collection"] = None
            self.event("customer.subscription.paused", subscription, previous)
        if before == "paused" and status != "paused":
            self.event("customer.subscription.resumed", subscription, previous)
        self.event("customer.subscription.updated", subscription, previous)
        return subscription

    def subscription_renew(self, subscription_id: str) -> dict[str, Any]:
        """The period ends: a new one starts and its invoice is paid."""
        subscription = self.subscription(subscription_id)
        item = subscription["items"]["data"][0]
        previous = {"items": _copy(subscription["items"])}
        item["current_period_start"] = item["current_period_end"]
        item["current_period_end"] = item["current_period_start"] + PERIOD_SECONDS
        if subscription["status"] == "trialing":
            previous["status"] = "trialing"
            subscription["status"] = "active"
        self.event("invoice.paid", self._invoice(subscription, paid=True))
        self.event("customer.subscription.updated", subscription, previous)
        return subscription

    # --- helpers ------------------------------------------------------------------------------------

    def _invoice(self, subscription: dict[str, Any], *, paid: bool, amount: int | None = None) -> dict[str, Any]:
        item = subscription["items"]["data"][0]
        due = item["price"]["unit_amount"] if amount is None else amount
        self._invoice_count += 1
        invoice_id = new_id("in")
        invoice = {
            "id": invoice_id,
            "object": "invoice",
            "customer": subscription["customer"],
            "number": f"SBX-{self._invoice_count:05d}",
            "status": "paid" if paid else "open",
            "amount_due": due,
            "amount_paid": due if paid else 0,
            "amount_remaining": 0 if paid else due,
            "currency": item["price"]["currency"],
            "created": int(time.time()),
            "period_start": item["current_period_start"],
            "period_end": item["current_period_end"],
            "hosted_invoice_url": f"{self.base_url()}/sandbox/invoices/{invoice_id}",
            "attempt_count": 1,
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": subscription["id"], "metadata": subscription["metadata"]},
            },
            "livemode": False,
        }
        self.invoices[invoice_id] = invoice
        subscription["latest_invoice"] = invoice_id
        return invoice

    def _pay_open_invoice(self, subscription: dict[str, Any]) -> dict[str, Any]:
        invoice = self.invoices.get(subscription.get("latest_invoice") or "")
        if invoice is None or invoice["status"] != "open":
            return self._invoice(subscription, paid=True)
        invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0)
        invoice["attempt_count"] += 1
        return invoice

    def event(self, kind: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"object": public(obj)}
        if previous:
            data["previous_attributes"] = previous
        event = {
            "id": new_id("evt"),
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": int(time.time()),
            "type": kind,
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
        }
        self.events.append(event)
        return event


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the API shows it: a deep copy, without the double's own bookkeeping (keys starting with _)."""
    return {key: _copy(value) for key, value in obj.items() if not key.startswith("_")}


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value

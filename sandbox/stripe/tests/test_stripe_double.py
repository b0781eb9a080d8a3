"""The Stripe double, through the real stripe library: the shapes, errors and signatures billing relies on."""

import json
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from threading import Thread
from typing import Any

import pytest
import requests
import stripe

from sandbox.stripe import StripeSandbox
from sandbox.stripe.server import nested

SECRET = "whsec_double_test"


@pytest.fixture(scope="module")
def double() -> Iterator[StripeSandbox]:
    with StripeSandbox(port=0, api_key="sk_test_double", webhook_secret=SECRET, deliver=False) as server:
        yield server


@pytest.fixture
def client(double: StripeSandbox) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_double", base_addresses={"api": double.base_url}, max_network_retries=0)


def checkout(client: stripe.StripeClient, double: StripeSandbox, **complete: Any) -> dict[str, Any]:
    customer = client.v1.customers.create(params={"name": "Acme", "metadata": {"tenant_id": "7"}})
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "customer": customer.id,
            "line_items": [{"price": "price_basic", "quantity": 1}],
            "subscription_data": {"metadata": {"tenant_id": "7"}},
            "success_url": "http://example.test/ok",
            "cancel_url": "http://example.test/no",
        }
    )
    done = requests.post(f"{double.base_url}/sandbox/checkout/{session.id}/complete", json=complete, timeout=5)
    assert done.status_code == 200
    return dict(done.json())


def test_stripes_form_encoding_is_read_back_into_objects() -> None:
    pairs = [("items[0][price]", "p1"), ("items[1][price]", "p2"), ("metadata[a]", "1"), ("expand[]", "x")]

    assert nested(pairs) == {"items": [{"price": "p1"}, {"price": "p2"}], "metadata": {"a": "1"}, "expand": ["x"]}


def test_checkout_makes_a_subscription_the_library_reads(client: stripe.StripeClient, double: StripeSandbox) -> None:
    made = checkout(client, double, trial=True)

    subscription = client.v1.subscriptions.retrieve(made["id"])
    assert isinstance(subscription, stripe.Subscription)
    assert subscription.status == "trialing" and subscription.metadata["tenant_id"] == "7"
    item = subscription["items"]["data"][0]
    assert item["price"]["id"] == "price_basic" and item["current_period_end"] > time.time()
    invoice = client.v1.invoices.retrieve(str(subscription.latest_invoice))
    assert invoice.status == "paid" and invoice.amount_paid == 0  # a trial's first invoice
    assert invoice["parent"]["subscription_details"]["subscription"] == subscription.id


def test_errors_come_back_as_the_librarys_exceptions(client: stripe.StripeClient, double: StripeSandbox) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.subscriptions.retrieve("sub_nobody")
    wrong_key = stripe.StripeClient("sk_test_wrong", base_addresses={"api": double.base_url}, max_network_retries=0)
    with pytest.raises(stripe.AuthenticationError):
        wrong_key.v1.customers.create(params={"name": "x"})

    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"


def test_a_repeated_idempotency_key_gets_the_first_answer(client: stripe.StripeClient) -> None:
    first = client.v1.customers.create(params={"name": "Once"}, options={"idempotency_key": "k-once"})
    again = client.v1.customers.create(params={"name": "Once"}, options={"idempotency_key": "k-once"})

    assert first.id == again.id


def test_each_move_makes_the_events_stripe_sends(client: stripe.StripeClient, double: StripeSandbox) -> None:
    subscription_id = checkout(client, double)["id"]
    before = len(double.store.events)
    for status in ("past_due", "active", "paused", "active", "canceled"):
        requests.post(f"{double.base_url}/sandbox/subscriptions/{subscription_id}/status", json={"status": status})

    kinds = [event["type"] for event in double.store.events[before:]]
    assert kinds == [
        "invoice.payment_failed",
        "customer.subscription.updated",
        "invoice.paid",
        "customer.subscription.updated",
        "customer.subscription.paused",
        "customer.subscription.updated",
        "customer.subscription.resumed",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    ]
    again = requests.post(
        f"{double.base_url}/sandbox/subscriptions/{subscription_id}/status", json={"status": "active"}
    )
    assert again.status_code == 400  # a canceled subscription stays canceled


def test_events_are_delivered_signed_as_stripe_signs_them(client: stripe.StripeClient, double: StripeSandbox) -> None:
    received: list[tuple[bytes, str]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, self.headers["Stripe-Signature"]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    receiver = HTTPServer(("127.0.0.1", 0), Receiver)
    Thread(target=receiver.serve_forever, daemon=True).start()
    double.webhook_url, double.deliver = f"http://127.0.0.1:{receiver.server_address[1]}/hook", True
    try:
        checkout(client, double)
        deadline = time.monotonic() + 10
        while len(received) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        double.deliver = False
        receiver.shutdown()

    events = [stripe.Webhook.construct_event(body, header, SECRET) for body, header in received]
    assert [event.type for event in events] == [
        "customer.subscription.created",
        "invoice.paid",
        "checkout.session.completed",
    ]
    body, header = received[0]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, header, "whsec_other")
    assert json.loads(body)["data"]["object"]["object"] == "subscription"

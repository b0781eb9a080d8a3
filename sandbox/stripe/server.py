"""The Stripe double's HTTP server: the part of Stripe's v1 API the platform uses, the pages Stripe hosts
(Checkout, the Customer Portal, an invoice), a /sandbox/ control API, and signed webhook deliveries.

The API takes what stripe-python sends (form-encoded, nested ``a[b][0][c]`` keys, ``Authorization: Bearer
sk_...``, ``Idempotency-Key``) and answers in Stripe's JSON shapes and error bodies. Events go to the webhook
URL with Stripe's ``Stripe-Signature: t=<unix time>,v1=<HMAC-SHA256 of "t.payload" with the secret>``, one at
a time in the order they were made, or, with ``deliver`` off, are only kept for a test to send itself.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import logging
import queue
import re
import threading
import time
import urllib.error
import urllib.request
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .state import Store, StripeError, public

logger = logging.getLogger("sandbox.stripe")

DEFAULT_API_KEY = "sk_test_sandbox"
DEFAULT_WEBHOOK_SECRET = "whsec_sandbox"
DELIVERY_TIMEOUT_SECONDS = 10.0
_KEY_PART = re.compile(r"\[([^\]]*)\]")


def signature_header(payload: str, secret: str, at: int | None = None) -> str:
    """Stripe's Stripe-Signature header for a payload."""
    timestamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def nested(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding back into objects: ``items[0][price]=p`` -> ``{"items": [{"price": "p"}]}``."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        head = key.split("[", 1)[0]
        parts = [head, *_KEY_PART.findall(key[len(head) :])]
        node: Any = root
        for part, following in zip(parts, [*parts[1:], None], strict=True):
            if following is None:
                _put(node, part, value)
                break
            child = _get(node, part)
            if child is None:
                child = [] if following.isdigit() or following == "" else {}
                _put(node, part, child)
            node = child
    return root


def _get(node: Any, part: str) -> Any:
    if isinstance(node, list):
        index = int(part) if part else len(node)
        return node[index] if index < len(node) else None
    return node.get(part)


def _put(node: Any, part: str, value: Any) -> None:
    if isinstance(node, list):
        index = int(part) if part else len(node)
        while len(node) <= index:
            node.append(None)
        node[index] = value
    else:
        node[part] = value


class StripeSandbox:
    """``with StripeSandbox(port=0, webhook_url=...) as stripe_double: StripeClient(..., base_addresses={"api":
    stripe_double.base_url})``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8097,
        *,
        api_key: str = DEFAULT_API_KEY,
        webhook_url: str = "",
        webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
        deliver: bool = True,
        public_url: str = "",
    ) -> None:
        self.host, self.requested_port = host, port
        # Where browsers reach the hosted pages (checkout, portal), when not at the listening address (a container).
        self.public_url = public_url.rstrip("/")
        self.api_key = api_key
        self.webhook_url, self.webhook_secret, self.deliver = webhook_url, webhook_secret, deliver
        self.store = Store(lambda: self.public_url or self.base_url)
        self.deliveries: list[dict[str, Any]] = []
        # Each API answer waits this long first (tests widen a race window with it); 0: at once.
        self.api_delay_seconds = 0.0
        self._outbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._httpd: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    @property
    def base_url(self) -> str:
        port = self._httpd.server_address[1] if self._httpd else self.requested_port
        return f"http://{self.host}:{port}"

    def start(self) -> StripeSandbox:
        handler = type("Handler", (_Handler,), {"sandbox": self})
        self._httpd = ThreadingHTTPServer((self.host, self.requested_port), handler)
        self._httpd.daemon_threads = True
        self._threads = [
            threading.Thread(target=self._httpd.serve_forever, daemon=True, name="stripe-sandbox-http"),
            threading.Thread(target=self._deliver_forever, daemon=True, name="stripe-sandbox-webhooks"),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
        self._outbox.put(None)
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> StripeSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what the handler calls with the lock held ---------------------------------------------------

    def emitted_since(self, count: int) -> None:
        """Queues the events made since there were `count` for delivery."""
        if self.deliver and self.webhook_url:
            for event in self.store.events[count:]:
                self._outbox.put(event)

    def _deliver_forever(self) -> None:
        while (event := self._outbox.get()) is not None:
            self.send(event)

    def send(self, event: dict[str, Any], *, url: str | None = None) -> dict[str, Any]:
        payload = json.dumps(event)
        request = urllib.request.Request(
            url or self.webhook_url,
            data=payload.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": signature_header(payload, self.webhook_secret),
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT_SECONDS) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError as error:
            logger.warning("stripe sandbox: webhook delivery failed: %s", error)
            status = 0
        delivery = {"event": event["id"], "type": event["type"], "status": status, "at": time.time()}
        with self.store.lock:
            self.deliveries.append(delivery)
        return delivery


class _Handler(BaseHTTPRequestHandler):
    sandbox: StripeSandbox
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the standard library's name
        logger.debug("stripe sandbox: " + format, *args)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        if (self.headers.get("Content-Type") or "").startswith("application/json"):
            body: dict[str, Any] = json.loads(raw or "{}")
        else:
            body = nested(parse_qsl(raw, keep_blank_values=True))
        query = nested(parse_qsl(parts.query, keep_blank_values=True))
        segments = [segment for segment in parts.path.split("/") if segment]
        store = self.sandbox.store
        if segments[:1] == ["v1"] and self.sandbox.api_delay_seconds:
            time.sleep(self.sandbox.api_delay_seconds)  # outside the lock: requests wait side by side
        try:
            with store.lock:
                before = len(store.events)
                if segments[:1] == ["v1"]:
                    answer = self._api(method, segments[1:], body, query)
                elif segments[:1] == ["sandbox"]:
                    answer = self._control(method, segments[1:], body)
                else:
                    raise StripeError(404, f"Unrecognized request URL ({method}: {parts.path}).")
                self.sandbox.emitted_since(before)
        except StripeError as error:
            self._json(error.status, error.body())
            return
        if isinstance(answer, tuple):
            self._send(*answer)
        else:
            self._json(200, answer)

    # --- Stripe's v1 API ---------------------------------------------------------------------------

    def _api(self, method: str, path: list[str], body: dict[str, Any], query: dict[str, Any]) -> Any:
        if self.headers.get("Authorization") != f"Bearer {self.sandbox.api_key}":
            raise StripeError(401, "Invalid API Key provided.", kind="invalid_request_error")
        store = self.sandbox.store
        key = self.headers.get("Idempotency-Key")
        if method == "POST" and key and key in store.idempotent:
            return store.idempotent[key]
        answer = public(self._route(method, path, body, query))
        if method == "POST" and key:
            store.idempotent[key] = answer
        return answer

    def _route(self, method: str, path: list[str], body: dict[str, Any], query: dict[str, Any]) -> dict[str, Any]:
        store = self.sandbox.store
        match method, path:
            case "POST", ["customers"]:
                return store.customer_create(body)
            case "GET", ["customers", customer_id]:
                if customer_id not in store.customers:
                    raise StripeError(404, f"No such customer: '{customer_id}'", code="resource_missing")
                return store.customers[customer_id]
            case "POST", ["checkout", "sessions"]:
                return store.checkout_session_create(body)
            case "GET", ["checkout", "sessions", session_id]:
                if session_id not in store.sessions:
                    raise StripeError(404, f"No such checkout session: '{session_id}'", code="resource_missing")
                return store.sessions[session_id]
            case "POST", ["billing_portal", "sessions"]:
                return store.portal_session_create(body)
            case "GET", ["subscriptions", subscription_id]:
                return store.subscription(subscription_id)
            case "POST", ["subscriptions", subscription_id]:
                return store.subscription_update(subscription_id, body)
            case "DELETE", ["subscriptions", subscription_id]:
                return store.subscription_cancel(subscription_id)
            case "GET", ["invoices"]:
                return store.invoice_list(query)
            case "GET", ["invoices", invoice_id]:
                return store.invoice(invoice_id)
            case "POST", ["billing", "meter_events"]:
                return store.meter_event_create(body)
        raise StripeError(404, f"Unrecognized request URL ({method}: /v1/{'/'.join(path)}).")

    # --- the control API and Stripe's hosted pages ----------------------------------------------------

    def _control(self, method: str, path: list[str], body: dict[str, Any]) -> Any:
        store, sandbox = self.sandbox.store, self.sandbox
        match method, path:
            case "GET", ["checkout", session_id]:
                return 200, "text/html; charset=utf-8", _checkout_page(store.sessions.get(session_id))
            case "POST", ["checkout", session_id, "complete"]:
                subscription = store.checkout_complete(
                    session_id, trial=str(body.get("trial", "")).lower() in ("1", "true")
                )
                if body.get("redirect"):
                    return 303, "", "", {"Location": store.sessions[session_id]["success_url"]}
                return public(subscription)
            case "GET", ["portal", session_id]:
                return 200, "text/html; charset=utf-8", _portal_page(store.portal_sessions.get(session_id))
            case "GET", ["invoices", invoice_id]:
                invoice = store.invoice(invoice_id)
                text = f"<h1>Invoice {html.escape(invoice['number'])}</h1><p>{invoice['status']}</p>"
                return 200, "text/html; charset=utf-8", text
            case "POST", ["subscriptions", subscription_id, "status"]:
                return public(store.subscription_move(subscription_id, str(body.get("status"))))
            case "POST", ["subscriptions", subscription_id, "renew"]:
                return public(store.subscription_renew(subscription_id))
            case "POST", ["prices"]:
                store.prices[str(body["id"])] = body
                return store.price(str(body["id"]))
            case "GET", ["events"]:
                return {"items": list(store.events), "deliveries": list(sandbox.deliveries)}
            case "GET", ["meter_events"]:
                return {"items": list(store.meter_events.values())}
            case "POST", ["webhook"]:
                sandbox.webhook_url = str(body.get("url", sandbox.webhook_url))
                sandbox.webhook_secret = str(body.get("secret", sandbox.webhook_secret))
                sandbox.deliver = bool(body.get("deliver", sandbox.deliver))
                return {"url": sandbox.webhook_url, "deliver": sandbox.deliver}
        raise StripeError(404, f"Unrecognized sandbox URL ({method}: /sandbox/{'/'.join(path)}).")

    def _json(self, status: int, body: dict[str, Any]) -> None:
        self._send(status, "application/json", json.dumps(body))

    def _send(self, status: int, content_type: str, text: str, headers: dict[str, str] | None = None) -> None:
        data = text.encode()
        self.send_response(status, HTTPStatus(status).phrase)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", f"req_{int(time.time() * 1000)}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _checkout_page(session: dict[str, Any] | None) -> str:
    if session is None:
        return "<h1>No such checkout session</h1>"
    if session["status"] != "open":
        link = html.escape(session["success_url"])
        return f'<h1>This checkout is complete</h1><p><a href="{link}">Back to the site</a></p>'
    action = f"/sandbox/checkout/{session['id']}/complete"
    return (
        "<!doctype html><title>Sandbox checkout</title><h1>Stripe sandbox checkout</h1>"
        f"<p>Subscribe to <code>{html.escape(session['_price'])}</code>. No card is charged.</p>"
        f'<form method="post" action="{action}"><input type="hidden" name="redirect" value="1">'
        '<button type="submit">Pay and subscribe</button></form>'
        f'<form method="post" action="{action}"><input type="hidden" name="redirect" value="1">'
        '<input type="hidden" name="trial" value="1"><button type="submit">Start a free trial</button></form>'
        f'<p><a href="{html.escape(session["cancel_url"])}">Cancel</a></p>'
    )


def _portal_page(session: dict[str, Any] | None) -> str:
    if session is None:
        return "<h1>No such portal session</h1>"
    back = html.escape(str(session.get("return_url") or "/"))
    return (
        "<!doctype html><title>Sandbox customer portal</title><h1>Stripe sandbox customer portal</h1>"
        f'<p>Cards cannot be changed in the sandbox.</p><p><a href="{back}">Back to the site</a></p>'
    )

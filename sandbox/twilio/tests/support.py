"""Helpers for the Twilio sandbox tests: the webhook receiver and the control API client."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from twilio.rest import Client

from sandbox.twilio.tests.twiml_app import TwimlApp
from testsupport.wait import wait_until

DEADLINE = 10.0  # generous: the suite runs on a loaded 2-core machine

TWIML_OK = "<Response><Say>Hello from the receiver</Say></Response>"
# A document that records and then carries on at /twiml/ok (for simulated inbound calls).
TWIML_RECORD = '<Response><Record action="/twiml/ok" maxLength="5"/></Response>'
CALLER = "+14155550100"  # a San Francisco number: FromCity SAN FRANCISCO, FromState CA, FromZip 94103


@dataclass
class Received:
    method: str
    url: str  # the full URL as requested, query included: what X-Twilio-Signature covers
    path: str
    headers: dict[str, str]
    form: dict[str, list[str]]
    received_monotonic: float

    @property
    def params(self) -> dict[str, str]:
        """Form (POST) or query (GET) parameters, single-valued as Twilio sends them."""
        source = self.form if self.method == "POST" else parse_qs(urlsplit(self.url).query)
        return {k: v[0] for k, v in source.items()}

    @property
    def signature(self) -> str:
        return self.headers.get("X-Twilio-Signature", "")


@dataclass
class Receiver:
    """A local webhook target. Paths choose the answer:

    /twiml/ok...    200 text/xml with a valid <Response>     /twiml/500...   500
    /twiml/record.. 200 text/xml: <Record>, then /twiml/ok
    /twiml/bad...   200 text/xml that does not parse        /twiml/json...  200 application/json
    /status/500...  500 (a failing status callback)         anything else   200, empty
    """

    base_url: str = ""
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.base_url + path

    def unique(self, prefix: str) -> str:
        return self.url(f"{prefix}/{uuid.uuid4().hex}")

    def matching(self, url_prefix: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.url.startswith(url_prefix)]

    def wait_for(self, url_prefix: str, count: int = 1, timeout: float = DEADLINE) -> list[Received]:
        def enough() -> list[Received] | None:
            found = self.matching(url_prefix)
            return found if len(found) >= count else None

        return wait_until(enough, timeout=timeout, message=f"{count} request(s) to {url_prefix}")


def receiver_handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like a real web server: exercises connection reuse

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            with receiver.lock:
                receiver.requests.append(
                    Received(
                        self.command,
                        receiver.base_url + self.path,
                        self.path.partition("?")[0],
                        dict(self.headers.items()),
                        parse_qs(body, keep_blank_values=True),
                        time.monotonic(),
                    )
                )
            status, content_type, payload = self._answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_POST = do_GET

        @staticmethod
        def _answer(path: str) -> tuple[int, str, bytes]:
            if path.startswith("/twiml/ok"):
                return 200, "text/xml", TWIML_OK.encode()
            if path.startswith("/twiml/record"):
                return 200, "text/xml", TWIML_RECORD.encode()
            if path.startswith("/twiml/500") or path.startswith("/status/500"):
                return 500, "text/plain", b"boom"
            if path.startswith("/twiml/bad"):
                return 200, "text/xml", b"<Response><Say>unclosed"
            if path.startswith("/twiml/json"):
                return 200, "application/json", b"{}"
            return 200, "text/plain", b""

    return Handler


@dataclass
class Control:
    base_url: str

    def get(self, path: str, **params: Any) -> Any:
        response = requests.get(self.base_url + path, params=params, timeout=DEADLINE)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: Any) -> Any:
        response = requests.post(self.base_url + path, json=body, timeout=DEADLINE)
        response.raise_for_status()
        return response.json()

    def inbound_call(self, **body: Any) -> Any:
        """POST /sandbox/inbound-calls (from_ for "from"); the simulated call's result."""
        if "from_" in body:
            body["from"] = body.pop("from_")
        body.setdefault("from", CALLER)
        return self.post("/sandbox/inbound-calls", body)

    def inbound_message(self, **body: Any) -> Any:
        if "from_" in body:
            body["from"] = body.pop("from_")
        body.setdefault("from", CALLER)
        return self.post("/sandbox/inbound-messages", body)

    def log(self, name: str, since: int = 0) -> list[dict[str, Any]]:
        """Every entry of a /sandbox/ log from `since` on, following the `next` cursor."""
        items: list[dict[str, Any]] = []
        while True:
            page = self.get(f"/sandbox/{name}", since=since, limit=1000)
            items += page["items"]
            if not page["items"]:
                return items
            since = page["next"]

    def log_total(self, name: str) -> int:
        return int(self.get(f"/sandbox/{name}", since=10**12)["total"])


@dataclass
class Tenant:
    sid: str
    auth_token: str
    client: Client


def line(tenant: Tenant, app: TwimlApp, twiml: str, **settings: Any) -> str:
    """A San Francisco number of the tenant whose VoiceUrl serves `twiml` at /voice; returns the number."""
    app.route("/voice", twiml)
    number = tenant.client.incoming_phone_numbers.create(area_code="415", voice_url=app.url("/voice"), **settings)
    assert number.phone_number is not None
    return number.phone_number

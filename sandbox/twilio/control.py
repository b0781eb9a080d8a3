"""The sandbox's own control and inspection API under /sandbox/ (not part of Twilio's; no auth: a dev tool).

=======  ===========================  ==================================================================
Method   Path                         What
=======  ===========================  ==================================================================
GET      /sandbox/                    credentials, base URL, timing, faults, counts
GET      /sandbox/faults              the fault configuration (see faults.py for the fields)
POST     /sandbox/faults              replace it (JSON body)
GET      /sandbox/timing              the lifecycle step lengths (see behaviour.Timing)
POST     /sandbox/timing              change some of them (JSON body, seconds), or {"uniform": 0.0}
POST     /sandbox/reset               forget every subaccount, message, call, recording, number and caller ID;
                                      clear faults and logs (the master account and its token stay)
GET      /sandbox/messages            every message create the API accepted, oldest first
GET      /sandbox/calls               every call create the API accepted, oldest first
GET      /sandbox/callbacks           every webhook sent: status callbacks and TwiML fetches
GET      /sandbox/requests            every Twilio API request: method, path, status, injected fault
GET      /sandbox/responses           every Twilio API response body (only while recording)
POST     /sandbox/responses           {"enabled": true|false} turns recording on or off
GET      /sandbox/accounts            every account with its auth token (for building clients)
GET      /sandbox/numbers             every phone number an account owns: sid, account_sid, phone_number
                                      (?phone_number=+1... for one number)
POST     /sandbox/caller-ids          {"account_sid": ..., "phone_number": ...[, "friendly_name": ...]}:
                                      a verified caller ID for the account, as if someone had answered
                                      Twilio's validation call with the right code
GET      /sandbox/idle?timeout=5      waits until no lifecycle step, simulated call or callback is pending
POST     /sandbox/inbound-calls       a caller rings a number an account owns; its VoiceUrl TwiML runs
                                      (see below and simulator/); answers the transcript
GET      /sandbox/inbound-calls       every simulated inbound call, as answered, oldest first
POST     /sandbox/inbound-messages    a handset texts a number an account owns; its SmsUrl runs and each
                                      <Message> of the answer is sent back (see simulator/sms.py)
GET      /sandbox/inbound-messages    every simulated inbound message with its replies, oldest first
=======  ===========================  ==================================================================

The log endpoints answer ``{"items": [...], "next": N, "total": T}``; pass ``?since=N`` to get only
what came after (``limit`` caps a page, default 1000, at most 10000). Every entry carries its
``index``; messages and calls carry ``received_at`` (Unix time) and ``received_monotonic``
(time.monotonic() of the sandbox process, which on Linux is the system-wide CLOCK_MONOTONIC: usable
for rate measurements against the gateway's own monotonic clock on the same machine), plus their
current ``status`` (and for calls the fetched ``twiml`` and any ``twiml_error``).

POST /sandbox/inbound-calls takes ``{"from": "+14155550100", "to": "<an owned number>", "digits":
["1", "42#"], "speech": ["yes"], "dial": "answer" | "no-answer" | "busy" | "failed" (or a list, one
per <Dial>), "dial_seconds": 5, "dial_hangup": "caller" | "callee", "record_seconds": 3 (or a list),
"record_end": "key" | "hangup" | "timeout", "transcription": "...", "connect_seconds": 1,
"max_documents": 50, "max_seconds": 14400, "wait": true}`` (only from and to are required) and
answers 200 ``{"sid", "account_sid", "from", "to", "status", "duration", "price", "price_unit",
"end_reason", "transcript": [{"verb": "Say", ...}, ...], "heard": [every Say text], "recordings":
[RE...], "requests": [{"kind", "url", "method", "params", "status", "error"}], "notes": [...],
"error": null | {"code", "message", "url"}}``; with "wait": false it answers 202 ``{"sid",
"account_sid", "status": "ringing"}`` at once and the result lands in GET /sandbox/inbound-calls.
404 when no account owns "to", 409 when the number has no VoiceUrl, 400 for a malformed body.

POST /sandbox/inbound-messages takes ``{"from", "to", "body", "media_urls": [url | {"url",
"content_type"}]}`` and answers 200 ``{"sid", "account_sid", "status": <HTTP status of the SmsUrl
request, null without SmsUrl>, "replies": [{"sid", "to", "from", "body", "media_urls",
"status_callback"}], "twiml", "requests", "notes", "error"}``; 404 when no account owns "to".

Recordings and other links the simulator hands out (RecordingUrl) point at the sandbox by the Host
the control request was sent to, so whoever asked for the simulation can fetch them.
"""

from __future__ import annotations

import json
import time
from typing import Any, Protocol
from urllib.parse import parse_qs

from . import numbers
from .behaviour import Engine, Timing
from .faults import FaultConfig, FaultInjector
from .rest.common import Response
from .simulator import InboundCalls, InboundMessages, Refused
from .state import Journal, Store
from .twilio_format import outgoing_caller_id_json

MAX_LIMIT = 10_000


class Controlled(Protocol):
    """What the control API works on: the running SandboxServer (named here, not imported: it owns this API)."""

    account_sid: str
    auth_token: str
    record_responses: bool
    store: Store
    faults: FaultInjector
    engine: Engine

    @property
    def base_url(self) -> str: ...

    @property
    def timing(self) -> Timing: ...

    @timing.setter
    def timing(self, value: Timing | float | dict[str, Any] | None) -> None: ...

    def reset(self) -> None: ...

    def wait_idle(self, timeout: float = 10.0) -> bool: ...


class ControlApi:
    def __init__(self, sandbox: Controlled) -> None:
        self.sandbox = sandbox
        self.inbound_calls = InboundCalls(sandbox.store, sandbox.engine)
        self.inbound_messages = InboundMessages(sandbox.store, sandbox.engine)

    def handle(self, method: str, path: str, query_string: str, body: bytes, *, host: str | None = None) -> Response:
        query = parse_qs(query_string)
        route = path.rstrip("/") or "/sandbox"
        journals = self.sandbox.store.journals
        try:
            if route == "/sandbox" and method == "GET":
                return Response(200, self._info())
            if route == "/sandbox/faults":
                if method == "POST":
                    self.sandbox.faults.configure(FaultConfig.from_json(_json(body)))
                return Response(200, self.sandbox.faults.config.to_json())
            if route == "/sandbox/timing":
                if method == "POST":
                    data = _json(body)
                    if isinstance(data, dict) and set(data) == {"uniform"}:
                        self.sandbox.timing = Timing.coerce(data["uniform"])
                    else:
                        self.sandbox.timing = Timing.coerce(
                            {**self.sandbox.timing.to_json(), **(data if isinstance(data, dict) else {})}
                        )
                return Response(200, self.sandbox.timing.to_json())
            if route == "/sandbox/reset" and method == "POST":
                self.sandbox.reset()
                return Response(200, {"reset": True})
            if route == "/sandbox/messages" and method == "GET":
                return Response(200, self._log(journals.messages, query, self._message_now))
            if route == "/sandbox/calls" and method == "GET":
                return Response(200, self._log(journals.calls, query, self._call_now))
            if route == "/sandbox/callbacks" and method == "GET":
                return Response(200, self._log(journals.callbacks, query))
            if route == "/sandbox/requests" and method == "GET":
                return Response(200, self._log(journals.requests, query))
            if route == "/sandbox/responses":
                if method == "POST":
                    data = _json(body)
                    if not isinstance(data, dict) or not isinstance(data.get("enabled"), bool):
                        raise ValueError('expected {"enabled": true|false}')
                    self.sandbox.record_responses = data["enabled"]
                    return Response(200, {"enabled": self.sandbox.record_responses})
                return Response(200, {**self._log(journals.responses, query), "enabled": self.sandbox.record_responses})
            if route == "/sandbox/accounts" and method == "GET":
                return Response(200, {"accounts": self._accounts()})
            if route == "/sandbox/numbers" and method == "GET":
                return Response(200, {"numbers": self._numbers(query.get("phone_number", [None])[0])})
            if route == "/sandbox/caller-ids" and method == "POST":
                return Response(200, self._verify_caller_id(_json(body)))
            if route == "/sandbox/idle" and method == "GET":
                timeout = min(float(query.get("timeout", ["5"])[0]), 60.0)
                return Response(200, {"idle": self.sandbox.wait_idle(timeout)})
            if route == "/sandbox/inbound-calls":
                if method == "POST":
                    status, answer = self.inbound_calls.place(_json(body), self._public_url(host))
                    return Response(status, answer)
                if method == "GET":
                    return Response(200, self._log(journals.inbound_calls, query))
            if route == "/sandbox/inbound-messages":
                if method == "POST":
                    return Response(200, self.inbound_messages.receive(_json(body)))
                if method == "GET":
                    return Response(200, self._log(journals.inbound_messages, query))
        except ValueError as exc:
            return Response(400, {"error": str(exc)})
        except Refused as exc:
            return Response(exc.status, {"error": exc.message})
        return Response(404, {"error": f"no {method} {path} in the sandbox control API"})

    def _info(self) -> dict[str, Any]:
        sandbox = self.sandbox
        store = sandbox.store
        with store.lock:
            counts = {
                "accounts": len(store.accounts),
                "messages": len(store.messages.by_sid),
                "calls": len(store.calls.by_sid),
                "incoming_phone_numbers": len(store.numbers.by_sid),
                "outgoing_caller_ids": len(store.caller_ids.by_sid),
                "recordings": len(store.recordings.by_sid),
            }
        return {
            "base_url": sandbox.base_url,
            "account_sid": sandbox.account_sid,
            "auth_token": sandbox.auth_token,
            "timing": sandbox.timing.to_json(),
            "faults": sandbox.faults.config.to_json(),
            "record_responses": sandbox.record_responses,
            "counts": counts,
        }

    def _public_url(self, host: str | None) -> str:
        """The sandbox as the requester reached it (the Host header), else the address it listens on."""
        if host and all(c.isalnum() or c in ".-:[]_" for c in host):
            return f"http://{host}"
        return self.sandbox.base_url

    def _accounts(self) -> list[dict[str, Any]]:
        store = self.sandbox.store
        with store.lock:
            return [
                {
                    "sid": a.sid,
                    "auth_token": a.auth_token,
                    "owner_account_sid": a.owner_sid,
                    "friendly_name": a.friendly_name,
                    "status": a.status,
                }
                for a in store.accounts.values()
            ]

    def _numbers(self, phone_number: str | None) -> list[dict[str, Any]]:
        store = self.sandbox.store
        with store.lock:
            return [
                {"sid": n.sid, "account_sid": n.account_sid, "phone_number": n.phone_number}
                for n in store.numbers.by_sid.values()
                if phone_number is None or n.phone_number == phone_number
            ]

    def _verify_caller_id(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or not isinstance(data.get("account_sid"), str):
            raise ValueError('expected {"account_sid": ..., "phone_number": ...}')
        phone = numbers.normalize(str(data.get("phone_number", "")))
        if phone is None:
            raise ValueError(f"phone_number {data.get('phone_number')!r} is not a phone number")
        friendly_name = data.get("friendly_name") or numbers.format_national(phone)
        if not isinstance(friendly_name, str) or len(friendly_name) > 64:
            raise ValueError("friendly_name must be a string of at most 64 characters")
        store = self.sandbox.store
        with store.lock:
            if data["account_sid"] not in store.accounts:
                raise ValueError(f"no account {data['account_sid']} in the sandbox")
            caller_id = store.verify_caller_id(data["account_sid"], phone, friendly_name, time.time())
            return outgoing_caller_id_json(caller_id)

    def _log(self, journal: Journal, query: dict[str, list[str]], live: Any = None) -> dict[str, Any]:
        try:
            since = int(query.get("since", ["0"])[0])
            limit = min(int(query.get("limit", ["1000"])[0]), MAX_LIMIT)
        except ValueError:
            raise ValueError("since and limit must be integers") from None
        items, next_since, total = journal.read(since, limit)
        if live is not None:
            with self.sandbox.store.lock:
                items = [{**item, **live(item["sid"])} for item in items]
        return {"items": items, "next": next_since, "total": total}

    def _message_now(self, sid: str) -> dict[str, Any]:
        message = self.sandbox.store.messages.by_sid.get(sid)
        if message is None:
            return {"status": None, "deleted": True}
        return {"status": message.status, "error_code": message.error_code, "from": message.from_}

    def _call_now(self, sid: str) -> dict[str, Any]:
        call = self.sandbox.store.calls.by_sid.get(sid)
        if call is None:
            return {"status": None, "deleted": True}
        return {
            "status": call.status,
            "answered_by": call.answered_by,
            "duration": call.duration,
            "twiml": call.fetched_twiml,
            "twiml_source": call.twiml_source,
            "twiml_error": call.twiml_error,
        }


def _json(body: bytes) -> Any:
    if not body:
        return {}
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc}") from None

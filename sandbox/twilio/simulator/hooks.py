"""The webhooks of one simulated call or message: signed, sent, journaled, and kept for the answer.

Every request goes to the /sandbox/callbacks journal (kind twiml_fetch, gather_action, record_action,
dial_action, connect_action, redirect, recording_status_callback, transcription_callback,
status_callback, sms_webhook, ...) and to the simulation's own ``requests`` list.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..ids import new_sid
from ..state import Store
from ..twiml import check_twiml
from ..webhooks import HttpSender, WebhookResult, build_request

# (TwiML text, the URL it came from, the error of the primary URL when the fallback answered / of the last try)
Fetched = tuple[str | None, str | None, dict[str, Any] | None]


@dataclass
class Hooks:
    store: Store
    sender: HttpSender
    sid: str
    account_sid: str
    token: str
    requests: list[dict[str, Any]] = field(default_factory=list)

    def send(self, kind: str, url: str, method: str, params: dict[str, str]) -> WebhookResult:
        request = build_request(url, method, params, self.token, new_sid(""))
        sent_wall, sent_mono = time.time(), time.monotonic()
        result = self.sender.send(request)
        self.requests.append(
            {
                "kind": kind,
                "url": request.url,
                "method": request.method,
                "params": dict(params),
                "status": result.status,
                "error": result.error,
            }
        )
        self.store.journals.callbacks.append(
            {
                "kind": kind,
                "sid": self.sid,
                "account_sid": self.account_sid,
                "event": kind,
                "url": request.url,
                "method": request.method,
                "params": dict(params),
                "signature": request.headers["X-Twilio-Signature"],
                "idempotency_token": request.headers["I-Twilio-Idempotency-Token"],
                "status": result.status,
                "error": result.error,
                "duplicate": False,
                "sent_at": sent_wall,
                "sent_monotonic": sent_mono,
                "elapsed_ms": round(result.elapsed_ms, 3),
            }
        )
        return result

    def twiml(
        self, kind: str, url: str, method: str, params: dict[str, str]
    ) -> tuple[str | None, dict[str, Any] | None]:
        """A TwiML document, judged like Twilio judges it (11200 / 12100 / 12300 on failure)."""
        twiml, error = check_twiml(self.send(kind, url, method, params), url)
        if error is not None:
            self.requests[-1]["error"] = error["message"]
        return twiml, error

    def twiml_with_fallback(
        self,
        kind: str,
        url: str,
        method: str,
        params: dict[str, str],
        fallback_url: str | None,
        fallback_method: str,
    ) -> Fetched:
        """The primary URL, then the fallback (told ErrorCode and ErrorUrl, as Twilio does) if it fails."""
        twiml, error = self.twiml(kind, url, method, params)
        if twiml is not None:
            return twiml, url, None
        if not fallback_url:
            return None, None, error
        fallback_params = {**params, "ErrorCode": str(error["code"]) if error else "11200", "ErrorUrl": url}
        fallback_twiml, fallback_error = self.twiml(kind + "_fallback", fallback_url, fallback_method, fallback_params)
        if fallback_twiml is not None:
            return fallback_twiml, fallback_url, error
        return None, None, fallback_error

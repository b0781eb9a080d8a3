"""<Connect><ConversationRelay>: the simulated caller talks to the application's AI agent over its WebSocket.

As Twilio does, the sandbox opens the noun's `url` with X-Twilio-Signature over that URL (no parameters,
the owning account's auth token), sends `setup` (the call, and the <Parameter>s as customParameters), and
then plays the script's "conversation", one caller action after another:

  {"say": "text", "partials": ["I", " need"], "lang": "en-US"}   a prompt (partials first, last=false),
        then the agent's reply is heard until its text with last=true (or `end`)
  {"say": "text", "interrupt_after": 3}    the caller speaks over the reply after its 3rd token: `interrupt`
        with utteranceUntilInterrupt = the tokens heard so far; tokens arriving after that are kept apart
        as "stale" (an application must send none)
  {"dtmf": "1"}                            a key press, then the reply is heard like a prompt's
  {"silence": 5}                           the caller says nothing for up to 5 s (the agent may end the call)
  {"hangup": true}                         the caller hangs up (when the script runs out, after END_WAIT_SECONDS
                                           without an `end`)

The welcome greeting counts as heard first. `end` from the application ends the session: its handoffData
goes to the <Connect action> (HandoffData, SessionStatus=ended, SessionId, SessionDuration), whose TwiML the
call follows, as Twilio's does. A caller who hangs up ends the call (the action still hears of it). What was
heard, sent and received is in the call's transcript entry for <Connect>.
"""

from __future__ import annotations

import json
import os
import socket
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from ..ids import new_sid
from ..webhooks import LOCALHOST_ADDRESS, signature
from .session import End, Session, Step, method_of, resolve

# Where *.localhost relay sockets are served: like webhooks' LOCALHOST_ADDRESS, unless the sockets have a server of
# their own (in docker compose, the relay service).
RELAY_ADDRESS = os.environ.get("SANDBOX_RELAY_ADDRESS", LOCALHOST_ADDRESS)
REPLY_SECONDS = 15.0  # how long the caller waits for the rest of a reply before hanging up
END_WAIT_SECONDS = 3.0  # once the script is done, how long the caller stays on for the application's `end`
STALE_SECONDS = 0.3  # after an interrupt, how long the sandbox listens for tokens that should not come


@dataclass
class Exchange:
    caller: dict[str, Any]
    agent: str = ""
    tokens: list[str] = field(default_factory=list)
    interrupted: bool = False
    stale: list[str] = field(default_factory=list)
    first_token_ms: float | None = None


@dataclass
class Relay:
    session: Session
    element: ElementTree.Element
    sid: str = field(default_factory=lambda: new_sid("VX"))
    exchanges: list[Exchange] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    digits_sent: list[str] = field(default_factory=list)
    languages: list[dict[str, Any]] = field(default_factory=list)
    ended: dict[str, Any] | None = None
    hung_up: bool = False
    error: str | None = None

    def run(self, url: str) -> None:
        try:
            with _open(url, self.session.hooks.token) as ws:
                ws.send(json.dumps(self._setup()))
                greeting = self.element.get("welcomeGreeting")
                if greeting:
                    self.session.heard.append(greeting)
                for action in self.session.script.conversation:
                    if self.ended is not None:
                        break
                    self._act(ws, action)
                if self.ended is None and not self.hung_up:  # the script ran out: the caller waits, then hangs up
                    self._listen(ws, Exchange(caller={}), END_WAIT_SECONDS, until_last=False)
                if self.ended is None:
                    self.hung_up = True
        except InvalidStatus as refused:
            self.error = f"WebSocket upgrade refused: HTTP {refused.response.status_code}"
        except (InvalidHandshake, OSError, TimeoutError) as failure:
            self.error = f"WebSocket failed: {failure}"
        except ConnectionClosed as closed:
            if self.ended is None:
                self.error = f"WebSocket closed by the application ({closed.rcvd.code if closed.rcvd else 'no code'})"

    def _setup(self) -> dict[str, Any]:
        session = self.session
        return {
            "type": "setup",
            "sessionId": self.sid,
            "accountSid": session.account_sid,
            "parentCallSid": "",
            "callSid": session.call_sid,
            "from": session.caller,
            "to": session.called,
            "forwardedFrom": "",
            "callType": "PSTN",
            "callerName": "",
            "direction": "inbound",
            "callStatus": "IN-PROGRESS",
            "customParameters": {p.get("name", ""): p.get("value", "") for p in self.element.iter("Parameter")},
        }

    def _act(self, ws: ClientConnection, action: dict[str, Any]) -> None:
        if self.hung_up:
            return
        if action.get("hangup"):
            self.hung_up = True
            return
        if "silence" in action:
            self.session.tick(float(action["silence"]))
            self._listen(ws, Exchange(caller=action), float(action["silence"]), until_last=False)
            return
        exchange = Exchange(caller=action)
        self.exchanges.append(exchange)
        if "dtmf" in action:
            ws.send(json.dumps({"type": "dtmf", "digit": str(action["dtmf"])}))
        else:
            lang = action.get("lang") or self.element.get("language") or "en-US"
            for partial in action.get("partials", []):
                ws.send(json.dumps({"type": "prompt", "voicePrompt": partial, "lang": lang, "last": False}))
            ws.send(json.dumps({"type": "prompt", "voicePrompt": action["say"], "lang": lang, "last": True}))
        self._listen(ws, exchange, REPLY_SECONDS, until_last=True, interrupt_after=action.get("interrupt_after"))
        if exchange.agent:
            self.session.heard.append(exchange.agent)
        self.session.tick(max(1.0, len(exchange.agent.split()) * 0.3))

    def _listen(
        self, ws: ClientConnection, exchange: Exchange, seconds: float, *, until_last: bool, interrupt_after: Any = None
    ) -> None:
        started = time.monotonic()
        deadline = started + seconds
        while self.ended is None:
            try:
                raw = ws.recv(timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                return
            message = json.loads(raw)
            self.received.append(message)
            kind = message.get("type")
            if kind == "text":
                token = str(message.get("token") or "")
                if exchange.interrupted:
                    if token:
                        exchange.stale.append(token)
                    continue
                if token:
                    if exchange.first_token_ms is None:
                        exchange.first_token_ms = (time.monotonic() - started) * 1000
                    exchange.tokens.append(token)
                    exchange.agent += token
                if isinstance(interrupt_after, int) and len(exchange.tokens) >= interrupt_after:
                    exchange.interrupted = True
                    ws.send(
                        json.dumps(
                            {
                                "type": "interrupt",
                                "utteranceUntilInterrupt": exchange.agent,
                                "durationUntilInterruptMs": int((time.monotonic() - started) * 1000),
                            }
                        )
                    )
                    deadline = time.monotonic() + STALE_SECONDS
                    continue
                if message.get("last") and until_last:
                    return
            elif kind == "sendDigits":
                self.digits_sent.append(str(message.get("digits") or ""))
            elif kind == "language":
                self.languages.append(message)
            elif kind == "end":
                self.ended = message

    def entry(self) -> dict[str, Any]:
        return {
            "session_id": self.sid,
            "exchanges": [
                {
                    "caller": exchange.caller,
                    "agent": exchange.agent,
                    "tokens": exchange.tokens,
                    "interrupted": exchange.interrupted,
                    "stale_tokens": exchange.stale,
                    "first_token_ms": exchange.first_token_ms,
                }
                for exchange in self.exchanges
            ],
            "digits_sent": self.digits_sent,
            "languages": self.languages,
            "handoff_data": self.ended.get("handoffData") if self.ended else None,
            "ended_by": "application" if self.ended else ("caller" if self.hung_up else None),
            "error": self.error,
        }


def _open(url: str, token: str) -> ClientConnection:
    """The socket, with Twilio's signature; *.localhost is the loopback (RFC 6761), as for webhooks."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    address = RELAY_ADDRESS if host.endswith(".localhost") or host == "localhost" else host
    sock = socket.create_connection((address, port), timeout=10)
    return connect(
        url,
        sock=sock,
        additional_headers={"X-Twilio-Signature": signature(token, url, None)},
        open_timeout=10,
        close_timeout=2,
        max_size=1 << 20,
    )


def conversation_relay(
    session: Session, element: ElementTree.Element, relay: ElementTree.Element, document_url: str
) -> Step:
    """Runs the relay session, then the <Connect action> as Twilio does (or the caller's hang-up)."""
    url = relay.get("url") or ""
    session.answer()
    started = time.monotonic()
    talk = Relay(session, relay)
    talk.run(url)
    entry = talk.entry()
    session.transcript.append({"verb": "ConversationRelay", "url": url, **entry})
    if talk.error:
        session.notes.append(talk.error)
    action = element.get("action")
    duration = str(max(1, round(time.monotonic() - started)))
    status = "ended" if talk.ended is not None else ("completed" if talk.hung_up else "failed")
    extra = {"SessionId": talk.sid, "SessionStatus": status, "SessionDuration": duration}
    if talk.ended is not None and talk.ended.get("handoffData") is not None:
        extra["HandoffData"] = str(talk.ended["handoffData"])
    if talk.hung_up:
        if action:
            session.hooks.send(
                "connect_action",
                resolve(document_url, action),
                method_of(element),
                session.params("completed", **extra),
            )
        return End("completed", "caller-hangup")
    if not action:
        return None
    return session.fetch("connect_action", resolve(document_url, action), method_of(element), session.params(**extra))

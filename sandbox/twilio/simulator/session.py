"""One simulated inbound call working through its TwiML: documents, simulated time, answering, limits.

The verbs themselves are in verbs.py (and recording.py); this module only runs them. Time is
simulated: a <Pause length="30"> adds 30 seconds to the call's clock and returns at once. Between two
verbs the session looks at the call in the store, so a reset, a hang-up through the REST API
(POST .../Calls/{Sid}.json Status=completed) or a REST redirect (Url=/Twiml=) takes effect there.
"""

from __future__ import annotations

import math
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from ..state import Call, Store
from ..twilio_format import API_VERSION
from .hooks import Hooks
from .script import CallScript


@dataclass(frozen=True, slots=True)
class Document:
    """A TwiML document to run next, and its URL (what relative action URLs resolve against)."""

    root: ElementTree.Element
    url: str


@dataclass(frozen=True, slots=True)
class End:
    status: str  # completed | busy | no-answer | failed | canceled
    reason: str  # hangup | end-of-document | rejected | caller-hangup | dial-completed | error | ...


# A verb's result: None to go on with the next verb, a Document to switch to, or the End of the call.
Step = Document | End | None
Verb = Callable[["Session", ElementTree.Element, str], Step]


@dataclass
class Session:
    store: Store
    epoch: int
    call_sid: str
    account_sid: str
    caller: str
    called: str
    places: dict[str, str]
    script: CallScript
    hooks: Hooks
    media_base: str  # where recordings are served: the sandbox as the simulation's requester reached it
    clock: float = 0.0  # simulated seconds since the call arrived
    answered: bool = False
    documents: int = 0
    transcript: list[dict[str, Any]] = field(default_factory=list)
    heard: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    recording_sids: list[str] = field(default_factory=list)
    # <Start><Recording>s running until the call ends: the noun, its document's URL, the clock when it began.
    started_recordings: list[tuple[ElementTree.Element, str, float]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    first_twiml: str | None = None
    first_url: str | None = None

    # --- webhook parameters ------------------------------------------------------------------------

    def params(self, call_status: str | None = None, **extra: str) -> dict[str, str]:
        """The standard voice webhook parameters, with Twilio's geographic ones."""
        return {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": self.call_sid,
            "CallStatus": call_status or ("in-progress" if self.answered else "ringing"),
            "Called": self.called,
            "Caller": self.caller,
            "Direction": "inbound",
            "From": self.caller,
            "To": self.called,
            **self.places,
            **extra,
        }

    # --- running -----------------------------------------------------------------------------------

    def run(
        self, url: str, method: str, fallback_url: str | None, fallback_method: str, verbs: Mapping[str, Verb]
    ) -> End:
        twiml, source, error = self.hooks.twiml_with_fallback(
            "twiml_fetch", url, method, self.params(), fallback_url, fallback_method
        )
        self.documents = 1
        self.error = error
        if twiml is None or source is None:
            return End("failed", "error")
        self.first_twiml, self.first_url = twiml, source
        step: Step = Document(ElementTree.fromstring(twiml.strip()), source)
        while isinstance(step, Document):
            step = self._run_document(step, verbs)
        if step is None:
            self.answer()  # a document that ran out (even <Response/>): Twilio answered, then hung up
            return End("completed", "end-of-document")
        return step

    def _run_document(self, document: Document, verbs: Mapping[str, Verb]) -> Step:
        for element in document.root:
            interrupted = self.interruption()
            if interrupted is not None:
                return interrupted
            verb = verbs.get(element.tag)
            if verb is None:
                self.transcript.append({"verb": element.tag, "ignored": True, "attributes": dict(element.attrib)})
                self.notes.append(f"<{element.tag}> is not simulated: ignored")
                continue
            if element.tag not in ("Reject", "Redirect"):
                self.answer()  # any other verb picks up the call
            step = verb(self, element, document.url)
            if step is not None:
                return step
            if self.clock >= self.script.max_seconds:
                self.notes.append(
                    f"the call reached the sandbox's limit of {self.script.max_seconds} simulated seconds"
                )
                return End("completed", "duration-limit")
        return None

    def interruption(self) -> Step:
        """What happened to the call outside the TwiML since the last verb (reset, REST hang-up or redirect)."""
        with self.store.lock:
            call = self.store.calls.by_sid.get(self.call_sid)
            if self.epoch != self.store.epoch or call is None:
                return End("failed", "reset")
            if call.phase == "ended":
                return End(call.status, "rest-api")
            redirect, call.redirect_to = call.redirect_to, None
        if redirect is None:
            return None
        url, method, twiml = redirect
        self.transcript.append({"verb": "(REST redirect)", "url": url, "method": method, "twiml": twiml})
        if twiml is not None:
            self.documents += 1
            try:
                return Document(ElementTree.fromstring(twiml.strip()), "inline")
            except ElementTree.ParseError as exc:
                self.error = {"code": 12100, "message": f"Document parse failure: {exc}", "url": "inline"}
                return End("completed", "error")
        assert url is not None
        return self.fetch("rest_redirect", url, method, self.params())

    def fetch(self, kind: str, url: str, method: str, params: dict[str, str]) -> Document | End:
        """The next document (an action, a Redirect); a failure ends the call, as Twilio's application error does."""
        over = "completed" if self.answered else "failed"
        if self.documents >= self.script.max_documents:
            self.notes.append(f"the call fetched {self.documents} TwiML documents, the sandbox's limit (a loop?)")
            return End(over, "document-limit")
        twiml, error = self.hooks.twiml(kind, url, method, params)
        self.documents += 1
        if twiml is None:
            self.error = error
            return End(over, "error")
        return Document(ElementTree.fromstring(twiml.strip()), url)

    def answer(self) -> None:
        if self.answered:
            return
        self.answered = True
        now = time.time()
        with self.store.lock:
            call = self._call()
            if call is not None and call.phase == "ringing":
                call.phase, call.status, call.answered_at, call.updated = "in-progress", "in-progress", now, now

    def _call(self) -> Call | None:
        call = self.store.calls.by_sid.get(self.call_sid)
        return call if call is not None and self.epoch == self.store.epoch else None

    # --- helpers for the verbs ---------------------------------------------------------------------

    def tick(self, seconds: float) -> None:
        self.clock = min(self.clock + max(seconds, 0.0), float(self.script.max_seconds))

    @property
    def duration(self) -> int:
        """The call's billed duration: whole simulated seconds since it was answered, at least 1."""
        return max(1, math.ceil(self.clock)) if self.answered else 0

    def recording_url(self, sid: str) -> str:
        return f"{self.media_base}/{API_VERSION}/Accounts/{self.account_sid}/Recordings/{sid}"


def resolve(document_url: str, target: str | None) -> str:
    """An action or Redirect URL: relative ones resolve against the document's URL; none means the document."""
    target = (target or "").strip()
    if not target:
        return document_url
    return urljoin(document_url, target) if document_url != "inline" else target


def method_of(element: ElementTree.Element, name: str = "method") -> str:
    value = (element.get(name) or "POST").upper()
    return value if value in ("GET", "POST") else "POST"


def integer(element: ElementTree.Element, name: str, default: int) -> int:
    try:
        return int(element.get(name, default))
    except ValueError:
        return default


def flag(element: ElementTree.Element, name: str, default: bool) -> bool:
    value = element.get(name)
    return default if value is None else value.strip().lower() == "true"

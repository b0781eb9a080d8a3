"""What happens after a request returns: message and call lifecycles, status callbacks, TwiML fetches.

A single scheduler thread owns time: each lifecycle step is a timed event that takes the store lock,
changes state, and hands any HTTP work (callbacks, TwiML fetches) to the webhook workers, so neither
the scheduler nor a request thread ever waits on a slow receiver.

Messages::

    [accepted ->] queued -> sending -> sent -> delivered | undelivered      (or queued -> failed)

``accepted`` only when a MessagingServiceSid is given without From (the service then picks a sender).
A status callback goes out for every status the message moves into after its creation.

Calls (resource status in brackets; Twilio never shows "initiated" on the resource)::

    [queued] initiated -> [ringing] ringing -> TwiML fetched on answer -> [in-progress] -> [completed]
                                            -> busy | no-answer | failed

The TwiML document is fetched when the callee answers, like Twilio, with CallStatus=in-progress; a
failed fetch (11200), a non-XML content type (12300) or a document that does not parse as
<Response> (12100) tries FallbackUrl if given, else fails the call. Status callbacks go out for the
StatusCallbackEvent values requested (initiated, ringing, answered, completed), and "completed"
always when StatusCallback is set.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from functools import partial
from typing import Any

from .faults import FaultInjector
from .ids import new_sid
from .magic import SIP_RESPONSE
from .scheduler import Scheduler
from .state import Call, Message, Store
from .twilio_format import (
    API_VERSION,
    CALL_PRICE_PER_MINUTE,
    MMS_PRICE,
    SMS_PRICE,
    billable_minutes,
    price,
    rfc2822,
)
from .twiml import check_twiml, parse_twiml
from .webhooks import Dispatcher, HttpSender, build_request

logger = logging.getLogger("sandbox.twilio.behaviour")

# (TwiML document, where it came from, the error a failed fetch reported)
TwimlResult = tuple[str | None, str | None, dict[str, Any] | None]


@dataclass(frozen=True, slots=True)
class Timing:
    """Seconds between lifecycle steps. Defaults are short so a whole lifecycle takes well under a second."""

    message_accept: float = 0.02  # accepted -> queued (messaging service picks a sender)
    message_queue: float = 0.02  # queued -> sending (or failed)
    message_send: float = 0.03  # sending -> sent
    message_deliver: float = 0.05  # sent -> delivered / undelivered
    call_dial: float = 0.02  # queued -> initiated
    call_ring: float = 0.05  # initiated -> ringing (or failed)
    call_answer: float = 0.05  # ringing -> answered (TwiML fetch) / busy / no-answer
    call_talk: float = 0.10  # in-progress -> completed
    call_duration: int | None = None  # the reported duration in seconds; None: the real talk time, at least 1

    @classmethod
    def uniform(cls, step: float) -> Timing:
        """Every step the same length; ``Timing.uniform(0)`` runs lifecycles as fast as possible."""
        return cls(
            message_accept=step,
            message_queue=step,
            message_send=step,
            message_deliver=step,
            call_dial=step,
            call_ring=step,
            call_answer=step,
            call_talk=step,
        )

    @classmethod
    def coerce(cls, value: Timing | float | dict[str, Any] | None) -> Timing:
        if value is None:
            return cls()
        if isinstance(value, Timing):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            if value < 0:
                raise ValueError("timing must not be negative")
            return cls.uniform(float(value))
        if isinstance(value, dict):
            known = {f.name for f in fields(cls)}
            unknown = sorted(set(value) - known)
            if unknown:
                raise ValueError(f"unknown timing fields: {', '.join(unknown)}")
            for name, step in value.items():
                if name == "call_duration":
                    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
                        raise ValueError("call_duration must be a non-negative integer or null")
                elif isinstance(step, bool) or not isinstance(step, int | float) or step < 0:
                    raise ValueError(f"{name} must be a non-negative number of seconds")
            return replace(cls(), **value)
        raise ValueError("timing must be a number of seconds, an object of step lengths, or null")

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(slots=True)
class Outgoing:
    """One status callback, fully decided (params frozen) when the transition happens."""

    sid: str
    account_sid: str
    url: str
    method: str
    params: dict[str, str]
    token: str
    idempotency_token: str
    event: str
    final: bool


class Engine:
    """Drives lifecycles. API handlers call the *_created/cancel/hangup/redirect methods."""

    def __init__(
        self,
        store: Store,
        faults: FaultInjector,
        timing: Timing,
        *,
        workers: int = 8,
        callback_timeout: float = 15.0,
        hold_timeout: float = 2.0,
    ) -> None:
        self.store = store
        self.faults = faults
        self.timing = timing
        self.hold_timeout = hold_timeout
        self.scheduler = Scheduler()
        self.sender = HttpSender(callback_timeout)
        self.dispatcher = Dispatcher(workers)
        self.dispatcher.on_thread_exit = self.sender.close_thread_connections
        self._held: dict[str, Outgoing] = {}
        self._held_lock = threading.Lock()

    def start(self) -> None:
        self.scheduler.start()
        self.dispatcher.start()

    def stop(self) -> None:
        self.scheduler.stop()
        self.dispatcher.stop()

    def reset(self) -> None:
        self.scheduler.clear()
        with self._held_lock:
            self._held.clear()

    # --- messages ----------------------------------------------------------------------------------

    def message_created(self, message: Message) -> None:
        with self.store.lock:
            self.store.active_lifecycles += 1
        delay = self.timing.message_accept if message.status == "accepted" else self.timing.message_queue
        self.scheduler.call_later(delay, self._message_step, self.store.epoch, message.sid)

    def _message_step(self, epoch: int, sid: str) -> None:
        timing = self.timing
        outgoing: Outgoing | None = None
        next_delay: float | None = None
        with self.store.lock:
            message = self.store.messages.by_sid.get(sid)
            if epoch != self.store.epoch or message is None:
                return
            now = time.time()
            outcome = message.outcome
            final = False
            if message.status == "accepted":
                message.from_ = self._service_sender(message)
                message.status, next_delay = "queued", timing.message_queue
            elif message.status == "queued":
                if outcome.final_status == "failed":
                    message.status, final = "failed", True
                    message.error_code, message.error_message = outcome.error_code, outcome.error_message
                else:
                    message.status, next_delay = "sending", timing.message_send
            elif message.status == "sending":
                message.status = "sent"
                message.date_sent = now
                unit = MMS_PRICE if message.media_urls else SMS_PRICE
                message.price = price(unit * message.num_segments)
                if outcome.final_status == "sent":
                    final = True  # the carrier never confirms: "sent" is the last word
                else:
                    next_delay = timing.message_deliver
            elif message.status == "sent":
                message.status, final = outcome.final_status, True
                message.error_code, message.error_message = outcome.error_code, outcome.error_message
            else:
                return
            message.updated = now
            if final:
                self.store.active_lifecycles -= 1
            if message.status_callback:
                outgoing = self._message_callback(message, now, final)
        if next_delay is not None:
            self.scheduler.call_later(next_delay, self._message_step, epoch, sid)
        if outgoing:
            self.emit([outgoing])

    def _service_sender(self, message: Message) -> str:
        # A Messaging Service sends from one of the account's SMS-capable numbers when it has any.
        for number in self.store.numbers.by_account.get(message.account_sid, []):
            if number.capabilities.get("sms"):
                return number.phone_number
        digits = int((message.messaging_service_sid or "0")[-4:], 16) % 10_000
        return f"+1415555{digits:04d}"

    def _message_callback(self, message: Message, now: float, final: bool) -> Outgoing:
        params = {
            "AccountSid": message.account_sid,
            "ApiVersion": API_VERSION,
            "From": message.from_ or "",
            "MessageSid": message.sid,
            "MessageStatus": message.status,
            "SmsSid": message.sid,
            "SmsStatus": message.status,
            "To": message.to,
        }
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        if message.error_code is not None:
            params["ErrorCode"] = str(message.error_code)
        if message.status in ("delivered", "undelivered"):
            params["RawDlrDoneDate"] = time.strftime("%y%m%d%H%M", time.gmtime(now))
        assert message.status_callback is not None
        return Outgoing(
            message.sid,
            message.account_sid,
            message.status_callback,
            "POST",
            params,
            self.store.token_of(message.account_sid),
            new_sid(""),
            message.status,
            final,
        )

    # --- calls -------------------------------------------------------------------------------------

    def call_created(self, call: Call) -> None:
        with self.store.lock:
            self.store.active_lifecycles += 1
        self.scheduler.call_later(
            self.timing.call_dial, self._call_step, self.store.epoch, call.sid, call.generation, "dial"
        )

    def _call_step(self, epoch: int, sid: str, generation: int, step: str) -> None:
        timing = self.timing
        outgoing: list[Outgoing] = []
        follow_up: tuple[float, str] | None = None
        answer = False
        with self.store.lock:
            call = self.store.calls.by_sid.get(sid)
            if epoch != self.store.epoch or call is None or call.generation != generation or call.phase == "ended":
                return
            now = time.time()
            if step == "dial":
                call.phase, call.start_time, call.updated = "initiated", now, now
                outgoing += self._call_event(call, "initiated", "initiated", now)
                follow_up = (timing.call_ring, "ring")
            elif step == "ring":
                if call.outcome == "failed":
                    outgoing += self.end_call(call, "failed", now)
                else:
                    call.phase, call.status, call.updated = "ringing", "ringing", now
                    outgoing += self._call_event(call, "ringing", "ringing", now)
                    follow_up = (timing.call_answer, "answer")
            elif step == "answer":
                if call.outcome in ("busy", "no-answer"):
                    outgoing += self.end_call(call, call.outcome, now)
                else:
                    call.phase = "answering"
                    answer = True
            elif step == "hangup":
                outgoing += self.end_call(call, "completed", now)
        if follow_up:
            self.scheduler.call_later(follow_up[0], self._call_step, epoch, sid, generation, follow_up[1])
        if answer:
            # The fetch is network I/O: it runs on the call's webhook worker, after its earlier callbacks.
            self.dispatcher.submit(sid, partial(self._answer, epoch, sid, generation))
        self.emit(outgoing)

    def _answer(self, epoch: int, sid: str, generation: int) -> None:
        with self.store.lock:
            call = self._call_in_phase(epoch, sid, generation, "answering")
            if call is None:
                return
            answered_by = self._answered_by(call)
            fetch_twiml = self._twiml_fetch(call, answered_by)
        twiml, source, error = fetch_twiml()
        outgoing: list[Outgoing] = []
        with self.store.lock:
            call = self._call_in_phase(epoch, sid, generation, "answering")
            if call is None:
                return
            now = time.time()
            call.twiml_error = error
            if twiml is None:
                outgoing += self.end_call(call, "failed", now)
            else:
                call.fetched_twiml, call.twiml_source = twiml, source
                call.phase, call.status, call.answered_at, call.updated = "in-progress", "in-progress", now, now
                call.answered_by = answered_by
                outgoing += self._call_event(call, "answered", "in-progress", now)
                self.scheduler.call_later(self.timing.call_talk, self._call_step, epoch, sid, generation, "hangup")
        self.emit(outgoing)

    def redirect(self, call: Call) -> None:
        """A POST with Url/Twiml to an in-progress call: fetch the new TwiML (caller holds the lock)."""
        self.dispatcher.submit(call.sid, partial(self._redirect, self.store.epoch, call.sid, call.generation))

    def _redirect(self, epoch: int, sid: str, generation: int) -> None:
        with self.store.lock:
            call = self._call_in_phase(epoch, sid, generation, "in-progress")
            if call is None:
                return
            fetch_twiml = self._twiml_fetch(call, call.answered_by)
        twiml, source, error = fetch_twiml()
        outgoing: list[Outgoing] = []
        with self.store.lock:
            call = self._call_in_phase(epoch, sid, generation, "in-progress")
            if call is None:
                return
            call.twiml_error = error
            if twiml is None:
                # The caller is connected: Twilio says "an application error has occurred" and hangs up.
                outgoing += self.end_call(call, "completed", time.time())
            else:
                call.fetched_twiml, call.twiml_source, call.updated = twiml, source, time.time()
        self.emit(outgoing)

    def _call_in_phase(self, epoch: int, sid: str, generation: int, phase: str) -> Call | None:
        """The call, unless a reset, cancel, hang-up or redirect has overtaken this step (caller holds the lock)."""
        call = self.store.calls.by_sid.get(sid)
        if epoch != self.store.epoch or call is None or call.generation != generation or call.phase != phase:
            return None
        return call

    def _twiml_fetch(self, call: Call, answered_by: str | None) -> Callable[[], TwimlResult]:
        """The call's TwiML fetch, its inputs read now (caller holds the lock), to run after unlocking."""
        plan = (call.url, call.method, call.twiml, call.fallback_url, call.fallback_method)
        params = self._twiml_params(call, answered_by)
        token = self.store.token_of(call.account_sid)
        return partial(self._resolve_twiml, call.sid, call.account_sid, plan, params, token)

    def _resolve_twiml(
        self,
        sid: str,
        account_sid: str,
        plan: tuple[str | None, str, str | None, str | None, str],
        params: dict[str, str],
        token: str,
    ) -> TwimlResult:
        url, method, inline, fallback_url, fallback_method = plan
        if inline is not None:
            twiml, error = parse_twiml(inline, "inline")
            return twiml, "inline", error
        assert url is not None
        twiml, error = self._fetch(sid, account_sid, url, method, params, token)
        if twiml is not None:
            return twiml, url, None
        if fallback_url:
            # Twilio tells the fallback what went wrong with the primary URL.
            fallback_params = {**params, "ErrorCode": str(error["code"]) if error else "11200", "ErrorUrl": url}
            fallback_twiml, fallback_error = self._fetch(
                sid, account_sid, fallback_url, fallback_method, fallback_params, token
            )
            if fallback_twiml is not None:
                return fallback_twiml, fallback_url, error
            return None, None, fallback_error
        return None, None, error

    def _fetch(
        self, sid: str, account_sid: str, url: str, method: str, params: dict[str, str], token: str
    ) -> tuple[str | None, dict[str, Any] | None]:
        request = build_request(url, method, params, token, new_sid(""))
        sent_wall, sent_mono = time.time(), time.monotonic()
        result = self.sender.send(request)
        twiml, error = check_twiml(result, url)
        self.store.journals.callbacks.append(
            {
                "kind": "twiml_fetch",
                "sid": sid,
                "account_sid": account_sid,
                "event": "answer",
                "url": request.url,
                "method": request.method,
                "params": params,
                "signature": request.headers["X-Twilio-Signature"],
                "idempotency_token": request.headers["I-Twilio-Idempotency-Token"],
                "status": result.status,
                "error": result.error if result.status is None else (error["message"] if error else None),
                "duplicate": False,
                "sent_at": sent_wall,
                "sent_monotonic": sent_mono,
                "elapsed_ms": round(result.elapsed_ms, 3),
            }
        )
        return twiml, error

    def _answered_by(self, call: Call) -> str | None:
        if not call.machine_detection:
            return None
        if call.outcome == "machine":
            return "machine_end_beep" if call.machine_detection == "DetectMessageEnd" else "machine_start"
        return "human"

    def _twiml_params(self, call: Call, answered_by: str | None) -> dict[str, str]:
        params = {
            "AccountSid": call.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": call.sid,
            "CallStatus": "in-progress",
            "Called": call.to,
            "Caller": call.from_,
            "Direction": call.direction,
            "From": call.from_,
            "To": call.to,
            **call.extra_params,
        }
        if answered_by:
            params["AnsweredBy"] = answered_by
        return params

    def end_call(self, call: Call, status: str, now: float) -> list[Outgoing]:
        """Final transition (caller holds the lock). Returns the callbacks to emit after unlocking."""
        if call.phase != "ended":
            self.store.active_lifecycles -= 1
        call.status, call.phase, call.end_time, call.updated = status, "ended", now, now
        call.generation += 1  # anything still scheduled for this call is now stale
        if status == "completed" and call.answered_at is not None:
            call.duration = (
                self.timing.call_duration
                if self.timing.call_duration is not None
                else max(1, math.ceil(now - call.answered_at))
            )
            call.price = price(CALL_PRICE_PER_MINUTE * billable_minutes(call.duration))
            if call.record:
                call.recording_sid = new_sid("RE")
        else:
            call.duration = 0
        return self._call_event(call, "completed", status, now)

    def cancel_or_hangup(self, call: Call, requested: str, now: float) -> list[Outgoing]:
        """Status=canceled|completed from the API (caller holds the lock).

        Like Twilio: either ends a call that has not been answered as "canceled"; "completed" hangs up
        an answered call; "canceled" on an answered call changes nothing.
        """
        if call.phase in ("queued", "initiated", "ringing", "answering"):
            return self.end_call(call, "canceled", now)
        if call.phase == "in-progress" and requested == "completed":
            return self.end_call(call, "completed", now)
        return []

    def call_event(self, call: Call, event: str, call_status: str, now: float) -> list[Outgoing]:
        """The status callback for this event, if the call asked for it (caller holds the lock)."""
        return self._call_event(call, event, call_status, now)

    def _call_event(self, call: Call, event: str, call_status: str, now: float) -> list[Outgoing]:
        if not call.status_callback or event not in call.status_callback_events:
            return []
        params = {
            "AccountSid": call.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": call.sid,
            "CallStatus": call_status,
            "Called": call.to,
            "Caller": call.from_,
            "Direction": call.direction,
            "From": call.from_,
            "To": call.to,
            "Timestamp": rfc2822(now) or "",
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(call.callback_sequence),
            **call.extra_params,
        }
        call.callback_sequence += 1
        if call.answered_by and event in ("answered", "completed"):
            params["AnsweredBy"] = call.answered_by
        if event == "completed":
            duration = call.duration or 0
            params["CallDuration"] = str(duration)
            params["Duration"] = str(billable_minutes(duration) if duration else 0)
            params["SipResponseCode"] = str(SIP_RESPONSE.get(call_status, 200))
            if call.recording_sid:
                params["RecordingSid"] = call.recording_sid
                params["RecordingUrl"] = (
                    f"https://api.twilio.com/{API_VERSION}/Accounts/{call.account_sid}/Recordings/{call.recording_sid}"
                )
                params["RecordingDuration"] = str(duration)
        return [
            Outgoing(
                call.sid,
                call.account_sid,
                call.status_callback,
                call.status_callback_method,
                params,
                self.store.token_of(call.account_sid),
                new_sid(""),
                event,
                event == "completed",
            )
        ]

    # --- callback delivery -------------------------------------------------------------------------

    def emit(self, outgoing: list[Outgoing]) -> None:
        """Send callbacks, applying the out-of-order fault (see faults.py). Never call with the store lock held."""
        for item in outgoing:
            with self._held_lock:
                held = self._held.pop(item.sid, None)
                hold = held is None and not item.final and self.faults.out_of_order
                if hold:
                    self._held[item.sid] = item
            if hold:
                self.scheduler.call_later(self.hold_timeout, self._release, item)
                continue
            self._dispatch(item)
            if held:
                self._dispatch(held)

    def _release(self, item: Outgoing) -> None:
        with self._held_lock:
            if self._held.get(item.sid) is not item:
                return
            del self._held[item.sid]
        self._dispatch(item)

    def _dispatch(self, item: Outgoing) -> None:
        self.dispatcher.submit(item.sid, partial(self._deliver, item))

    def _deliver(self, item: Outgoing) -> None:
        copies = 2 if self.faults.duplicate_callback() else 1
        for copy in range(copies):
            request = build_request(item.url, item.method, item.params, item.token, item.idempotency_token)
            sent_wall, sent_mono = time.time(), time.monotonic()
            result = self.sender.send(request)
            self.store.journals.callbacks.append(
                {
                    "kind": "status_callback",
                    "sid": item.sid,
                    "account_sid": item.account_sid,
                    "event": item.event,
                    "url": request.url,
                    "method": request.method,
                    "params": item.params,
                    "signature": request.headers["X-Twilio-Signature"],
                    "idempotency_token": item.idempotency_token,
                    "status": result.status,
                    "error": result.error,
                    "duplicate": copy > 0,
                    "sent_at": sent_wall,
                    "sent_monotonic": sent_mono,
                    "elapsed_ms": round(result.elapsed_ms, 3),
                }
            )

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once nothing is scheduled, held or being delivered (for tests and tools)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._held_lock:
                held = bool(self._held)
            with self.store.lock:
                active = self.store.active_lifecycles
            # Not the scheduler's queue: it may hold stale steps of canceled calls for a long time.
            if not held and active == 0 and self.dispatcher.wait_idle(0.0):
                return True
            time.sleep(0.01)
        return False

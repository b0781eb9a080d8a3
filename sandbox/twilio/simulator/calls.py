"""POST /sandbox/inbound-calls: a caller rings a number an account owns, and Twilio runs its VoiceUrl.

The Call resource (direction inbound, status ringing) exists as soon as the request is accepted, in
the owning account, visible through the Calls REST API. Each simulation runs on a thread of its own
(never the scheduler's, never a webhook worker's), so simulated calls run side by side and a slow
TwiML server holds up only its own call; with "wait": true (the default) the control request waits
for the end and answers with the transcript. The call counts as an active lifecycle meanwhile, so
GET /sandbox/idle waits for it.

At the end the resource gets its status (completed, busy, no-answer, failed; canceled if the REST
API canceled it while ringing), a duration in simulated seconds, and a price per started minute;
the number's StatusCallback (if set) gets CallStatus, CallDuration and Duration (minutes) with the
standard parameters, signed, before the control request is answered.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from ..behaviour import Engine
from ..ids import new_sid
from ..state import Call, Store
from ..twilio_format import INBOUND_CALL_PRICE_PER_MINUTE, billable_minutes, price
from .hooks import Hooks
from .places import call_places
from .recording import stop_recordings
from .script import CallScript, Refused
from .session import End, Session
from .verbs import VERBS


class InboundCalls:
    def __init__(self, store: Store, engine: Engine) -> None:
        self.store = store
        self.engine = engine

    def place(self, data: Any, media_base: str) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) for POST /sandbox/inbound-calls. Raises ValueError (400) or Refused."""
        script = CallScript.from_json(data)
        received_at, received_monotonic = time.time(), time.monotonic()
        with self.store.lock:
            number_sid = self.store.owned_numbers.get(script.to)
            number = self.store.numbers.by_sid.get(number_sid) if number_sid else None
            if number is None:
                raise Refused(404, f"no account owns {script.to} in the sandbox")
            if not number.voice_url:
                raise Refused(409, f"{script.to} ({number.sid}) has no VoiceUrl")
            places = call_places(script.from_, number.phone_number)
            call = Call(
                seq=self.store.next_seq(),
                sid=new_sid("CA"),
                account_sid=number.account_sid,
                to=number.phone_number,
                from_=script.from_,
                phone_number_sid=number.sid,
                created=received_at,
                updated=received_at,
                url=number.voice_url,
                method=number.voice_method,
                twiml=None,
                fallback_url=number.voice_fallback_url,
                fallback_method=number.voice_fallback_method,
                status_callback=number.status_callback,
                status_callback_method=number.status_callback_method,
                status_callback_events=frozenset({"completed"}),
                machine_detection=None,
                record=False,
                timeout=60,
                outcome="answer",
                status="ringing",
                phase="ringing",
                start_time=received_at,
                direction="inbound",
                extra_params=places,
            )
            self.store.calls.add(call)
            self.store.active_lifecycles += 1
            hooks = Hooks(
                self.store, self.engine.sender, call.sid, call.account_sid, self.store.token_of(call.account_sid)
            )
            session = Session(
                self.store,
                self.store.epoch,
                call.sid,
                call.account_sid,
                call.from_,
                call.to,
                places,
                script,
                hooks,
                media_base,
            )
            plan = (call.url, call.method, call.fallback_url, call.fallback_method)
        result: dict[str, Any] = {}
        thread = threading.Thread(
            target=self._simulate,
            args=(session, plan, result, received_at, received_monotonic),
            name=f"sandbox-inbound-{call.sid[-8:]}",
            daemon=True,
        )
        thread.start()
        if not script.wait:
            return 202, {"sid": call.sid, "account_sid": call.account_sid, "status": "ringing"}
        thread.join()
        return 200, result

    def _simulate(
        self,
        session: Session,
        plan: tuple[str | None, str, str | None, str],
        result: dict[str, Any],
        received_at: float,
        received_monotonic: float,
    ) -> None:
        url, method, fallback_url, fallback_method = plan
        assert url is not None
        try:
            try:
                end = session.run(url, method, fallback_url, fallback_method, VERBS)
            except Exception as exc:  # a simulator bug must still end the call and answer the request
                session.error = {"code": None, "message": f"sandbox simulator error: {type(exc).__name__}: {exc}"}
                end = End("completed" if session.answered else "failed", "error")
            stop_recordings(session)
            result.update(self._finish(session, end))
        finally:
            self.engine.sender.close_thread_connections()
        self.store.journals.inbound_calls.append(
            {**result, "received_at": received_at, "received_monotonic": received_monotonic}
        )

    def _finish(self, session: Session, end: End) -> dict[str, Any]:
        status, duration, price_ = end.status, session.duration, None
        outgoing = []
        with self.store.lock:
            call = self.store.calls.by_sid.get(session.call_sid)
            if call is not None and session.epoch == self.store.epoch:
                if call.phase != "ended":
                    self.store.active_lifecycles -= 1
                    now = time.time()
                    if status != "completed":
                        duration = 0  # rejected, busy, unanswered or failed: nothing billed
                    else:
                        price_ = price(INBOUND_CALL_PRICE_PER_MINUTE * billable_minutes(duration))
                    started = call.start_time or now
                    call.status, call.phase, call.updated = status, "ended", now
                    call.end_time = started + max(session.clock, 0.0)
                    call.duration, call.price = duration, price_
                    call.generation += 1
                    call.fetched_twiml, call.twiml_source, call.twiml_error = (
                        session.first_twiml,
                        session.first_url,
                        session.error,
                    )
                    outgoing = self.engine.call_event(call, "completed", status, now)
                else:  # ended through the REST API, which sent its own status callback
                    status, duration, price_ = call.status, call.duration or 0, call.price
        for item in outgoing:
            session.hooks.send("status_callback", item.url, item.method, item.params)
        return {
            "sid": session.call_sid,
            "account_sid": session.account_sid,
            "from": session.caller,
            "to": session.called,
            "status": status,
            "duration": duration,
            "price": price_,
            "price_unit": "USD",
            "end_reason": end.reason,
            "transcript": session.transcript,
            "heard": session.heard,
            "recordings": session.recording_sids,
            "requests": session.hooks.requests,
            "notes": session.notes,
            "error": session.error,
        }

"""Calls: place (create), list with filters and paging, fetch, modify (cancel / hang up / redirect), delete."""

from __future__ import annotations

import time

from .. import errors, magic, numbers
from ..ids import new_sid
from ..state import Account, Call
from ..twilio_format import call_json
from .common import (
    ApiContext,
    Request,
    Response,
    boolean,
    fetch_response,
    first,
    get_or_404,
    http_method,
    integer,
    list_response,
    paging,
    time_filter,
    url,
)

EVENTS = ("initiated", "ringing", "answered", "completed")
STATUSES = ("queued", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled")
MACHINE_DETECTION = ("Enable", "DetectMessageEnd")


def _destination(raw: str) -> str | None:
    # Calls may also go to Twilio Client identities and SIP URIs, which are not phone numbers.
    if raw.startswith(("client:", "sip:")) and len(raw) > 5:
        return raw
    return numbers.normalize(raw)


def create_call(api: ApiContext, request: Request, caller: Account, account_sid: str) -> Response:
    account = api.account_in_scope(caller, account_sid)
    form = request.form
    to_raw = first(form, "To")
    if not to_raw:
        raise errors.bad_request(21201, "No 'To' number is specified")
    from_raw = first(form, "From")
    if not from_raw:
        raise errors.bad_request(21213, "No 'From' number is specified")
    twiml = first(form, "Twiml")
    answer_url = url(form, "Url", 21205)
    if first(form, "ApplicationSid"):
        raise errors.bad_request(21218, "Invalid ApplicationSid: the sandbox has no Applications; use Url or Twiml")
    if answer_url is None and not twiml:
        raise errors.bad_request(21205, "Url parameter is required.")
    method = http_method(form, "Method")
    fallback_url = url(form, "FallbackUrl", 21205)
    fallback_method = http_method(form, "FallbackMethod")
    status_callback = url(form, "StatusCallback", 21609)
    status_callback_method = http_method(form, "StatusCallbackMethod")
    events = set()
    for value in form.get("StatusCallbackEvent", []):
        # Clients send one parameter per event; some send "initiated ringing" in one value.
        for event in value.replace(",", " ").split():
            if event.lower() not in EVENTS:
                raise errors.invalid_parameter("StatusCallbackEvent", f"{event!r} is not one of {', '.join(EVENTS)}")
            events.add(event.lower())
    events.add("completed")  # Twilio always reports the end of the call when there is a StatusCallback
    machine_detection = first(form, "MachineDetection") or None
    if machine_detection is not None and machine_detection not in MACHINE_DETECTION:
        raise errors.invalid_parameter("MachineDetection", f"must be one of {', '.join(MACHINE_DETECTION)}")
    record = bool(boolean(form, "Record"))
    timeout = integer(form, "Timeout")
    if timeout is not None and timeout < 1:
        raise errors.invalid_parameter("Timeout", "must be at least 1 second")
    timeout = min(timeout or 60, 600)  # Twilio silently caps Timeout at 600

    if from_raw in magic.CALL_FROM_REJECTS:
        raise errors.bad_request(*magic.CALL_FROM_REJECTS[from_raw])
    sender = numbers.normalize(from_raw) or (from_raw if from_raw.startswith("client:") else None)
    if sender is None:
        raise errors.bad_request(21212, f"The 'From' number {from_raw} is not a valid phone number.")
    to = _destination(to_raw)
    if to in magic.CALL_TO_REJECTS:
        raise errors.bad_request(*magic.CALL_TO_REJECTS[to])
    if to is None:
        raise errors.bad_request(21211, f"The 'To' number {to_raw} is not a valid phone number.")

    now = time.time()
    with api.store.lock:
        owned = api.store.owned_numbers.get(sender)
        number = api.store.numbers.by_sid.get(owned) if owned else None
        call = Call(
            seq=api.store.next_seq(),
            sid=new_sid("CA"),
            account_sid=account.sid,
            to=to,
            from_=sender,
            phone_number_sid=number.sid if number and number.account_sid == account.sid else None,
            created=now,
            updated=now,
            url=answer_url,
            method=method,
            twiml=twiml,
            fallback_url=fallback_url,
            fallback_method=fallback_method,
            status_callback=status_callback,
            status_callback_method=status_callback_method,
            status_callback_events=frozenset(events),
            machine_detection=machine_detection,
            record=record,
            timeout=timeout,
            outcome=magic.CALL_OUTCOMES.get(to, "answer"),
        )
        api.store.calls.add(call)
        result = call_json(call)
    api.store.journals.calls.append(
        {
            "sid": call.sid,
            "account_sid": call.account_sid,
            "to": to,
            "from": sender,
            "url": answer_url,
            "method": method,
            "twiml": twiml,
            "status_callback": status_callback,
            "status_callback_method": status_callback_method,
            "status_callback_events": sorted(events),
            "machine_detection": machine_detection,
            "record": record,
            "timeout": timeout,
            "received_at": request.received_at,
            "received_monotonic": request.received_monotonic,
        }
    )
    api.engine.call_created(call)
    return Response(201, result)


def list_calls(api: ApiContext, request: Request, caller: Account, account_sid: str) -> Response:
    account = api.account_in_scope(caller, account_sid)
    query = request.query
    to = first(query, "To")
    sender = first(query, "From")
    status = first(query, "Status")
    if status is not None and status not in STATUSES:
        raise errors.invalid_parameter("Status", f"must be one of {', '.join(STATUSES)}")
    parent = first(query, "ParentCallSid")
    to_match = (_destination(to) or to) if to else None
    from_match = (numbers.normalize(sender) or sender) if sender else None
    start_filters, started_in_range = time_filter(query, "StartTime")
    end_filters, ended_in_range = time_filter(query, "EndTime")
    paged = paging(query)
    filters = [
        (k, v)
        for k, v in (("To", to), ("From", sender), ("ParentCallSid", parent), ("Status", status))
        if v is not None
    ]
    filters += start_filters + end_filters

    def wanted(call: Call) -> bool:
        return (
            parent is None  # the sandbox places no child calls
            and (to_match is None or call.to == to_match)
            and (from_match is None or call.from_ == from_match)
            and (status is None or call.status == status)
            and (started_in_range is None or started_in_range(call.start_time))
            and (ended_in_range is None or ended_in_range(call.end_time))
        )

    return list_response(api, request, "calls", api.store.calls, account.sid, wanted, call_json, filters, paged)


def fetch_call(api: ApiContext, request: Request, caller: Account, account_sid: str, sid: str) -> Response:
    return fetch_response(api, request, caller, account_sid, api.store.calls, sid, call_json)


def update_call(api: ApiContext, request: Request, caller: Account, account_sid: str, sid: str) -> Response:
    account = api.account_in_scope(caller, account_sid)
    form = request.form
    status = first(form, "Status")
    if status is not None and status not in ("canceled", "completed"):
        raise errors.invalid_parameter("Status", "must be canceled or completed")
    new_url = url(form, "Url", 21205)
    new_twiml = first(form, "Twiml")
    method = http_method(form, "Method")
    fallback_url = url(form, "FallbackUrl", 21205)
    fallback_method = http_method(form, "FallbackMethod")
    status_callback = url(form, "StatusCallback", 21609)
    status_callback_method = first(form, "StatusCallbackMethod")
    with api.store.lock:
        call = get_or_404(api.store.calls, account.sid, sid, request.path)
        if (new_url or new_twiml) and status is None and call.phase != "in-progress":
            raise errors.bad_request(21220, "Call is not in-progress. Cannot redirect.")
        if status_callback:
            call.status_callback = status_callback
        if status_callback_method:
            call.status_callback_method = http_method(form, "StatusCallbackMethod")
        outgoing = api.engine.cancel_or_hangup(call, status, time.time()) if status else []
        if (new_url or new_twiml) and call.phase == "in-progress":
            call.url, call.method, call.twiml = new_url, method, new_twiml
            if fallback_url:
                call.fallback_url, call.fallback_method = fallback_url, fallback_method
            if call.direction == "inbound":
                call.redirect_to = (new_url, method, new_twiml)  # the simulator follows it before the next verb
            else:
                api.engine.redirect(call)
        call.updated = time.time()
        body = call_json(call)
    api.engine.emit(outgoing)
    return Response(200, body)


def delete_call(api: ApiContext, request: Request, caller: Account, account_sid: str, sid: str) -> Response:
    account = api.account_in_scope(caller, account_sid)
    with api.store.lock:
        call = get_or_404(api.store.calls, account.sid, sid, request.path)
        if call.phase != "ended":
            raise errors.bad_request(20009, f"Cannot delete call {sid} while it is {call.status}")
        api.store.calls.remove(call)
    return Response(204, None)

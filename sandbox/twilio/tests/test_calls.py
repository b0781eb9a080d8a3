"""Sandbox calls: TwiML fetch, progress callbacks, outcomes, cancel / hang up / redirect."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from sandbox.twilio import SandboxServer
from sandbox.twilio.tests.support import TWIML_OK, Control, Receiver, Tenant
from testsupport.wait import wait_until

FROM = "+14155550199"
ENDED = ("completed", "busy", "no-answer", "failed", "canceled")
ALL_EVENTS = ["initiated", "ringing", "answered", "completed"]


def ended(client: Client, sid: str) -> Any:
    return wait_until(lambda: (c := client.calls(sid).fetch()).status in ENDED and c, message=f"call {sid} to end")


def sandbox_call(control: Control, sid: str) -> dict[str, Any]:
    [entry] = [c for c in control.log("calls") if c["sid"] == sid]
    return entry


@pytest.fixture
def slow_calls(control: Control) -> Iterator[Control]:
    """Calls that ring (call_answer) or talk (call_talk) for a long time, so tests can act mid-call."""
    control.post("/sandbox/timing", {"call_answer": 30.0, "call_talk": 30.0})
    yield control


def test_call_lifecycle_fetches_twiml_and_reports_progress(
    tenant: Tenant, receiver: Receiver, control: Control
) -> None:
    answer_url = receiver.unique("/twiml/ok")
    status_url = receiver.unique("/status/call")
    call = tenant.client.calls.create(
        to="+14155550100", from_=FROM, url=answer_url, status_callback=status_url, status_callback_event=ALL_EVENTS
    )
    assert call.sid is not None and re.fullmatch(r"CA[0-9a-f]{32}", call.sid)
    assert (call.status, call.direction, call.account_sid) == ("queued", "outbound-api", tenant.sid)
    assert (call.to_formatted, call.from_formatted) == ("(415) 555-0100", "(415) 555-0199")
    assert call.duration is None and call.price is None and call.start_time is None

    callbacks = receiver.wait_for(status_url, count=4)
    [fetch] = receiver.matching(answer_url)
    validator = RequestValidator(tenant.auth_token)

    # The TwiML fetch: a signed POST when the callee answers.
    assert fetch.method == "POST"
    assert validator.validate(fetch.url, fetch.params, fetch.signature)
    assert fetch.params == {
        "AccountSid": tenant.sid,
        "ApiVersion": "2010-04-01",
        "CallSid": call.sid,
        "CallStatus": "in-progress",
        "Called": "+14155550100",
        "Caller": FROM,
        "Direction": "outbound-api",
        "From": FROM,
        "To": "+14155550100",
    }

    # Progress callbacks: one per requested event, in order, numbered, signed.
    assert [c.params["CallStatus"] for c in callbacks] == ["initiated", "ringing", "in-progress", "completed"]
    assert [c.params["SequenceNumber"] for c in callbacks] == ["0", "1", "2", "3"]
    for callback in callbacks:
        assert validator.validate(callback.url, callback.params, callback.signature)
        assert callback.params["CallbackSource"] == "call-progress-events"
        assert callback.params["CallSid"] == call.sid and callback.params["AccountSid"] == tenant.sid
        assert email.utils.parsedate_to_datetime(callback.params["Timestamp"]).tzinfo is not None
    assert fetch.received_monotonic < callbacks[2].received_monotonic  # answered only after the TwiML arrived
    completed = callbacks[-1].params
    assert completed["CallDuration"] == "1" and completed["SipResponseCode"] == "200"

    final = tenant.client.calls(call.sid).fetch()
    assert (final.status, final.duration, final.price, final.price_unit) == ("completed", "1", "-0.01400", "USD")
    assert final.start_time is not None and final.end_time is not None and final.end_time >= final.start_time
    assert final.answered_by is None  # no machine detection asked for

    entry = sandbox_call(control, call.sid)
    assert (entry["status"], entry["twiml"], entry["twiml_source"], entry["twiml_error"]) == (
        "completed",
        TWIML_OK,
        answer_url,
        None,
    )


def test_completed_is_the_default_and_only_callback(tenant: Tenant, receiver: Receiver) -> None:
    status_url = receiver.unique("/status/default")
    call = tenant.client.calls.create(
        to="+14155550100", from_=FROM, url=receiver.unique("/twiml/ok"), status_callback=status_url
    )
    assert call.sid is not None
    ended(tenant.client, call.sid)
    [callback] = receiver.wait_for(status_url)
    assert callback.params["CallStatus"] == "completed" and callback.params["SequenceNumber"] == "0"


def test_twiml_fetch_with_get_signs_the_query_string(tenant: Tenant, receiver: Receiver) -> None:
    answer_url = receiver.unique("/twiml/ok") + "?tenant=acme"
    call = tenant.client.calls.create(to="+14155550100", from_=FROM, url=answer_url, method="GET")
    assert call.sid is not None
    [fetch] = receiver.wait_for(answer_url)
    assert fetch.method == "GET" and fetch.form == {}
    query = parse_qs(urlsplit(fetch.url).query)
    assert query["tenant"] == ["acme"] and query["CallSid"] == [call.sid] and query["CallStatus"] == ["in-progress"]
    assert RequestValidator(tenant.auth_token).validate(fetch.url, {}, fetch.signature)
    assert ended(tenant.client, call.sid).status == "completed"


def test_inline_twiml_needs_no_fetch(tenant: Tenant, control: Control) -> None:
    twiml = "<Response><Say>Inline</Say><Hangup/></Response>"
    call = tenant.client.calls.create(to="+14155550100", from_=FROM, twiml=twiml)
    assert call.sid is not None
    assert ended(tenant.client, call.sid).status == "completed"
    entry = sandbox_call(control, call.sid)
    assert (entry["twiml"], entry["twiml_source"]) == (twiml, "inline")
    assert not [c for c in control.log("callbacks") if c["sid"] == call.sid]


@pytest.mark.parametrize(
    ("to", "status", "sip"),
    [("+15005550486", "busy", "486"), ("+15005550480", "no-answer", "480"), ("+15005550500", "failed", "500")],
)
def test_unanswered_outcomes(tenant: Tenant, receiver: Receiver, to: str, status: str, sip: str) -> None:
    answer_url = receiver.unique("/twiml/ok")
    status_url = receiver.unique("/status/outcome")
    call = tenant.client.calls.create(
        to=to, from_=FROM, url=answer_url, status_callback=status_url, status_callback_event=ALL_EVENTS
    )
    assert call.sid is not None
    final = ended(tenant.client, call.sid)
    assert (final.status, final.duration, final.price) == (status, "0", None)
    callbacks = receiver.wait_for(status_url, count=3 if status != "failed" else 2)
    expected = ["initiated", "ringing", status] if status != "failed" else ["initiated", "failed"]
    assert [c.params["CallStatus"] for c in callbacks] == expected
    assert callbacks[-1].params["CallDuration"] == "0" and callbacks[-1].params["SipResponseCode"] == sip
    assert receiver.matching(answer_url) == []  # nobody answered: no TwiML fetch


@pytest.mark.parametrize(("path", "code"), [("/twiml/500", 11200), ("/twiml/bad", 12100), ("/twiml/json", 12300)])
def test_twiml_failures_fail_the_call(
    tenant: Tenant, receiver: Receiver, control: Control, path: str, code: int
) -> None:
    status_url = receiver.unique("/status/twimlfail")
    call = tenant.client.calls.create(
        to="+14155550100", from_=FROM, url=receiver.unique(path), status_callback=status_url
    )
    assert call.sid is not None
    assert ended(tenant.client, call.sid).status == "failed"
    entry = sandbox_call(control, call.sid)
    assert entry["twiml_error"]["code"] == code and entry["twiml"] is None
    [callback] = receiver.wait_for(status_url)
    assert callback.params["CallStatus"] == "failed"


def test_unreachable_twiml_url_is_11200(tenant: Tenant, control: Control) -> None:
    call = tenant.client.calls.create(to="+14155550100", from_=FROM, url="http://127.0.0.1:9/nothing-listens-here")
    assert call.sid is not None
    assert ended(tenant.client, call.sid).status == "failed"
    assert sandbox_call(control, call.sid)["twiml_error"]["code"] == 11200


def test_fallback_url_is_told_what_failed(tenant: Tenant, receiver: Receiver, control: Control) -> None:
    primary = receiver.unique("/twiml/500")
    fallback = receiver.unique("/twiml/ok")
    call = tenant.client.calls.create(to="+14155550100", from_=FROM, url=primary, fallback_url=fallback)
    assert call.sid is not None
    assert ended(tenant.client, call.sid).status == "completed"
    [request] = receiver.wait_for(fallback)
    assert request.params["ErrorCode"] == "11200" and request.params["ErrorUrl"] == primary
    assert RequestValidator(tenant.auth_token).validate(request.url, request.params, request.signature)
    assert sandbox_call(control, call.sid)["twiml_source"] == fallback


def test_cancel_a_ringing_call(tenant: Tenant, receiver: Receiver, slow_calls: Control) -> None:
    status_url = receiver.unique("/status/cancel")
    answer_url = receiver.unique("/twiml/ok")
    call = tenant.client.calls.create(
        to="+14155550100", from_=FROM, url=answer_url, status_callback=status_url, status_callback_event=["ringing"]
    )
    assert call.sid is not None
    receiver.wait_for(status_url)  # ringing
    canceled = tenant.client.calls(call.sid).update(status="canceled")
    assert canceled.status == "canceled"
    callbacks = receiver.wait_for(status_url, count=2)
    assert [c.params["CallStatus"] for c in callbacks] == ["ringing", "canceled"]
    assert receiver.matching(answer_url) == []
    # Canceling again is harmless; redirecting an ended call is not allowed.
    assert tenant.client.calls(call.sid).update(status="canceled").status == "canceled"
    with pytest.raises(TwilioRestException) as caught:
        tenant.client.calls(call.sid).update(url=receiver.unique("/twiml/ok"))
    assert (caught.value.status, caught.value.code) == (400, 21220)


def test_hang_up_and_redirect_an_in_progress_call(tenant: Tenant, receiver: Receiver, slow_calls: Control) -> None:
    slow_calls.post("/sandbox/timing", {"call_answer": 0.01})  # answer at once, then talk "for 30 s"
    call = tenant.client.calls.create(to="+14155550100", from_=FROM, url=receiver.unique("/twiml/ok"))
    call_sid = call.sid
    assert call_sid is not None
    wait_until(lambda: tenant.client.calls(call_sid).fetch().status == "in-progress")

    # Canceling has no effect once answered (as on Twilio); redirecting fetches new TwiML.
    assert tenant.client.calls(call_sid).update(status="canceled").status == "in-progress"
    redirect_url = receiver.unique("/twiml/ok")
    tenant.client.calls(call_sid).update(url=redirect_url, method="POST")
    [redirect] = receiver.wait_for(redirect_url)
    assert redirect.params["CallSid"] == call_sid and redirect.params["CallStatus"] == "in-progress"
    wait_until(lambda: sandbox_call(slow_calls, call_sid)["twiml_source"] == redirect_url)

    hung_up = tenant.client.calls(call_sid).update(status="completed")
    assert hung_up.status == "completed" and hung_up.price == "-0.01400"
    assert hung_up.duration is not None and int(hung_up.duration) >= 1


@pytest.mark.parametrize(
    ("machine_detection", "answered_by"), [("Enable", "machine_start"), ("DetectMessageEnd", "machine_end_beep")]
)
def test_machine_detection(tenant: Tenant, receiver: Receiver, machine_detection: str, answered_by: str) -> None:
    answer_url = receiver.unique("/twiml/ok")
    call = tenant.client.calls.create(
        to="+15005550777", from_=FROM, url=answer_url, machine_detection=machine_detection
    )
    assert call.sid is not None
    [fetch] = receiver.wait_for(answer_url)
    assert fetch.params["AnsweredBy"] == answered_by
    assert ended(tenant.client, call.sid).answered_by == answered_by
    human = tenant.client.calls.create(to="+14155550100", from_=FROM, twiml="<Response/>", machine_detection="Enable")
    assert human.sid is not None
    assert ended(tenant.client, human.sid).answered_by == "human"


def test_record_adds_the_recording_to_the_completed_callback(tenant: Tenant, receiver: Receiver) -> None:
    status_url = receiver.unique("/status/record")
    call = tenant.client.calls.create(
        to="+14155550100", from_=FROM, twiml="<Response/>", record=True, status_callback=status_url
    )
    assert call.sid is not None
    [callback] = receiver.wait_for(status_url)
    assert re.fullmatch(r"RE[0-9a-f]{32}", callback.params["RecordingSid"])
    assert callback.params["RecordingUrl"].endswith(
        f"/Accounts/{tenant.sid}/Recordings/{callback.params['RecordingSid']}"
    )
    assert ended(tenant.client, call.sid).status == "completed"


@pytest.mark.parametrize(
    ("to", "sender", "code"),
    [
        ("+15005550001", FROM, 21217),
        ("+15005550002", FROM, 21214),
        ("+15005550003", FROM, 21215),
        ("+15005550004", FROM, 21216),
        ("+14155550100", "+15005550001", 21212),
        ("+14155550100", "+15005550007", 21210),
        ("12", FROM, 21211),
        ("", FROM, 21201),
        ("+14155550100", "", 21213),
    ],
)
def test_call_creation_errors(tenant: Tenant, to: str, sender: str, code: int) -> None:
    with pytest.raises(TwilioRestException) as caught:
        tenant.client.calls.create(to=to, from_=sender, url="https://example.com/twiml")
    assert (caught.value.status, caught.value.code) == (400, code)
    assert tenant.client.calls.list() == []


def test_url_or_twiml_is_required(tenant: Tenant) -> None:
    with pytest.raises(TwilioRestException) as caught:
        tenant.client.calls.create(to="+14155550100", from_=FROM)
    assert caught.value.code == 21205
    with pytest.raises(TwilioRestException) as caught:
        tenant.client.calls.create(to="+14155550100", from_=FROM, url="not a url")
    assert caught.value.code == 21205


def test_delete_only_ended_calls(tenant: Tenant, slow_calls: Control) -> None:
    call = tenant.client.calls.create(to="+14155550100", from_=FROM, twiml="<Response/>")
    assert call.sid is not None
    with pytest.raises(TwilioRestException) as caught:
        tenant.client.calls(call.sid).delete()
    assert caught.value.status == 400
    tenant.client.calls(call.sid).update(status="canceled")
    assert tenant.client.calls(call.sid).delete() is True
    with pytest.raises(TwilioRestException) as caught:
        tenant.client.calls(call.sid).fetch()
    assert caught.value.status == 404


def test_call_from_an_owned_number_names_it(tenant: Tenant, sandbox: SandboxServer) -> None:
    number = tenant.client.incoming_phone_numbers.create(area_code="312")
    assert number.phone_number is not None
    call = tenant.client.calls.create(to="+14155550100", from_=number.phone_number, twiml="<Response/>")
    assert call.phone_number_sid == number.sid

"""Every JSON body the sandbox answers must match the vendored Twilio OpenAPI spec."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from sandbox.twilio import SandboxServer
from sandbox.twilio.tests.openapi_validator import OpenApiValidator, ValidationFailure
from sandbox.twilio.tests.support import Control, Receiver
from testsupport.wait import wait_until

FROM = "+14155550199"
A = "/2010-04-01/Accounts"


@pytest.fixture(scope="module")
def validator() -> OpenApiValidator:
    return OpenApiValidator()


def exercise_every_endpoint(
    master: Client, make_client: Callable[..., Client], receiver: Receiver, control: Control
) -> None:
    """One of everything: each operation the sandbox serves, in success and in error."""
    sub = master.api.accounts.create(friendly_name="openapi")
    assert sub.sid is not None
    client = make_client(sub.sid, sub.auth_token)
    master.api.accounts.list(page_size=2)
    master.api.accounts(sub.sid).fetch()
    master.api.accounts(sub.sid).update(friendly_name="openapi-renamed")

    message = client.messages.create(
        to="+14155550100", from_=FROM, body="spec", status_callback=receiver.unique("/status/spec")
    )
    media = client.messages.create(to="+14155550101", from_=FROM, media_url=["https://example.com/cat.png"])
    client.messages.create(to="+15005553003", from_=FROM, body="undelivered")
    service = client.messages.create(to="+14155550102", messaging_service_sid="MG" + "b" * 32, body="accepted")
    message_sid, media_sid = message.sid, media.sid
    assert message_sid is not None and media_sid is not None and service.sid is not None
    client.messages(message_sid).fetch()
    client.messages(service.sid).fetch()
    wait_until(lambda: client.messages(message_sid).fetch().status == "delivered")
    client.messages.list(page_size=2)
    client.messages.list(to="+14155550100", date_sent_after="2020-01-01")
    client.messages(media_sid).fetch()
    wait_until(lambda: client.messages(media_sid).fetch().status == "delivered")
    client.messages(media_sid).update(body="")
    client.messages(media_sid).delete()

    call = client.calls.create(
        to="+14155550100", from_=FROM, url=receiver.unique("/twiml/ok"), status_callback=receiver.unique("/status/spec")
    )
    busy = client.calls.create(to="+15005550486", from_=FROM, twiml="<Response/>")
    call_sid, busy_sid = call.sid, busy.sid
    assert call_sid is not None and busy_sid is not None
    client.calls(call_sid).fetch()
    wait_until(
        lambda: client.calls(call_sid).fetch().status == "completed" and client.calls(busy_sid).fetch().status == "busy"
    )
    client.calls(call_sid).update(status="completed")
    client.calls.list(page_size=1)
    client.calls.list(status="busy", start_time_after="2020-01-01")
    client.calls(busy_sid).delete()

    client.available_phone_numbers("US").local.list(area_code="415", limit=3)
    client.available_phone_numbers("US").toll_free.list(limit=2)
    client.available_phone_numbers("GB").mobile.list(limit=2)
    client.available_phone_numbers("CA").local.list(limit=2)
    client.available_phone_numbers("DE").local.list(in_region="BE", limit=2)  # address_requirements "local"
    client.available_phone_numbers("AU").mobile.list(mms_enabled=True, exclude_all_address_required=True, limit=2)
    number = client.incoming_phone_numbers.create(area_code="213", voice_url="https://example.com/voice")
    [offer] = client.available_phone_numbers("US").toll_free.list(limit=1)
    assert number.sid is not None and offer.phone_number is not None
    client.incoming_phone_numbers.toll_free.create(phone_number=offer.phone_number)
    client.incoming_phone_numbers(number.sid).fetch()
    client.incoming_phone_numbers(number.sid).update(sms_url="https://example.com/sms")
    client.incoming_phone_numbers.list(page_size=1)
    client.incoming_phone_numbers.local.list()
    client.incoming_phone_numbers(number.sid).delete()

    # A simulated inbound call leaves a recording; an inbound message is a Message too.
    line = client.incoming_phone_numbers.create(area_code="415", voice_url=receiver.unique("/twiml/record"))
    inbound = control.inbound_call(to=line.phone_number, record_seconds=2)
    [recording_sid] = inbound["recordings"]
    client.recordings(recording_sid).fetch()
    client.recordings.list(call_sid=inbound["sid"], page_size=5)
    client.calls(inbound["sid"]).recordings.list()
    client.calls(inbound["sid"]).recordings(recording_sid).fetch()
    client.calls(inbound["sid"]).fetch()
    client.messages(control.inbound_message(to=line.phone_number, body="in")["sid"]).fetch()
    client.recordings(recording_sid).delete()

    caller_id = control.post("/sandbox/caller-ids", {"account_sid": sub.sid, "phone_number": "+14155550188"})
    client.outgoing_caller_ids.list(phone_number="+14155550188")
    client.outgoing_caller_ids.list(page_size=1)
    client.outgoing_caller_ids(caller_id["sid"]).fetch()

    # And the errors: validation, not found, bad credentials, forbidden.
    for attempt in (
        lambda: client.messages.create(to="+15005550001", from_=FROM, body="x"),
        lambda: client.calls.create(to="+14155550100", from_=FROM),
        lambda: client.messages("SM" + "0" * 32).fetch(),
        lambda: make_client(sub.sid, "wrong").messages.create(to="+14155550100", from_=FROM, body="x"),
        lambda: client.api.accounts.create(),
        lambda: client.available_phone_numbers("US").mobile.list(),
        lambda: client.outgoing_caller_ids("PN" + "0" * 32).fetch(),
    ):
        with pytest.raises(TwilioException):
            attempt()


def test_every_response_matches_the_spec(
    master: Client,
    make_client: Callable[..., Client],
    receiver: Receiver,
    control: Control,
    sandbox: SandboxServer,
    validator: OpenApiValidator,
) -> None:
    assert sandbox.record_responses
    since = control.log_total("responses")
    exercise_every_endpoint(master, make_client, receiver, control)
    ours = control.log("responses", since)
    # Everything recorded this session is checked, not only this test's own requests.
    everything = control.log("responses", 0)
    assert len(ours) >= 45

    covered: Counter[tuple[str, str, int]] = Counter()
    failures = []
    for response in everything:
        try:
            template = validator.validate(response["method"], response["path"], response["status"], response["body"])
            covered[(response["method"], template.removeprefix(A), response["status"])] += 1
        except ValidationFailure as exc:
            failures.append(str(exc))
    assert not failures, f"{len(failures)} of {len(everything)} responses break the spec:\n" + "\n".join(failures[:15])

    expected = {
        ("POST", ".json", 201),
        ("GET", ".json", 200),
        ("GET", "/{Sid}.json", 200),
        ("POST", "/{Sid}.json", 200),
        ("POST", "/{AccountSid}/Messages.json", 201),
        ("GET", "/{AccountSid}/Messages.json", 200),
        ("GET", "/{AccountSid}/Messages/{Sid}.json", 200),
        ("POST", "/{AccountSid}/Messages/{Sid}.json", 200),
        ("DELETE", "/{AccountSid}/Messages/{Sid}.json", 204),
        ("POST", "/{AccountSid}/Calls.json", 201),
        ("GET", "/{AccountSid}/Calls.json", 200),
        ("GET", "/{AccountSid}/Calls/{Sid}.json", 200),
        ("POST", "/{AccountSid}/Calls/{Sid}.json", 200),
        ("DELETE", "/{AccountSid}/Calls/{Sid}.json", 204),
        ("POST", "/{AccountSid}/IncomingPhoneNumbers.json", 201),
        ("POST", "/{AccountSid}/IncomingPhoneNumbers/TollFree.json", 201),
        ("GET", "/{AccountSid}/IncomingPhoneNumbers.json", 200),
        ("GET", "/{AccountSid}/IncomingPhoneNumbers/Local.json", 200),
        ("GET", "/{AccountSid}/IncomingPhoneNumbers/{Sid}.json", 200),
        ("POST", "/{AccountSid}/IncomingPhoneNumbers/{Sid}.json", 200),
        ("DELETE", "/{AccountSid}/IncomingPhoneNumbers/{Sid}.json", 204),
        ("GET", "/{AccountSid}/AvailablePhoneNumbers/{CountryCode}/Local.json", 200),
        ("GET", "/{AccountSid}/AvailablePhoneNumbers/{CountryCode}/TollFree.json", 200),
        ("GET", "/{AccountSid}/AvailablePhoneNumbers/{CountryCode}/Mobile.json", 200),
        ("GET", "/{AccountSid}/OutgoingCallerIds.json", 200),
        ("GET", "/{AccountSid}/OutgoingCallerIds/{Sid}.json", 200),
        ("GET", "/{AccountSid}/Recordings.json", 200),
        ("GET", "/{AccountSid}/Recordings/{Sid}.json", 200),
        ("DELETE", "/{AccountSid}/Recordings/{Sid}.json", 204),
        ("GET", "/{AccountSid}/Calls/{CallSid}/Recordings.json", 200),
        ("GET", "/{AccountSid}/Calls/{CallSid}/Recordings/{Sid}.json", 200),
    }
    assert expected <= set(covered), sorted(expected - set(covered))
    statuses = Counter(r["status"] for r in ours)
    assert {400, 401, 403, 404} <= set(statuses)


def _recorded(control: Control, method: str, suffix: str, status: int) -> dict[str, Any]:
    for response in reversed(control.log("responses", 0)):
        if response["method"] == method and response["path"].endswith(suffix) and response["status"] == status:
            return response
    raise AssertionError(f"no recorded {method} *{suffix} {status}")


def test_the_validator_catches_broken_bodies(master: Client, control: Control, validator: OpenApiValidator) -> None:
    master.messages.create(to="+14155550100", from_=FROM, body="for the validator")
    created = _recorded(control, "POST", "/Messages.json", 201)
    path, body = created["path"], created["body"]
    validator.validate("POST", path, 201, body)  # the genuine article passes

    def broken(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        copied = copy.deepcopy(body)
        change(copied)
        return copied

    bad_bodies = [
        broken(lambda b: b.update(date_created="2026-11-21T09:15:00Z")),  # ISO, not RFC 2822
        broken(lambda b: b.pop("num_segments")),  # a field missing
        broken(lambda b: b.update(segments="1")),  # a field Twilio does not have
        broken(lambda b: b.update(status="sending-ish")),  # not in the enum
        broken(lambda b: b.update(status=None)),  # the status enum is not nullable
        broken(lambda b: b.update(error_code="30003")),  # an integer field as a string
        broken(lambda b: b.update(sid="SM123")),  # SID pattern
        broken(lambda b: b.update(account_sid="XX" + "0" * 32)),
    ]
    for bad in bad_bodies:
        with pytest.raises(ValidationFailure):
            validator.validate("POST", path, 201, bad)
    with pytest.raises(ValidationFailure):
        validator.validate("POST", path, 200, body)  # creates answer 201, not 200
    with pytest.raises(ValidationFailure):
        validator.validate("POST", path, 400, {"code": 21211, "message": "x", "status": 400})  # error without more_info
    page = _recorded(control, "GET", "/Accounts.json", 200)
    with pytest.raises(ValidationFailure):
        validator.validate("GET", page["path"], 200, {k: v for k, v in page["body"].items() if k != "next_page_uri"})


def test_nullable_translation(validator: OpenApiValidator) -> None:
    schema = validator.resolve({"type": "string", "nullable": True, "enum": ["a", "b"]})
    assert schema == {"type": ["string", "null"], "enum": ["a", "b", None]}
    referenced = validator.resolve({"$ref": "#/components/schemas/call_enum_status"})
    assert referenced["type"] == "string" and "in-progress" in referenced["enum"]
    nullable_ref = validator.resolve({"$ref": "#/components/schemas/call_enum_status", "nullable": True})
    assert nullable_ref["anyOf"][1] == {"type": "null"}

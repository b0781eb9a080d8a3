"""The Recordings REST API: fetch, list, a call's recordings, media, delete; isolation between accounts; the spec."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from sandbox.twilio import SandboxServer, Timing, sandbox_client
from sandbox.twilio.tests.openapi_validator import OpenApiValidator, ValidationFailure
from sandbox.twilio.tests.support import DEADLINE, Control, Tenant, line
from sandbox.twilio.tests.twiml_app import TwimlApp

RECORD = '<Response><Record action="/done" maxLength="60"/></Response>'


def recorded_call(tenant: Tenant, app: TwimlApp, control: Control, seconds: int = 2) -> tuple[str, str]:
    """(call SID, recording SID) of a simulated voicemail to a fresh number of the tenant."""
    app.route("/done", "<Response><Hangup/></Response>")
    number = line(tenant, app, RECORD)
    result = control.inbound_call(to=number, record_seconds=seconds)
    [recording] = result["recordings"]
    return result["sid"], recording


def api(
    base_url: str, tenant: Tenant, path: str, method: str = "GET", auth: tuple[str, str] | None = None
) -> requests.Response:
    return requests.request(
        method,
        f"{base_url}/2010-04-01/Accounts/{tenant.sid}/{path}",
        auth=auth or (tenant.sid, tenant.auth_token),
        timeout=DEADLINE,
    )


def test_another_account_never_sees_a_recording(
    tenant: Tenant, twiml_app: TwimlApp, control: Control, master: Client, make_client: Callable[..., Client]
) -> None:
    call_sid, sid = recorded_call(tenant, twiml_app, control)
    other = master.api.accounts.create(friendly_name="someone else")
    assert other.sid is not None and other.auth_token is not None
    intruder = make_client(other.sid, other.auth_token)
    for attempt in (lambda: intruder.recordings(sid).fetch(), lambda: intruder.recordings(sid).delete()):
        with pytest.raises(TwilioRestException) as caught:
            attempt()
        assert caught.value.status == 404
    assert intruder.recordings.list() == [] and intruder.recordings.list(call_sid=call_sid) == []
    base = control.base_url
    theirs = requests.get(
        f"{base}/2010-04-01/Accounts/{other.sid}/Calls/{call_sid}/Recordings.json",
        auth=(other.sid, other.auth_token),
        timeout=DEADLINE,
    )
    assert theirs.status_code == 404  # the call is not theirs either
    stolen = requests.get(
        f"{base}/2010-04-01/Accounts/{other.sid}/Recordings/{sid}.wav",
        auth=(other.sid, other.auth_token),
        timeout=DEADLINE,
    )
    assert stolen.status_code == 404
    # Its own credentials on the owner's path: not allowed to act on that account at all.
    assert api(base, tenant, f"Recordings/{sid}.wav", auth=(other.sid, other.auth_token)).status_code == 401
    # The owner and its master account may.
    assert api(base, tenant, f"Recordings/{sid}.wav").status_code == 200
    assert master.api.accounts(tenant.sid).recordings(sid).fetch().sid == sid


def test_delete_takes_the_media_with_it(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    call_sid, sid = recorded_call(tenant, twiml_app, control)
    assert api(control.base_url, tenant, f"Recordings/{sid}.wav").status_code == 200
    assert tenant.client.recordings(sid).delete() is True
    assert api(control.base_url, tenant, f"Recordings/{sid}.wav").status_code == 404
    assert api(control.base_url, tenant, f"Recordings/{sid}.json").status_code == 404
    assert tenant.client.recordings.list(call_sid=call_sid) == []
    # A call's recording can be deleted through the call too.
    call_sid, sid = recorded_call(tenant, twiml_app, control)
    assert api(control.base_url, tenant, f"Calls/{call_sid}/Recordings/{sid}.json", "DELETE").status_code == 204
    assert tenant.client.calls(call_sid).recordings.list() == []


def test_lists_filter_by_call(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    first_call, first = recorded_call(tenant, twiml_app, control)
    second_call, second = recorded_call(tenant, twiml_app, control, seconds=5)
    assert [r.sid for r in tenant.client.recordings.list()] == [second, first]  # newest first
    assert [r.sid for r in tenant.client.recordings.list(call_sid=first_call)] == [first]
    assert [r.duration for r in tenant.client.calls(second_call).recordings.list()] == ["5"]
    assert [r.sid for r in tenant.client.recordings.list(page_size=1)] == [second, first]  # paged
    assert tenant.client.calls(first_call).recordings(first).fetch().track == "inbound"


def test_recording_json_matches_the_spec(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    validator = OpenApiValidator()
    call_sid, sid = recorded_call(tenant, twiml_app, control)
    base = control.base_url
    checked = []
    for path in (
        f"Recordings/{sid}.json",
        "Recordings.json",
        f"Recordings.json?CallSid={call_sid}",
        f"Calls/{call_sid}/Recordings.json",
        f"Calls/{call_sid}/Recordings/{sid}.json",
    ):
        response = api(base, tenant, path)
        assert response.status_code == 200, path
        body = response.json()
        checked.append(
            validator.validate("GET", f"/2010-04-01/Accounts/{tenant.sid}/{path.partition('?')[0]}", 200, body)
        )
        if path.startswith(f"Recordings/{sid}"):
            fetched = body
    assert checked[0] == "/2010-04-01/Accounts/{AccountSid}/Recordings/{Sid}.json"
    assert fetched["status"] == "completed" and fetched["source"] == "RecordVerb" and fetched["duration"] == "2"
    assert fetched["price"] == "-0.00250" and fetched["channels"] == 1
    # The validator would catch a broken recording.
    for broken in (
        {**fetched, "sid": "RE123"},
        {**fetched, "source": "Voicemail"},
        {k: v for k, v in fetched.items() if k != "media_url"},
    ):
        with pytest.raises(ValidationFailure):
            validator.validate("GET", f"/2010-04-01/Accounts/{tenant.sid}/Recordings/{sid}.json", 200, broken)
    missing = api(base, tenant, "Recordings/RE" + "0" * 32 + ".json")
    assert missing.status_code == 404
    validator.validate("GET", missing.request.path_url, 404, missing.json())


def test_recordings_count_and_reset_forgets_them(twiml_app: TwimlApp) -> None:
    with SandboxServer(port=0, auth_token=secrets.token_hex(16), timing=Timing.uniform(0.01)) as sandbox:
        control = Control(sandbox.base_url)
        client = sandbox_client(sandbox.base_url, sandbox.account_sid, sandbox.auth_token)
        twiml_app.route("/voice", RECORD)
        twiml_app.route("/done", "<Response/>")
        number = client.incoming_phone_numbers.create(area_code="415", voice_url=twiml_app.url("/voice")).phone_number
        result = control.inbound_call(to=number)
        assert control.get("/sandbox/")["counts"]["recordings"] == 1
        assert control.log_total("inbound-calls") == 1
        control.post("/sandbox/reset", {})
        assert control.get("/sandbox/")["counts"]["recordings"] == 0
        assert control.log_total("inbound-calls") == 0
        [sid] = result["recordings"]
        gone = requests.get(
            f"{sandbox.base_url}/2010-04-01/Accounts/{sandbox.account_sid}/Recordings/{sid}.wav",
            auth=(sandbox.account_sid, sandbox.auth_token),
            timeout=DEADLINE,
        )
        assert gone.status_code == 404

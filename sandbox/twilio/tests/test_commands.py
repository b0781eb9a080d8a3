"""manage.py sandbox_call and sandbox_sms: they drive a running sandbox's control API and print what happened."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from sandbox.twilio import SandboxServer
from sandbox.twilio.tests.support import CALLER, Tenant, line
from sandbox.twilio.tests.twiml_app import TwimlApp


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_sandbox_call_prints_the_transcript(tenant: Tenant, twiml_app: TwimlApp, sandbox: SandboxServer) -> None:
    twiml_app.route("/menu", '<Response><Dial action="/after">+14155550123</Dial></Response>')
    twiml_app.route("/after", "<Response><Say>Sorry, nobody is free</Say><Hangup/></Response>")
    number = line(
        tenant, twiml_app, '<Response><Gather action="/menu"><Say voice="alice">Press 1</Say></Gather></Response>'
    )
    output = run(
        "sandbox_call",
        "--from",
        CALLER,
        "--to",
        number,
        "--digits",
        "1",
        "--dial",
        "busy",
        "--sandbox-url",
        sandbox.base_url,
    )
    assert f"from {CALLER} to {number}: completed" in output
    assert "Say      'Press 1' (alice)  (in Gather)" in output
    assert "Gather   dtmf: '1'" in output
    assert "Dial     +14155550123 (caller ID +14155550100): busy" in output
    assert "'Sorry, nobody is free'" in output
    assert f"200 POST {twiml_app.url('/menu')}  [gather_action]" in output
    [params] = [h.params for h in twiml_app.hits("/after")]
    assert params["DialCallStatus"] == "busy"


def test_sandbox_call_json_and_errors(
    tenant: Tenant, twiml_app: TwimlApp, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = line(tenant, twiml_app, "<Response><Reject/></Response>")
    monkeypatch.setenv("SANDBOX_URL", sandbox.base_url)  # the default when --sandbox-url is not given
    result = json.loads(run("sandbox_call", "--from", CALLER, "--to", number, "--json"))
    assert (result["status"], result["transcript"]) == ("no-answer", [{"verb": "Reject", "reason": "rejected"}])
    with pytest.raises(CommandError, match="404: no account owns"):
        run("sandbox_call", "--from", CALLER, "--to", "+12025550143")
    with pytest.raises(CommandError, match="cannot reach the sandbox"):
        run("sandbox_call", "--from", CALLER, "--to", number, "--sandbox-url", "http://127.0.0.1:9")


def test_sandbox_sms_prints_the_replies(tenant: Tenant, twiml_app: TwimlApp, sandbox: SandboxServer) -> None:
    twiml_app.route("/sms", "<Response><Message>Your code is 1234</Message></Response>")
    number = tenant.client.incoming_phone_numbers.create(area_code="415", sms_url=twiml_app.url("/sms")).phone_number
    assert number is not None
    output = run("sandbox_sms", "--from", CALLER, "--to", number, "--body", "CODE", "--sandbox-url", sandbox.base_url)
    assert "SmsUrl answered 200" in output
    assert f"{number} -> {CALLER}: 'Your code is 1234'" in output
    assert twiml_app.hits("/sms")[0].params["Body"] == "CODE"

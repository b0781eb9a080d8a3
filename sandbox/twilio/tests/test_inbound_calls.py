"""Simulated inbound calls (POST /sandbox/inbound-calls): the VoiceUrl fetch, each TwiML verb, limits, the end.

A TwimlApp (a real local web server) plays the application; the sandbox calls it over HTTP exactly as
Twilio would, and the tests check what it received with twilio-python's RequestValidator.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from sandbox.twilio import SandboxServer
from sandbox.twilio.tests.support import CALLER, DEADLINE, Control, Tenant, line
from sandbox.twilio.tests.twiml_app import TwimlApp
from testsupport.wait import wait_until

SF = {"City": "SAN FRANCISCO", "State": "CA", "Zip": "94103", "Country": "US"}


def places(called: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for prefix, value in (("Caller", SF), ("From", SF), ("Called", SF), ("To", SF)):
        found |= {prefix + key: item for key, item in value.items()}
    return found


def test_the_voice_url_gets_twilios_parameters_signed(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    number = line(tenant, twiml_app, "<Response><Say>Welcome</Say></Response>", voice_method="POST")
    result = control.inbound_call(to=number)
    [fetch] = twiml_app.hits("/voice")
    assert fetch.method == "POST" and fetch.signed_by(tenant.auth_token)
    assert not fetch.signed_by("some other token")
    assert fetch.params == {
        "AccountSid": tenant.sid,
        "ApiVersion": "2010-04-01",
        "CallSid": result["sid"],
        "CallStatus": "ringing",
        "Called": number,
        "Caller": CALLER,
        "Direction": "inbound",
        "From": CALLER,
        "To": number,
        **places(number),
    }
    assert fetch.headers["User-Agent"] == "TwilioProxy/1.1"
    assert (result["status"], result["end_reason"], result["error"]) == ("completed", "end-of-document", None)
    assert result["heard"] == ["Welcome"]
    assert result["requests"][0]["params"] == fetch.params and result["requests"][0]["status"] == 200

    # The call is an ordinary Call resource of the owning account.
    call = tenant.client.calls(result["sid"]).fetch()
    assert (call.direction, call._from, call.to, call.status) == ("inbound", CALLER, number, "completed")
    assert (call.duration, call.price, call.price_unit) == (str(result["duration"]), "-0.00850", "USD")
    assert [c.sid for c in tenant.client.calls.list(to=number)] == [result["sid"]]
    [logged] = [c for c in control.log("inbound-calls") if c["sid"] == result["sid"]]
    assert logged["transcript"] == result["transcript"] and logged["status"] == "completed"


def test_get_voice_method_signs_the_query_string(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    number = line(tenant, twiml_app, "<Response><Hangup/></Response>", voice_method="GET")
    control.inbound_call(to=number)
    [fetch] = twiml_app.hits("/voice")
    assert fetch.method == "GET" and fetch.form == {} and fetch.signed_by(tenant.auth_token)
    assert fetch.params["CallStatus"] == "ringing" and fetch.params["Direction"] == "inbound"


def test_status_callback_at_the_end(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    twiml_app.route("/status")
    number = line(
        tenant,
        twiml_app,
        '<Response><Say>Hi</Say><Pause length="70"/></Response>',
        status_callback=twiml_app.url("/status"),
    )
    result = control.inbound_call(to=number)
    [callback] = twiml_app.hits("/status")  # sent before the control request was answered
    assert callback.signed_by(tenant.auth_token)
    params = callback.params
    assert (params["CallStatus"], params["CallSid"], params["Direction"]) == ("completed", result["sid"], "inbound")
    assert params["CallDuration"] == str(result["duration"]) == "71"  # 1 s of Say + 70 s of Pause
    assert params["Duration"] == "2"  # started minutes
    assert params["FromCity"] == "SAN FRANCISCO" and params["Called"] == number
    assert tenant.client.calls(result["sid"]).fetch().price == "-0.01700"


def test_say_play_pause_are_heard_in_simulated_time(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    number = line(
        tenant,
        twiml_app,
        """<Response>
             <Say voice="Polly.Joanna" language="en-GB" loop="2">Hello   there</Say>
             <Play loop="3">https://example.com/jingle.mp3</Play>
             <Play digits="1w2"/>
             <Pause length="600"/>
             <Say>Goodbye</Say>
           </Response>""",
    )
    started = time.monotonic()
    result = control.inbound_call(to=number)
    assert time.monotonic() - started < 5  # ten simulated minutes, no real ones
    assert result["heard"] == ["Hello there", "Hello there", "Goodbye"]
    assert result["transcript"] == [
        {"verb": "Say", "text": "Hello there", "voice": "Polly.Joanna", "language": "en-GB", "loop": 2},
        {"verb": "Play", "url": "https://example.com/jingle.mp3", "loop": 3, "digits": None},
        {"verb": "Play", "url": None, "loop": 1, "digits": "1w2"},
        {"verb": "Pause", "length": 600},
        {"verb": "Say", "text": "Goodbye", "voice": None, "language": None},
    ]
    assert result["duration"] == 2 + 15 + 2 + 600 + 1


def test_gather_digits_post_the_action_and_the_next_document_runs(
    tenant: Tenant, twiml_app: TwimlApp, control: Control
) -> None:
    twiml_app.route(
        "/menu",
        '<Response><Gather finishOnKey="#" action="account" method="GET"><Say>Account number?</Say></Gather></Response>',
    )
    twiml_app.route("/account", "<Response><Say>Thanks</Say></Response>")
    number = line(
        tenant,
        twiml_app,
        '<Response><Gather numDigits="1" action="/menu"><Say>Press 1 for sales</Say><Play>x.mp3</Play></Gather>'
        "<Say>Not reached</Say></Response>",
    )
    result = control.inbound_call(to=number, digits=["17", "42#9"])
    [menu] = twiml_app.hits("/menu")
    assert menu.method == "POST" and menu.signed_by(tenant.auth_token)
    assert (menu.params["Digits"], menu.params["FinishedOnKey"]) == ("1", "")  # numDigits=1 takes one digit
    assert menu.params["CallStatus"] == "in-progress" and menu.params["CallSid"] == result["sid"]
    [account] = twiml_app.hits("/account")  # relative action, resolved against /menu
    assert account.method == "GET" and account.signed_by(tenant.auth_token)
    assert (account.params["Digits"], account.params["FinishedOnKey"]) == ("42", "#")
    assert result["heard"] == ["Press 1 for sales", "Account number?", "Thanks"]
    gathers = [t for t in result["transcript"] if t["verb"] == "Gather"]
    assert [(g["input"], g["digits"]) for g in gathers] == [("dtmf", "1"), ("dtmf", "42")]
    assert result["transcript"][0] == {
        "verb": "Say",
        "text": "Press 1 for sales",
        "voice": None,
        "language": None,
        "in": "Gather",
    }


def test_gather_without_input_goes_on_with_the_next_verb(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    twiml_app.route("/never")
    number = line(
        tenant,
        twiml_app,
        '<Response><Gather action="/never" timeout="7"><Say>Press something</Say></Gather><Say>We got nothing</Say></Response>',
    )
    result = control.inbound_call(to=number)  # no digits scripted
    assert twiml_app.hits("/never") == []
    assert result["heard"] == ["Press something", "We got nothing"]
    assert {"verb": "Gather", "input": "dtmf", "action": twiml_app.url("/never"), "timed_out": True} in result[
        "transcript"
    ]
    assert result["duration"] == 1 + 7 + 2  # speech takes about 2.5 words a second


def test_gather_action_on_empty_result_and_default_action(
    tenant: Tenant, twiml_app: TwimlApp, control: Control
) -> None:
    number = line(tenant, twiml_app, '<Response><Gather actionOnEmptyResult="true"/></Response>')
    result = control.inbound_call(to=number, digits=[""], max_documents=3)
    # No action: the current document's URL, which here asks again (until the document limit).
    assert twiml_app.paths() == ["/voice", "/voice", "/voice"]
    assert "Digits" not in twiml_app.hits("/voice")[1].params
    assert result["end_reason"] == "document-limit"


def test_gather_speech(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    twiml_app.route("/heard", "<Response><Hangup/></Response>")
    number = line(tenant, twiml_app, '<Response><Gather input="speech dtmf" action="/heard"/></Response>')
    result = control.inbound_call(to=number, speech=["I want to pay my bill"])
    [heard] = twiml_app.hits("/heard")
    assert (heard.params["SpeechResult"], heard.params["Confidence"]) == ("I want to pay my bill", "0.9")
    assert "Digits" not in heard.params
    assert result["transcript"][0]["input"] == "speech" and result["transcript"][0]["speech"] == "I want to pay my bill"


def test_redirect_and_hangup(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    twiml_app.route("/next", "<Response><Say>Redirected</Say><Hangup/><Say>Never</Say></Response>")
    number = line(
        tenant, twiml_app, '<Response><Redirect method="GET">next?step=2</Redirect><Say>Never</Say></Response>'
    )
    result = control.inbound_call(to=number)
    [redirected] = twiml_app.hits("/next")
    assert redirected.method == "GET" and redirected.url.startswith(twiml_app.url("/next?step=2&"))
    assert redirected.signed_by(tenant.auth_token) and redirected.params["step"] == "2"
    assert result["heard"] == ["Redirected"]
    assert [t["verb"] for t in result["transcript"]] == ["Redirect", "Say", "Hangup"]
    assert (result["status"], result["end_reason"]) == ("completed", "hangup")


@pytest.mark.parametrize(("reason", "status"), [("busy", "busy"), ("rejected", "no-answer"), (None, "no-answer")])
def test_reject(tenant: Tenant, twiml_app: TwimlApp, control: Control, reason: str | None, status: str) -> None:
    twiml_app.route("/status")
    attribute = f' reason="{reason}"' if reason else ""
    number = line(
        tenant,
        twiml_app,
        f"<Response><Reject{attribute}/><Say>Never</Say></Response>",
        status_callback=twiml_app.url("/status"),
    )
    result = control.inbound_call(to=number)
    assert (result["status"], result["duration"], result["price"], result["heard"]) == (status, 0, None, [])
    call = tenant.client.calls(result["sid"]).fetch()
    assert (call.status, call.duration, call.price) == (status, "0", None)
    [callback] = twiml_app.hits("/status")
    assert callback.params["CallStatus"] == status and callback.params["CallDuration"] == "0"


def test_connect_is_recorded_and_its_action_followed(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    twiml_app.route("/after-agent", "<Response><Say>The agent has left</Say></Response>")
    number = line(
        tenant,
        twiml_app,
        '<Response><Connect action="/after-agent"><ConversationRelay url="wss://agent.example/ws" voice="en-US-Journey-O"'
        ' welcomeGreeting="Hi"><Parameter name="tenant" value="acme"/><Parameter name="lang" value="en"/>'
        "</ConversationRelay></Connect></Response>",
    )
    result = control.inbound_call(to=number, connect_seconds=30)
    connect = result["transcript"][0]
    assert connect == {
        "verb": "Connect",
        "attributes": {"action": "/after-agent"},
        "children": [
            {
                "noun": "ConversationRelay",
                "attributes": {"url": "wss://agent.example/ws", "voice": "en-US-Journey-O", "welcomeGreeting": "Hi"},
                "parameters": {"tenant": "acme", "lang": "en"},
                "text": None,
            }
        ],
    }
    [after] = twiml_app.hits("/after-agent")
    assert after.signed_by(tenant.auth_token) and after.params["CallStatus"] == "in-progress"
    assert result["heard"] == ["The agent has left"] and result["duration"] == 30 + 2


def test_leave_and_unknown_verbs_are_ignored(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    number = line(tenant, twiml_app, "<Response><Leave/><Enqueue>support</Enqueue><Say>Still here</Say></Response>")
    result = control.inbound_call(to=number)
    assert [(t["verb"], t.get("ignored")) for t in result["transcript"]] == [
        ("Leave", True),
        ("Enqueue", True),
        ("Say", None),
    ]
    assert result["heard"] == ["Still here"] and len(result["notes"]) == 2


def test_voice_fallback_url_on_a_500(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    twiml_app.route("/fallback", "<Response><Say>Fallback speaking</Say></Response>")
    twiml_app.route("/voice", status=500)
    number = tenant.client.incoming_phone_numbers.create(
        area_code="415", voice_url=twiml_app.url("/voice"), voice_fallback_url=twiml_app.url("/fallback")
    ).phone_number
    result = control.inbound_call(to=number)
    [fallback] = twiml_app.hits("/fallback")
    assert fallback.signed_by(tenant.auth_token)
    assert (fallback.params["ErrorCode"], fallback.params["ErrorUrl"]) == ("11200", twiml_app.url("/voice"))
    assert result["heard"] == ["Fallback speaking"] and result["status"] == "completed"
    assert result["error"]["code"] == 11200  # what went wrong with the primary URL
    assert [r["kind"] for r in result["requests"]] == ["twiml_fetch", "twiml_fetch_fallback"]


@pytest.mark.parametrize(
    ("status", "content_type", "body", "code"),
    [(500, "text/xml", "", 11200), (200, "application/json", "{}", 12300), (200, "text/xml", "<Response><Say>", 12100)],
)
def test_a_broken_voice_url_fails_the_call(
    tenant: Tenant, twiml_app: TwimlApp, control: Control, status: int, content_type: str, body: str, code: int
) -> None:
    number = line(tenant, twiml_app, "")
    twiml_app.route("/voice", body, status=status, content_type=content_type)
    result = control.inbound_call(to=number)
    assert (result["status"], result["end_reason"], result["error"]["code"]) == ("failed", "error", code)
    call = tenant.client.calls(result["sid"]).fetch()
    assert (call.status, call.duration, call.price) == ("failed", "0", None)


def test_a_redirect_loop_ends_at_the_document_limit(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    number = line(tenant, twiml_app, "<Response><Say>Again</Say><Redirect>/voice</Redirect></Response>")
    result = control.inbound_call(to=number)
    assert len(twiml_app.hits("/voice")) == 50
    assert (result["status"], result["end_reason"]) == ("completed", "document-limit")
    assert len(result["heard"]) == 50 and "limit" in result["notes"][-1]


def test_the_simulated_duration_is_capped(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    number = line(tenant, twiml_app, '<Response><Pause length="600"/><Redirect>/voice</Redirect></Response>')
    result = control.inbound_call(to=number, max_seconds=1800)
    assert (result["status"], result["end_reason"], result["duration"]) == ("completed", "duration-limit", 1800)
    assert len(twiml_app.hits("/voice")) == 3


def test_refusals(tenant: Tenant, twiml_app: TwimlApp, sandbox: SandboxServer) -> None:
    url = sandbox.base_url + "/sandbox/inbound-calls"
    nobody = requests.post(url, json={"from": CALLER, "to": "+12025550143"}, timeout=DEADLINE)
    assert nobody.status_code == 404 and "+12025550143" in nobody.json()["error"]
    silent = tenant.client.incoming_phone_numbers.create(area_code="415").phone_number
    assert requests.post(url, json={"from": CALLER, "to": silent}, timeout=DEADLINE).status_code == 409
    for bad in ({"to": silent}, {"from": "nope", "to": silent}, {"from": CALLER, "to": silent, "dial": "maybe"}, [1]):
        response = requests.post(url, json=bad, timeout=DEADLINE)
        assert response.status_code == 400, bad
    assert requests.post(url, data=b"{not json", timeout=DEADLINE).status_code == 400


def test_simulated_calls_run_side_by_side(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    number = line(tenant, twiml_app, "<Response><Say>Slow app</Say></Response>")
    twiml_app.route("/voice", "<Response><Say>Slow app</Say></Response>", delay=0.5)
    results: list[dict[str, Any]] = []
    lock = threading.Lock()

    def ring() -> None:
        result = control.inbound_call(to=number)
        with lock:
            results.append(result)

    started = time.monotonic()
    threads = [threading.Thread(target=ring) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE)
    assert time.monotonic() - started < 2.5  # six half-second fetches, not one after the other (3 s)
    assert len({r["sid"] for r in results}) == 6
    assert all(r["status"] == "completed" and r["heard"] == ["Slow app"] for r in results)


def test_hang_up_through_the_rest_api_while_simulating(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    twiml_app.route("/slow", "<Response><Say>Too late</Say></Response>", delay=0.6)
    number = line(tenant, twiml_app, "<Response><Say>Hold on</Say><Redirect>/slow</Redirect></Response>")
    started = control.post("/sandbox/inbound-calls", {"from": CALLER, "to": number, "wait": False})
    assert started["status"] == "ringing"
    sid = started["sid"]
    wait_until(lambda: twiml_app.hits("/slow"), message="the slow document to be requested")
    tenant.client.calls(sid).update(status="completed")
    [result] = wait_until(lambda: [c for c in control.log("inbound-calls") if c["sid"] == sid])
    assert (result["status"], result["end_reason"]) == ("completed", "rest-api")
    assert result["heard"] == ["Hold on"]  # the redirected document's Say never ran
    assert tenant.client.calls(sid).fetch().status == "completed"
    assert control.get("/sandbox/idle", timeout=5)["idle"]


def test_redirect_through_the_rest_api(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    twiml_app.route("/slow", "<Response><Say>Old plan</Say></Response>", delay=0.6)
    twiml_app.route("/new-plan", "<Response><Say>New plan</Say></Response>")
    number = line(tenant, twiml_app, "<Response><Say>Hi</Say><Redirect>/slow</Redirect><Say>Old</Say></Response>")
    sid = control.post("/sandbox/inbound-calls", {"from": CALLER, "to": number, "wait": False})["sid"]
    wait_until(lambda: twiml_app.hits("/slow"), message="the slow document to be requested")
    tenant.client.calls(sid).update(url=twiml_app.url("/new-plan"), method="POST")
    [result] = wait_until(lambda: [c for c in control.log("inbound-calls") if c["sid"] == sid])
    assert result["heard"] == ["Hi", "New plan"]  # the REST redirect wins over the document that was fetched
    assert twiml_app.hits("/new-plan")[0].signed_by(tenant.auth_token)

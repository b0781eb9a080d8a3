"""<Connect><ConversationRelay> with a "conversation" script: the sandbox plays Twilio's side of the socket
against an application's WebSocket server (here a small one in the test), then follows the <Connect action>."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from twilio.request_validator import RequestValidator
from websockets.sync.server import Server, ServerConnection, serve

from sandbox.twilio.tests.support import Control, Tenant, line
from sandbox.twilio.tests.twiml_app import TwimlApp


class Agent:
    """The application's socket: answers each prompt with scripted tokens, or ends the session on "bye"."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.signature = ""

    def __call__(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        self.signature = ws.request.headers.get("X-Twilio-Signature", "")
        for raw in ws:
            message = json.loads(raw)
            self.received.append(message)
            if message["type"] != "prompt" or not message["last"]:
                continue
            if message["voicePrompt"] == "bye":
                ws.send(json.dumps({"type": "sendDigits", "digits": "9"}))
                ws.send(json.dumps({"type": "end", "handoffData": json.dumps({"reason": "done"})}))
                continue
            for token in ("You", " said", " " + message["voicePrompt"]):
                ws.send(json.dumps({"type": "text", "token": token, "last": False}))
            ws.send(json.dumps({"type": "text", "token": "", "last": True}))


@pytest.fixture
def agent_socket() -> Iterator[tuple[Agent, str]]:
    agent = Agent()
    server: Server = serve(agent, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield agent, f"ws://127.0.0.1:{server.socket.getsockname()[1]}/relay"
    server.shutdown()
    thread.join(timeout=5)


def relay_line(tenant: Tenant, twiml_app: TwimlApp, url: str) -> str:
    twiml_app.route("/after", "<Response><Say>Back from the agent</Say></Response>")
    return line(
        tenant,
        twiml_app,
        f'<Response><Connect action="/after"><ConversationRelay url="{url}" welcomeGreeting="Welcome">'
        '<Parameter name="agentId" value="7"/></ConversationRelay></Connect></Response>',
    )


def test_the_caller_talks_signed_and_the_action_gets_the_handoff(
    tenant: Tenant, twiml_app: TwimlApp, control: Control, agent_socket: tuple[Agent, str]
) -> None:
    agent, url = agent_socket
    number = relay_line(tenant, twiml_app, url)

    result = control.inbound_call(to=number, conversation=[{"say": " there", "partials": ["hi"]}, {"say": "bye"}])

    assert result["heard"] == ["Welcome", "You said  there", "Back from the agent"]
    assert RequestValidator(tenant.auth_token).validate(url, {}, agent.signature)
    setup = agent.received[0]
    assert (
        setup["type"] == "setup" and setup["callSid"] == result["sid"] and setup["customParameters"] == {"agentId": "7"}
    )
    prompts = [(m["voicePrompt"], m["last"]) for m in agent.received if m["type"] == "prompt"]
    assert prompts == [("hi", False), (" there", True), ("bye", True)]
    relay = next(step for step in result["transcript"] if step["verb"] == "ConversationRelay")
    assert relay["ended_by"] == "application" and relay["digits_sent"] == ["9"]
    assert relay["exchanges"][0]["tokens"] == ["You", " said", "  there"]
    [after] = twiml_app.hits("/after")
    assert after.signed_by(tenant.auth_token)
    assert after.params["HandoffData"] == json.dumps({"reason": "done"}) and after.params["SessionStatus"] == "ended"


def test_an_interrupt_reports_what_was_heard_and_a_caller_who_hangs_up_ends_the_call(
    tenant: Tenant, twiml_app: TwimlApp, control: Control, agent_socket: tuple[Agent, str]
) -> None:
    agent, url = agent_socket
    number = relay_line(tenant, twiml_app, url)

    result = control.inbound_call(to=number, conversation=[{"say": "hello", "interrupt_after": 2}, {"hangup": True}])

    interrupt = next(m for m in agent.received if m["type"] == "interrupt")
    assert interrupt["utteranceUntilInterrupt"] == "You said"
    relay = next(step for step in result["transcript"] if step["verb"] == "ConversationRelay")
    exchange = relay["exchanges"][0]
    assert exchange["interrupted"] and exchange["agent"] == "You said"
    assert exchange["stale_tokens"] == [" hello"]  # this application kept talking: the sandbox shows it
    assert relay["ended_by"] == "caller" and result["heard"] == ["Welcome", "You said"]
    [after] = twiml_app.hits("/after")  # told, its answer not followed: the caller is gone
    assert after.params["SessionStatus"] == "completed"


def test_a_bad_conversation_script_is_refused(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    number = line(tenant, twiml_app, "<Response><Say>Hi</Say></Response>")
    for bad in ([{"say": "a", "dtmf": "1"}], [{"dtmf": "12"}], [{"say": "a", "interrupt_after": 0}], "say hi"):
        body = {"from": "+14155559876", "to": number, "conversation": bad}
        answer = requests.post(control.base_url + "/sandbox/inbound-calls", json=body, timeout=10)
        assert answer.status_code == 400, bad


def test_a_recording_started_before_the_relay_runs_to_the_end_of_the_call(
    tenant: Tenant, twiml_app: TwimlApp, control: Control, agent_socket: tuple[Agent, str]
) -> None:
    _, url = agent_socket
    twiml_app.route("/recorded", "<Response/>")
    number = line(
        tenant,
        twiml_app,
        '<Response><Start><Recording recordingStatusCallback="/recorded" recordingTrack="both"/></Start>'
        f'<Connect><ConversationRelay url="{url}" welcomeGreeting="Welcome"/></Connect></Response>',
    )

    result = control.inbound_call(to=number, conversation=[{"say": "hello"}, {"say": "bye"}])

    assert {"verb": "Start", "noun": "Recording"} in result["transcript"]
    [callback] = twiml_app.hits("/recorded")
    assert callback.signed_by(tenant.auth_token)
    params = callback.params
    assert (params["RecordingSource"], params["RecordingStatus"], params["CallSid"]) == (
        "StartCallRecordingTwiML",
        "completed",
        result["sid"],
    )
    assert result["recordings"] == [params["RecordingSid"]] and int(params["RecordingDuration"]) >= 1

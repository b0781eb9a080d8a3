"""Calls to a number answered by its AI agent, end to end: the sandbox rings the number, fetches the platform's
TwiML from a real uvicorn, follows <Connect><ConversationRelay> onto the relay socket with a signed upgrade,
plays the caller's script, and follows the <Connect action> to a transfer's <Dial> and a voicemail."""

import json
from typing import Any

import requests
from django_tenants.utils import tenant_context

from sandbox.twilio import SandboxServer
from telephony.gateway import TwilioGateway
from telephony.inbound.models import CallFlow, NumberSettings, Recording
from telephony.models import SenderNumber
from telephony.registry.models import TwilioAccount
from testsupport.llm import FakeLLM
from testsupport.tenants import TenantSetup
from testsupport.twilio import SENDER
from voice.agents.models import Agent
from voice.conversations.models import Turn
from voice.conversations.tests.live_support import (
    CALLER,
    RelayServer,
    make_agent,
    settled,
)

DESK = "+14155550123"


def wire(setup: TenantSetup, server: RelayServer) -> None:
    """The number's calls go to the platform on the uvicorn the test runs, as a bought number's do."""
    with tenant_context(setup.tenant):
        account = TwilioAccount.objects.get(tenant=setup.tenant)
        number = SenderNumber.objects.get(phone_number=SENDER)
        base = f"http://{setup.host}:{server.port}"
        configured = TwilioGateway(account_sid=account.account_sid, auth_token=account.auth_token).configure_number(
            sid=number.twilio_sid,
            voice_url=base + "/webhooks/twilio/voice/",
            sms_url=base + "/webhooks/twilio/sms/",
            status_callback=base + "/webhooks/twilio/voice/status/",
        )
        assert configured.ok, configured.message


def ring(sandbox: SandboxServer, **script: Any) -> dict[str, Any]:
    answer = requests.post(
        f"{sandbox.base_url}/sandbox/inbound-calls", json={"from": CALLER, "to": SENDER, **script}, timeout=90
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def step(call: dict[str, Any], verb: str) -> dict[str, Any]:
    return next(entry for entry in call["transcript"] if entry["verb"] == verb)


def number_answered_by(setup: TenantSetup, agent: Agent) -> None:
    with tenant_context(setup.tenant):
        NumberSettings.objects.update_or_create(phone_number=SENDER, defaults={"agent": agent, "call_flow": None})


def test_a_scripted_call_hears_the_agent_and_is_transferred_then_leaves_a_voicemail(
    live_pair: tuple[TenantSetup, TenantSetup],
    relay_server: RelayServer,
    twilio_sandbox: SandboxServer,
    fake_llm: FakeLLM,
) -> None:
    alpha, _ = live_pair
    wire(alpha, relay_server)
    agent = make_agent(alpha, transfer_numbers=[DESK], greeting="Hello, Bright Smiles dental.")
    number_answered_by(alpha, agent)
    fake_llm.script(
        replies=[
            "We have openings on Tuesday.",
            {
                "text": "Let me get you a colleague.",
                "tool_calls": [
                    {"name": "transfer_to_human", "arguments": {"summary": "Caller wants to move a crown fitting."}}
                ],
            },
        ]
    )

    call = ring(
        twilio_sandbox,
        conversation=[{"say": "Any openings this week?"}, {"say": "I need to talk to a person."}],
        dial="no-answer",
        record_seconds=3,
    )

    assert call["error"] is None, call
    assert call["heard"] == [
        "Hello, Bright Smiles dental.",
        "We have openings on Tuesday.",
        "Let me get you a colleague.",
        "Connecting you to a colleague now.",
        "Sorry, nobody could take your call. Please leave a message after the tone.",
        "Thank you, your message has been recorded. Goodbye.",
    ]
    relay = step(call, "ConversationRelay")
    assert relay["ended_by"] == "application" and relay["error"] is None
    assert [exchange["agent"] for exchange in relay["exchanges"]] == [
        "We have openings on Tuesday.",
        "Let me get you a colleague.",
    ]
    handoff = json.loads(relay["handoff_data"])
    assert (handoff["reason"], handoff["transferTo"]) == ("transfer_to_human", DESK)
    dial = step(call, "Dial")
    assert dial["number"] == DESK and dial["dial_call_status"] == "no-answer" and dial["caller_id"] == SENDER
    assert step(call, "Record")
    connect = step(call, "Connect")
    relay_noun = connect["children"][0]
    assert relay_noun["noun"] == "ConversationRelay"
    assert relay_noun["attributes"]["url"] == f"ws://{alpha.host}:{relay_server.port}/ws/conversation-relay/"
    assert relay_noun["parameters"]["agentId"] == str(agent.pk)
    assert relay_noun["parameters"]["caller_number"] == CALLER

    [conversation] = settled(alpha)
    assert (conversation.call_sid, conversation.end_reason, conversation.agent_id) == (
        call["sid"],
        "transferred",
        agent.pk,
    )
    assert conversation.handoff_data["summary"] == "Caller wants to move a crown fitting."
    with tenant_context(alpha.tenant):
        said = list(Turn.objects.filter(conversation=conversation).values_list("role", "content"))
    assert said == [
        ("assistant", "Hello, Bright Smiles dental."),
        ("user", "Any openings this week?"),
        ("assistant", "We have openings on Tuesday."),
        ("user", "I need to talk to a person."),
        ("assistant", "Let me get you a colleague."),
    ]


def test_a_transfer_someone_answers_is_bridged_after_the_whisper(
    live_pair: tuple[TenantSetup, TenantSetup],
    relay_server: RelayServer,
    twilio_sandbox: SandboxServer,
    fake_llm: FakeLLM,
) -> None:
    alpha, _ = live_pair
    wire(alpha, relay_server)
    agent = make_agent(alpha, transfer_numbers=[DESK], greeting="")
    number_answered_by(alpha, agent)
    fake_llm.script(
        replies=[
            {
                "text": "Transferring you.",
                "tool_calls": [{"name": "transfer_to_human", "arguments": {"summary": "Billing."}}],
            }
        ]
    )

    call = ring(twilio_sandbox, conversation=[{"say": "Billing please."}], dial="answer")

    assert call["heard"] == ["Transferring you.", "Connecting you to a colleague now."]
    assert step(call, "Dial")["dial_call_status"] == "completed"
    assert not any(entry["verb"] == "Record" for entry in call["transcript"])
    assert step(call, "Dial")["whisper"] == [f"Transferred call from {CALLER}. Billing."]


def test_a_call_flows_agent_step_connects_the_numbers_agent_and_the_caller_can_hang_up(
    live_pair: tuple[TenantSetup, TenantSetup],
    relay_server: RelayServer,
    twilio_sandbox: SandboxServer,
    fake_llm: FakeLLM,
) -> None:
    alpha, _ = live_pair
    wire(alpha, relay_server)
    agent = make_agent(alpha, make_default=True, greeting="Agent here.")
    with tenant_context(alpha.tenant):
        flow = CallFlow.objects.create(name="AI", kind=CallFlow.Kind.AGENT)
        NumberSettings.objects.update_or_create(phone_number=SENDER, defaults={"call_flow": flow})

    call = ring(twilio_sandbox, conversation=[{"say": "Hi there"}, {"hangup": True}])

    assert call["heard"] == ["Agent here.", "You said: Hi there"]
    assert step(call, "ConversationRelay")["ended_by"] == "caller"
    [conversation] = settled(alpha)
    assert (conversation.agent_id, conversation.end_reason, conversation.status) == (
        agent.pk,
        "caller_hung_up",
        "ended",
    )


def test_an_agent_that_records_has_the_whole_call_recorded_apart_from_the_voicemail(
    live_pair: tuple[TenantSetup, TenantSetup],
    relay_server: RelayServer,
    twilio_sandbox: SandboxServer,
    fake_llm: FakeLLM,
) -> None:
    alpha, _ = live_pair
    wire(alpha, relay_server)
    agent = make_agent(alpha, transfer_numbers=[DESK], recording=True)
    number_answered_by(alpha, agent)
    fake_llm.script(
        replies=[{"text": "One moment.", "tool_calls": [{"name": "transfer_to_human", "arguments": {"summary": "x"}}]}]
    )

    call = ring(twilio_sandbox, conversation=[{"say": "A person, please."}], dial="no-answer", record_seconds=3)

    assert call["error"] is None, call
    assert [entry["verb"] for entry in call["transcript"]][:2] == ["Start", "Connect"]
    settled(alpha)
    with tenant_context(alpha.tenant):
        recordings = dict(Recording.objects.filter(call_sid=call["sid"]).values_list("source", "recording_sid"))
    assert set(recordings) == {Recording.Source.CALL, Recording.Source.VOICEMAIL}
    assert sorted(recordings.values()) == sorted(call["recordings"])

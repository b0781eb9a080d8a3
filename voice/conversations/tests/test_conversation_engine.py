"""The engine over a real relay socket (uvicorn, the tenant's schema, the fake LLM through the openai SDK):
streaming, barge-in, provider failure, tools, and what is saved."""

import json
import secrets
import time
from typing import Any

import requests
from django.db import transaction
from django_tenants.utils import tenant_context
from pytest_django.fixtures import Settings
from twilio.request_validator import RequestValidator

from telephony.models import Communication
from testsupport.llm import FakeLLM
from testsupport.tenants import TenantSetup
from testsupport.twilio import SENDER
from testsupport.wait import wait_until
from voice.agents.models import AgentVersion
from voice.conversations.engine import APOLOGY, BRIDGE, MAX_DURATION_LINE, SILENCE_LINE
from voice.conversations.models import Conversation, ConversationEvent, Turn
from voice.conversations.tests.live_support import (
    CALLER,
    Caller,
    RelayServer,
    account_sid,
    auth_token,
    make_agent,
    open_relay,
    placed_call,
    settled,
)


def call_sid() -> str:
    return "CA" + secrets.token_hex(16)


DESK = "+14155550123"


def placed_conversation(setup: TenantSetup, sid: str) -> Conversation:
    def made() -> tuple[Conversation] | None:
        with tenant_context(setup.tenant):
            conversation = Conversation.objects.filter(call_sid=sid).first()
        return (conversation,) if conversation is not None else None

    return wait_until(made, timeout=10, interval=0.02, message="the conversation to be set up")[0]


def relay_action(server: RelayServer, setup: TenantSetup, sid: str) -> str:
    """The <Connect action> callback as Twilio posts it once the relay has ended: the TwiML it answers."""
    url = f"http://{setup.host}:{server.port}/webhooks/twilio/conversation-relay/"
    params = {"AccountSid": account_sid(setup), "CallSid": sid, "SessionStatus": "ended", "HandoffData": "{}"}
    signature = RequestValidator(auth_token(setup)).compute_signature(url, params)
    answer = requests.post(
        f"http://127.0.0.1:{server.port}/webhooks/twilio/conversation-relay/",
        data=params,
        headers={"Host": f"{setup.host}:{server.port}", "X-Twilio-Signature": signature},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.text


def transfer_reply() -> dict[str, Any]:
    return {
        "text": "Let me get you a colleague.",
        "tool_calls": [{"name": "transfer_to_human", "arguments": {"summary": "Wants billing."}}],
    }


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["token"] for m in messages if m["type"] == "text" and m["token"]]


def test_a_reply_streams_token_by_token_and_every_turn_is_saved_with_its_latency(
    live_pair: tuple[TenantSetup, TenantSetup], relay_server: RelayServer, fake_llm: FakeLLM
) -> None:
    alpha, _ = live_pair
    make_agent(alpha, make_default=True)
    fake_llm.script(replies=["We are open from nine to five."])
    sid = call_sid()
    with open_relay(relay_server, alpha, token=auth_token(alpha)) as ws:
        caller = Caller(ws, account_sid=account_sid(alpha))
        caller.setup(call_sid=sid, to=SENDER)
        caller.send({"type": "prompt", "voicePrompt": "When are", "lang": "en-US", "last": False})
        caller.send({"type": "prompt", "voicePrompt": " you open?", "lang": "en-US", "last": True})
        heard, messages = caller.reply()

    assert heard == "We are open from nine to five."
    assert texts(messages) == ["We", " are", " open", " from", " nine", " to", " five."]  # as the model yields them
    assert messages[-1] == {
        "type": "text",
        "token": "",
        "last": True,
        "interruptible": True,
        "preemptible": True,
        "lang": "en-US",
    }
    request = fake_llm.bodies()[0]
    assert [m["role"] for m in request["messages"]] == ["system", "assistant", "user"]
    assert request["messages"][2]["content"] == "When are you open?"  # the partials and the last prompt
    assert CALLER in request["messages"][0]["content"]
    [conversation] = settled(alpha)
    with tenant_context(alpha.tenant):
        turns = list(Turn.objects.filter(conversation=conversation).values_list("index", "role", "content"))
        latency = Turn.objects.get(conversation=conversation, index=2).latency_ms
    assert turns == [
        (0, "assistant", "Hello, Bright Smiles dental."),
        (1, "user", "When are you open?"),
        (2, "assistant", "We are open from nine to five."),
    ]
    assert latency is not None and 0 < latency < 2000
    assert (conversation.call_sid, conversation.status, conversation.end_reason) == (sid, "ended", "caller_hung_up")
    assert conversation.customer_number == CALLER and conversation.agent_number == SENDER
    assert conversation.ended_at is not None


def test_barge_in_cuts_the_reply_to_what_was_heard_and_no_stale_token_follows(
    live_pair: tuple[TenantSetup, TenantSetup], relay_server: RelayServer, fake_llm: FakeLLM
) -> None:
    alpha, _ = live_pair
    make_agent(alpha, make_default=True)
    long_reply = "Our practice offers cleanings fillings crowns bridges implants and whitening for the whole family."
    fake_llm.script(replies=[{"text": long_reply, "token_delay": 0.1}, "Sure, Tuesday at ten."])
    with open_relay(relay_server, alpha, token=auth_token(alpha)) as ws:
        caller = Caller(ws, account_sid=account_sid(alpha))
        caller.setup(call_sid=call_sid(), to=SENDER)
        caller.say("What do you offer?")
        first = [caller.next() for _ in range(3)]
        caller.send({"type": "interrupt", "utteranceUntilInterrupt": "Our practice", "durationUntilInterruptMs": 640})
        stale = caller.quiet(0.6)  # the model would have yielded ~6 more tokens by now
        caller.say("Can I book Tuesday?")
        second, _ = caller.reply()

    assert texts(first) == ["Our", " practice", " offers"]
    assert stale == []
    assert second == "Sure, Tuesday at ten."
    history = fake_llm.bodies()[1]["messages"]
    assert [(m["role"], m["content"]) for m in history[1:]] == [
        ("assistant", "Hello, Bright Smiles dental."),
        ("user", "What do you offer?"),
        ("assistant", "Our practice"),  # the model knows what the caller heard, not what it meant to say
        ("user", "Can I book Tuesday?"),
    ]
    [conversation] = settled(alpha)
    with tenant_context(alpha.tenant):
        cut = Turn.objects.get(conversation=conversation, index=2)
        interrupt = ConversationEvent.objects.get(conversation=conversation, kind="interrupt")
        contents = list(Turn.objects.filter(conversation=conversation).values_list("content", flat=True))
    assert (cut.content, cut.heard, cut.interrupted) == ("Our practice", "Our practice", True)
    assert interrupt.payload["generated"] == "Our practice offers"
    assert interrupt.payload["durationUntilInterruptMs"] == 640
    assert contents[3:] == ["Can I book Tuesday?", "Sure, Tuesday at ten."]


def test_an_interrupt_after_the_reply_was_sent_still_cuts_the_stored_turn(
    live_pair: tuple[TenantSetup, TenantSetup], relay_server: RelayServer, fake_llm: FakeLLM
) -> None:
    """Twilio speaks slower than tokens arrive: the caller usually interrupts a reply already sent whole."""
    alpha, _ = live_pair
    make_agent(alpha, make_default=True, greeting="")
    fake_llm.script(replies=["First we check your teeth and then we clean them."])
    with open_relay(relay_server, alpha, token=auth_token(alpha)) as ws:
        caller = Caller(ws, account_sid=account_sid(alpha))
        caller.setup(call_sid=call_sid(), to=SENDER)
        caller.say("What happens at a checkup?")
        caller.reply()
        caller.send({"type": "interrupt", "utteranceUntilInterrupt": "First we check", "durationUntilInterruptMs": 900})
        assert caller.quiet(0.3) == []
    [conversation] = settled(alpha)
    with tenant_context(alpha.tenant):
        turns = list(Turn.objects.filter(conversation=conversation).values_list("role", "content", "interrupted"))
    assert turns == [("user", "What happens at a checkup?", False), ("assistant", "First we check", True)]


def test_without_a_fallback_a_failing_provider_gets_an_apology_and_a_clean_end(
    live_pair: tuple[TenantSetup, TenantSetup], relay_server: RelayServer, fake_llm: FakeLLM
) -> None:
    alpha, _ = live_pair
    make_agent(alpha, make_default=True)
    fake_llm.fail_next(1, kind="500")
    with open_relay(relay_server, alpha, token=auth_token(alpha)) as ws:
        caller = Caller(ws, account_sid=account_sid(alpha))
        caller.setup(call_sid=call_sid(), to=SENDER)
        caller.say("Hello?")
        heard, _ = caller.reply()
        end = caller.next()

    assert heard == APOLOGY
    assert end["type"] == "end" and json.loads(end["handoffData"]) == {"reason": "error"}
    [conversation] = settled(alpha)
    assert (conversation.status, conversation.end_reason) == ("failed", "error")
    with tenant_context(alpha.tenant):
        turns = list(Turn.objects.filter(conversation=conversation).values_list("role", "content"))
    assert turns == [("assistant", "Hello, Bright Smiles dental."), ("user", "Hello?"), ("assistant", APOLOGY)]


def test_the_agent_presses_digits_texts_the_caller_and_ends_the_call(
    live_pair: tuple[TenantSetup, TenantSetup], relay_server: RelayServer, fake_llm: FakeLLM
) -> None:
    alpha, _ = live_pair
    make_agent(alpha, make_default=True, greeting="")
    fake_llm.script(
        replies=[
            {"text": "One moment.", "tool_calls": [{"name": "press_digits", "arguments": {"digits": "12#"}}]},
            {"text": "", "tool_calls": [{"name": "send_sms", "arguments": {"body": "Bright Smiles, 1 Main St."}}]},
            {
                "text": "I sent you our address. Goodbye!",
                "tool_calls": [{"name": "end_call", "arguments": {"reason": "done"}}],
            },
        ]
    )
    with open_relay(relay_server, alpha, token=auth_token(alpha)) as ws:
        caller = Caller(ws, account_sid=account_sid(alpha))
        caller.setup(call_sid=call_sid(), to=SENDER)
        caller.say("Text me your address please.")
        messages: list[dict[str, Any]] = []
        while not messages or messages[-1]["type"] != "end":
            messages.append(caller.next())

    kinds = [m["type"] for m in messages]
    assert {"type": "sendDigits", "digits": "12#"} in messages
    assert "".join(texts(messages)) == "One moment.I sent you our address. Goodbye!"
    assert kinds.index("sendDigits") < kinds.index("end")
    assert json.loads(messages[-1]["handoffData"])["reason"] == "end_call"
    third = fake_llm.bodies()[2]["messages"]
    assert third[-1]["role"] == "tool" and third[-1]["content"].startswith("Sent")
    [conversation] = settled(alpha)
    assert (conversation.status, conversation.end_reason) == ("ended", "agent_ended")
    with tenant_context(alpha.tenant):
        sms = Communication.objects.get(channel="sms")
        tool_calls = list(
            ConversationEvent.objects.filter(conversation=conversation, kind="tool_call").values_list(
                "payload", flat=True
            )
        )
    assert (sms.to_number, sms.from_number, sms.content) == (CALLER, SENDER, "Bright Smiles, 1 Main St.")
    assert [call["name"] for call in tool_calls] == ["press_digits", "send_sms", "end_call"]


def test_setup_for_a_placed_outbound_call_continues_its_conversation(
    live_pair: tuple[TenantSetup, TenantSetup], relay_server: RelayServer, fake_llm: FakeLLM
) -> None:
    alpha, _ = live_pair
    agent = make_agent(alpha, greeting="Hi Dana, this is Bright Smiles.", system_prompt="Remind about the visit.")
    with tenant_context(alpha.tenant):
        placed = Conversation.objects.create(
            direction="outbound",
            agent_id=agent.pk,
            agent_name=agent.name,
            agent_version=1,
            customer_number=CALLER,
            agent_number=SENDER,
            contact={"name": "Dana", "phone": CALLER, "variables": {"visit": "Tuesday 10:00"}},
        )
        placed_at = placed.started_at
    sid = call_sid()
    placed_call(alpha, conversation=placed, sid=sid)
    with open_relay(relay_server, alpha, token=auth_token(alpha)) as ws:
        caller = Caller(ws, account_sid=account_sid(alpha))
        caller.send(
            {
                "type": "setup",
                "accountSid": account_sid(alpha),
                "callSid": sid,
                "from": SENDER,
                "to": CALLER,
                "direction": "outbound-api",
                "customParameters": {
                    "conversation_id": str(placed.pk),
                    "direction": "outbound",
                    "agentId": str(agent.pk),
                    "agentVersion": "1",
                },
            }
        )
        caller.say("Who is this?")
        caller.reply()
    [conversation] = settled(alpha)
    assert (conversation.pk, conversation.call_sid, conversation.direction) == (placed.pk, sid, "outbound")
    assert conversation.started_at > placed_at  # the call's start is its answer, not its placement
    system = fake_llm.bodies()[0]["messages"][0]["content"]
    assert system.startswith("Remind about the visit.") and "Dana" in system and "Tuesday 10:00" in system


def test_a_silent_caller_hears_why_and_the_call_ends(
    live_pair: tuple[TenantSetup, TenantSetup], relay_server: RelayServer, fake_llm: FakeLLM
) -> None:
    alpha, _ = live_pair
    make_agent(alpha, make_default=True, greeting="", silence_timeout_seconds=5)
    with open_relay(relay_server, alpha, token=auth_token(alpha)) as ws:
        caller = Caller(ws, account_sid=account_sid(alpha))
        caller.setup(call_sid=call_sid(), to=SENDER)
        started = time.monotonic()
        heard, _ = caller.reply(timeout=10)
        waited = time.monotonic() - started
        end = caller.next()

    assert heard == SILENCE_LINE and 5 <= waited < 8
    assert json.loads(end["handoffData"]) == {"reason": "silence"}
    assert fake_llm.bodies() == []
    [conversation] = settled(alpha)
    assert (conversation.status, conversation.end_reason) == ("ended", "silence")


def test_a_transfer_is_written_before_the_relay_ends_even_without_words(
    live_pair: tuple[TenantSetup, TenantSetup], relay_server: RelayServer, fake_llm: FakeLLM
) -> None:
    alpha, _ = live_pair
    make_agent(alpha, make_default=True, greeting="", transfer_numbers=["+14155550123", "+14155550124"])
    fake_llm.script(
        replies=[
            {
                "text": "",
                "tool_calls": [
                    {"name": "transfer_to_human", "arguments": {"summary": "Wants billing.", "number": "+14155550124"}}
                ],
            }
        ]
    )
    sid = call_sid()
    with open_relay(relay_server, alpha, token=auth_token(alpha)) as ws:
        caller = Caller(ws, account_sid=account_sid(alpha))
        caller.setup(call_sid=sid, to=SENDER)
        caller.say("Billing, please.")
        _, messages = caller.reply()
        end = messages[-1] if messages[-1]["type"] == "end" else caller.next()
        with tenant_context(alpha.tenant):  # what the <Connect action> callback will read, before the socket closes
            written = Conversation.objects.get(call_sid=sid)

    handoff = json.loads(end["handoffData"])
    assert end["type"] == "end" and handoff["transferTo"] == "+14155550124"
    assert written.handoff_data == handoff and written.end_reason == "transferred"
    tools_offered = [tool["function"]["name"] for tool in fake_llm.bodies()[0]["tools"]]
    assert tools_offered == ["transfer_to_human", "end_call", "send_sms", "press_digits"]


def test_the_maximum_duration_cuts_the_reply_in_flight_and_ends_the_call(
    live_pair: tuple[TenantSetup, TenantSetup], relay_server: RelayServer, fake_llm: FakeLLM
) -> None:
    alpha, _ = live_pair
    agent = make_agent(alpha, greeting="", silence_timeout_seconds=600)
    with tenant_context(alpha.tenant):  # the version a call runs, limited below what the API allows (60 s)
        version = AgentVersion.objects.get(agent=agent, number=1)
        version.config = {**version.config, "max_duration_seconds": 2}
        version.save(update_fields=["config"])
    fake_llm.script(replies=[{"text": "This answer takes a very long time to say indeed.", "token_delay": 0.5}])
    with open_relay(relay_server, alpha, token=auth_token(alpha)) as ws:
        caller = Caller(ws, account_sid=account_sid(alpha))
        caller.setup(call_sid=call_sid(), to=SENDER, parameters={"agentId": str(agent.pk), "agentVersion": "1"})
        caller.say("Tell me a long story.")
        messages: list[dict[str, Any]] = []
        while not messages or messages[-1]["type"] != "end":
            messages.append(caller.next())

    spoken = "".join(texts(messages))
    assert spoken.endswith(MAX_DURATION_LINE) and not spoken.startswith("This answer takes a very long time to say")
    assert json.loads(messages[-1]["handoffData"]) == {"reason": "max_duration"}
    [conversation] = settled(alpha)
    assert conversation.end_reason == "max_duration"
    with tenant_context(alpha.tenant):
        cut = Turn.objects.get(conversation=conversation, index=1)
    assert cut.interrupted and not cut.content.startswith("This answer takes a very long")


def test_an_interrupt_while_a_transfer_ends_the_relay_still_sends_the_handoff_and_the_action_dials(
    live_pair: tuple[TenantSetup, TenantSetup], relay_server: RelayServer, fake_llm: FakeLLM
) -> None:
    alpha, _ = live_pair
    make_agent(alpha, make_default=True, greeting="", transfer_numbers=[DESK])
    fake_llm.script(replies=[transfer_reply()])
    sid = call_sid()
    with open_relay(relay_server, alpha, token=auth_token(alpha)) as ws:
        caller = Caller(ws, account_sid=account_sid(alpha))
        caller.setup(call_sid=sid, to=SENDER)
        placed_conversation(alpha, sid)
        with tenant_context(alpha.tenant), transaction.atomic():
            # The conversation's writes wait behind this lock: the relay's end waits for them, and the caller
            # speaks over the agent's last words in that window.
            Conversation.objects.select_for_update().get(call_sid=sid)
            caller.say("Billing, please.")
            heard, _ = caller.reply()
            assert caller.quiet(0.2) == []
            caller.send({"type": "interrupt", "utteranceUntilInterrupt": "Let me", "durationUntilInterruptMs": 300})
            assert caller.quiet(0.3) == []
        end = caller.next(timeout=5)

    assert heard == "Let me get you a colleague."
    handoff = json.loads(end["handoffData"])
    assert end["type"] == "end" and (handoff["reason"], handoff["transferTo"]) == ("transfer_to_human", DESK)
    twiml = relay_action(relay_server, alpha, sid)
    assert "<Dial" in twiml and f">{DESK}</Number>" in twiml
    [conversation] = settled(alpha)
    assert (conversation.status, conversation.end_reason) == ("ended", "transferred")


def test_a_stuck_database_does_not_keep_the_relay_from_ending(
    live_pair: tuple[TenantSetup, TenantSetup], relay_server: RelayServer, fake_llm: FakeLLM, settings: Settings
) -> None:
    settings.CONVERSATION_WRITES_TIMEOUT_SECONDS = 0.5
    alpha, _ = live_pair
    make_agent(alpha, make_default=True, greeting="", transfer_numbers=[DESK])
    fake_llm.script(replies=[transfer_reply()])
    sid = call_sid()
    with open_relay(relay_server, alpha, token=auth_token(alpha)) as ws:
        caller = Caller(ws, account_sid=account_sid(alpha))
        caller.setup(call_sid=sid, to=SENDER)
        placed_conversation(alpha, sid)
        with tenant_context(alpha.tenant), transaction.atomic():
            Conversation.objects.select_for_update().get(call_sid=sid)  # no write of the call goes through
            caller.say("Billing, please.")
            _, messages = caller.reply()
            started = time.monotonic()
            end = messages[-1] if messages[-1]["type"] == "end" else caller.next(timeout=3)
            waited = time.monotonic() - started

    assert end["type"] == "end" and json.loads(end["handoffData"])["transferTo"] == DESK
    assert waited < 2
    [conversation] = settled(alpha)  # the writes go through once the database lets them, and the call is saved
    assert conversation.end_reason == "transferred"


def test_a_fallback_after_spoken_words_is_bridged_and_the_model_remembers_what_was_said(
    live_pair: tuple[TenantSetup, TenantSetup], relay_server: RelayServer, fake_llm: FakeLLM
) -> None:
    alpha, _ = live_pair
    make_agent(alpha, make_default=True, greeting="", llm_fallback_model="fake-fallback")
    fake_llm.script(
        replies=["This reply breaks off halfway through it.", "Here is the whole answer.", "You are welcome."]
    )
    fake_llm.fail_next(1, kind="break")
    with open_relay(relay_server, alpha, token=auth_token(alpha)) as ws:
        caller = Caller(ws, account_sid=account_sid(alpha))
        caller.setup(call_sid=call_sid(), to=SENDER)
        caller.say("Tell me something.")
        heard, messages = caller.reply()
        caller.say("Thanks.")
        caller.reply()

    first_words = heard[: heard.index(BRIDGE)]
    assert first_words.strip() and "This reply breaks off halfway through it.".startswith(first_words.strip())
    assert heard == f"{first_words.strip()} {BRIDGE} Here is the whole answer."
    assert not any(m["type"] == "end" for m in messages)
    assert [body["model"] for body in fake_llm.bodies()] == ["fake-model", "fake-fallback", "fake-model"]
    history = fake_llm.bodies()[2]["messages"]
    assert [(m["role"], m["content"]) for m in history[1:]] == [
        ("user", "Tell me something."),
        ("assistant", heard),  # what the caller heard, both models' words
        ("user", "Thanks."),
    ]
    [conversation] = settled(alpha)
    assert conversation.status == "ended" and conversation.end_reason == "caller_hung_up"
    with tenant_context(alpha.tenant):
        reply = Turn.objects.get(conversation=conversation, index=1).content
        errors = list(
            ConversationEvent.objects.filter(conversation=conversation, kind="error").values_list("payload", flat=True)
        )
    assert reply == heard
    assert [error["model"] for error in errors] == ["fake-model"]


def test_without_a_fallback_a_provider_failing_mid_reply_is_followed_by_the_apology_and_a_clean_end(
    live_pair: tuple[TenantSetup, TenantSetup], relay_server: RelayServer, fake_llm: FakeLLM
) -> None:
    alpha, _ = live_pair
    make_agent(alpha, make_default=True, greeting="")
    fake_llm.script(replies=["This reply breaks off halfway through it."])
    fake_llm.fail_next(1, kind="break")
    with open_relay(relay_server, alpha, token=auth_token(alpha)) as ws:
        caller = Caller(ws, account_sid=account_sid(alpha))
        caller.setup(call_sid=call_sid(), to=SENDER)
        caller.say("Tell me something.")
        heard, _ = caller.reply()
        end = caller.next()

    first_words = heard[: heard.index(APOLOGY)].strip()
    assert first_words and "This reply breaks off halfway through it.".startswith(first_words)
    assert heard == f"{first_words} {APOLOGY}"
    assert end["type"] == "end" and json.loads(end["handoffData"]) == {"reason": "error"}
    [conversation] = settled(alpha)
    assert (conversation.status, conversation.end_reason) == ("failed", "error")
    with tenant_context(alpha.tenant):
        turns = list(Turn.objects.filter(conversation=conversation).values_list("role", "content"))
    assert turns == [("user", "Tell me something."), ("assistant", heard)]


def test_a_reply_the_caller_hung_up_on_keeps_what_was_sent_in_its_language(
    live_pair: tuple[TenantSetup, TenantSetup], relay_server: RelayServer, fake_llm: FakeLLM
) -> None:
    alpha, _ = live_pair
    lang = "de-DE"
    make_agent(alpha, make_default=True, greeting="", language="en-US", languages=["en-US", lang])
    fake_llm.script(replies=[{"text": "Wir haben am Dienstag um zehn Uhr einen Termin frei.", "token_delay": 0.2}])
    with open_relay(relay_server, alpha, token=auth_token(alpha)) as ws:
        caller = Caller(ws, account_sid=account_sid(alpha))
        caller.setup(call_sid=call_sid(), to=SENDER)
        caller.send({"type": "prompt", "voicePrompt": "Haben Sie einen Termin?", "lang": lang, "last": True})
        sent = [caller.next() for _ in range(3)]  # the language switch, then two words

    [conversation] = settled(alpha)
    with tenant_context(alpha.tenant):
        reply = Turn.objects.get(conversation=conversation, index=1)
    assert sent[0]["type"] == "language"
    assert reply.content.startswith("".join(texts(sent))) and not reply.interrupted
    assert reply.lang == lang

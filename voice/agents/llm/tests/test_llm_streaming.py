"""Each provider adapter streams a reply from the fake server in that provider's own wire format."""

from __future__ import annotations

import pytest

from testsupport.llm import AZURE_API_VERSION, FakeLLM
from voice.agents.llm import ChatMessage, ToolCall, ToolSpec

from .support import ANTHROPIC_WIRE, PROVIDERS, llm_request, read_stream, run

TRANSFER = ToolSpec(
    name="transfer_to_human",
    description="Hand the call to a person.",
    parameters={
        "type": "object",
        "properties": {"reason": {"type": "string"}, "urgency": {"type": "integer"}},
        "required": ["reason"],
    },
)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_text_arrives_token_by_token_before_the_reply_is_complete(fake_llm: FakeLLM, provider: str) -> None:
    fake_llm.script(replies=["We have a slot on Tuesday morning."])
    fake_llm.token_delay(0.2)

    reading = run(read_stream(llm_request(fake_llm, provider)))

    assert reading.texts == ["We", " have", " a", " slot", " on", " Tuesday", " morning."]
    done_at = reading.at[-1]
    # Seven tokens 0.2 s apart: the first is in hand well before the last (1.2 s later, give or take load).
    assert reading.at[0] < done_at - 0.8
    gaps = sorted(later - earlier for earlier, later in zip(reading.at[:6], reading.at[1:7], strict=True))
    assert gaps[3] > 0.12  # the median gap: each token came when it was written
    assert reading.done.finish_reason == "stop"
    assert reading.done.output_tokens >= 7 and reading.done.input_tokens > 0


@pytest.mark.parametrize("provider", PROVIDERS)
def test_without_a_script_the_fake_echoes_the_last_user_message(fake_llm: FakeLLM, provider: str) -> None:
    messages = (
        ChatMessage(role="user", content="Hello"),
        ChatMessage(role="assistant", content="Hi, how can I help?"),
        ChatMessage(role="user", content="Can I move my cleaning?"),
    )
    reading = run(read_stream(llm_request(fake_llm, provider, messages=messages)))

    assert "".join(reading.texts) == "You said: Can I move my cleaning?"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_provider_is_spoken_to_in_its_own_wire_format(fake_llm: FakeLLM, provider: str) -> None:
    run(read_stream(llm_request(fake_llm, provider, temperature=1.5, max_tokens=123)))

    [received] = fake_llm.requests()
    body = received["body"]
    assert body["stream"] is True
    if provider in ANTHROPIC_WIRE:
        assert received["path"] == "/anthropic/v1/messages"
        assert received["headers"]["anthropic-version"]
        assert body["system"] == "You are the front desk of a dental clinic."
        assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "I need an appointment"}]}]
        assert body["max_tokens"] == 123
        assert "temperature" not in body  # the anthropic SDK no longer takes one
        return
    expected_path = {
        "fake": "/openai/v1/chat/completions",
        "openai": "/openai/v1/chat/completions",
        "openrouter": "/openrouter/api/v1/chat/completions",
        "azure": "/azure/openai/deployments/gpt-4o-fake/chat/completions",
    }[provider]
    assert received["path"] == expected_path
    assert body["messages"][0] == {"role": "system", "content": "You are the front desk of a dental clinic."}
    assert body["messages"][1] == {"role": "user", "content": "I need an appointment"}
    assert body["temperature"] == 1.5
    assert body["stream_options"] == {"include_usage": True}
    if provider == "openrouter":
        assert body["max_tokens"] == 123
        assert received["headers"]["x-title"] == "Switchboard"
    else:
        assert body["max_completion_tokens"] == 123
    if provider == "azure":
        assert received["query"] == {"api-version": AZURE_API_VERSION}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_streamed_tool_calls_are_assembled_into_tool_call_events(fake_llm: FakeLLM, provider: str) -> None:
    fake_llm.script(
        replies=[
            {
                "text": "Let me get someone for you.",
                "tool_calls": [
                    {"name": "transfer_to_human", "arguments": {"reason": "billing dispute", "urgency": 2}},
                    {"name": "end_call", "arguments": {}},
                ],
            }
        ]
    )
    reading = run(read_stream(llm_request(fake_llm, provider, tools=(TRANSFER,))))

    assert "".join(reading.texts) == "Let me get someone for you."
    transfer, end = reading.tool_calls
    assert (transfer.name, transfer.arguments) == ("transfer_to_human", {"reason": "billing dispute", "urgency": 2})
    assert (end.name, end.arguments) == ("end_call", {})
    assert transfer.id and end.id and transfer.id != end.id
    assert reading.done.finish_reason == "tool_calls"
    # Text first, then the calls, then the end.
    kinds = [type(event).__name__ for event in reading.events]
    assert kinds.index("ToolCall") > max(i for i, kind in enumerate(kinds) if kind == "TextDelta")

    [tool] = fake_llm.bodies()[0]["tools"]
    if provider in ANTHROPIC_WIRE:
        assert tool == {"name": TRANSFER.name, "description": TRANSFER.description, "input_schema": TRANSFER.parameters}
    else:
        assert tool == {
            "type": "function",
            "function": {"name": TRANSFER.name, "description": TRANSFER.description, "parameters": TRANSFER.parameters},
        }


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_tool_result_goes_back_in_the_providers_format(fake_llm: FakeLLM, provider: str) -> None:
    call = ToolCall(id="call_7", name="lookup_appointment", arguments={"phone": "+14155550100"})
    messages = (
        ChatMessage(role="user", content="When is my appointment?"),
        ChatMessage(role="assistant", content="", tool_calls=(call,)),
        ChatMessage(role="tool", content='{"at": "Tuesday 9:00"}', tool_call_id="call_7"),
    )
    reading = run(read_stream(llm_request(fake_llm, provider, messages=messages)))

    assert reading.done.finish_reason == "stop"
    sent = fake_llm.bodies()[0]["messages"]
    if provider in ANTHROPIC_WIRE:
        assert sent[1] == {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "call_7", "name": "lookup_appointment", "input": {"phone": "+14155550100"}}
            ],
        }
        assert sent[2] == {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "call_7", "content": '{"at": "Tuesday 9:00"}'}],
        }
    else:
        assert sent[2]["tool_calls"] == [
            {
                "id": "call_7",
                "type": "function",
                "function": {"name": "lookup_appointment", "arguments": '{"phone": "+14155550100"}'},
            }
        ]
        assert sent[3] == {"role": "tool", "tool_call_id": "call_7", "content": '{"at": "Tuesday 9:00"}'}


@pytest.mark.parametrize("provider", ANTHROPIC_WIRE)
def test_a_conversation_opening_with_the_greeting_still_starts_with_the_caller_for_anthropic(
    fake_llm: FakeLLM, provider: str
) -> None:
    messages = (
        ChatMessage(role="assistant", content="Thanks for calling, how can I help?"),
        ChatMessage(role="user", content="Hi"),
    )
    reading = run(read_stream(llm_request(fake_llm, provider, messages=messages)))

    assert "".join(reading.texts) == "You said: Hi"
    assert [turn["role"] for turn in fake_llm.bodies()[0]["messages"]] == ["user", "assistant", "user"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_max_tokens_cuts_the_reply_and_says_so(fake_llm: FakeLLM, provider: str) -> None:
    fake_llm.script(replies=["one two three four five six"])
    reading = run(read_stream(llm_request(fake_llm, provider, max_tokens=3)))

    assert reading.texts == ["one", " two", " three"]
    assert reading.done.finish_reason == "length"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_two_tool_results_answer_one_reply_and_an_empty_turn_stays_valid(fake_llm: FakeLLM, provider: str) -> None:
    calls = (
        ToolCall(id="call_a", name="end_call", arguments={}),
        ToolCall(id="call_b", name="send_sms", arguments={"body": "See you"}),
    )
    messages = (
        ChatMessage(role="user", content="Text me and hang up"),
        ChatMessage(role="assistant", content="Sure.", tool_calls=calls),
        ChatMessage(role="tool", content="ended", tool_call_id="call_a"),
        ChatMessage(role="tool", content="sent", tool_call_id="call_b"),
        ChatMessage(role="assistant", content=""),
        ChatMessage(role="user", content="Thanks"),
    )
    run(read_stream(llm_request(fake_llm, provider, messages=messages)))

    sent = fake_llm.bodies()[0]["messages"]
    if provider in ANTHROPIC_WIRE:
        # One user turn carries both results; the empty assistant turn is left out, as Anthropic wants.
        assert [turn["role"] for turn in sent] == ["user", "assistant", "user"]
        assert [block["tool_use_id"] for block in sent[2]["content"][:2]] == ["call_a", "call_b"]
        assert sent[2]["content"][2] == {"type": "text", "text": "Thanks"}
    else:
        assert [turn["role"] for turn in sent] == ["system", "user", "assistant", "tool", "tool", "assistant", "user"]
        assert sent[2]["content"] == "Sure." and len(sent[2]["tool_calls"]) == 2
        assert sent[5] == {"role": "assistant", "content": ""}

"""The OpenAI-wire adapter hands its messages and tools to the SDK ready-built (extra_body), skipping the SDK's
per-item transform: what reaches the provider must be exactly what the SDK's typed arguments would have sent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from testsupport.llm import FakeLLM
from voice.agents.llm import ChatMessage, LLMRequest, ToolCall, ToolSpec
from voice.agents.llm.clients import endpoint_for, openai_client, request_timeout
from voice.agents.llm.openai_chat import _arguments

from .support import llm_request, read_stream, run

OPENAI_WIRE = ("fake", "openai", "openrouter", "azure")
LOOKUP = ToolSpec(
    name="lookup_appointment",
    description="Find the caller's next appointment.",
    parameters={
        "type": "object",
        "properties": {"phone": {"type": "string", "description": "E.164"}, "days": {"type": "integer"}},
        "required": ["phone"],
    },
)
END = ToolSpec(name="end_call", description="End the call.", parameters={"type": "object", "properties": {}})
CALL = ToolCall(id="call_7", name="lookup_appointment", arguments={"phone": "+14155550100", "note": "café"})
HISTORY = (
    ChatMessage(role="assistant", content="Hello, this is the clinic. How can I help?"),
    ChatMessage(role="user", content="When is my appointment? Ça marche?"),
    ChatMessage(role="assistant", content="", tool_calls=(CALL,)),
    ChatMessage(role="tool", content='{"at": "Tuesday 9:00"}', tool_call_id="call_7"),
    ChatMessage(role="assistant", content="Tuesday at nine."),
    ChatMessage(role="system", content="The caller is a known patient."),
    ChatMessage(role="user", content=""),
    ChatMessage(role="user", content="Thanks 👍"),
)


def wire_bytes(received: dict[str, Any]) -> bytes:
    """The body as the SDK serialises it (compact, UTF-8, keys in order): the bytes it put on the wire."""
    return json.dumps(received["body"], ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


async def typed_call(request: LLMRequest) -> None:
    """The same request with messages and tools as the SDK's typed arguments, through its transform."""
    arguments = _arguments({"stream": True, "stream_options": {"include_usage": True}}, request)
    arguments |= arguments.pop("extra_body")
    client = openai_client(endpoint_for(provider=request.provider, credentials=request.credentials))
    chunks = await client.chat.completions.create(**arguments, timeout=request_timeout(request.timeout_seconds))
    async with chunks:
        async for _ in chunks:
            pass


@pytest.mark.parametrize("tools", [(LOOKUP, END), ()], ids=["with tools", "without tools"])
@pytest.mark.parametrize("provider", OPENAI_WIRE)
def test_the_body_sent_is_the_one_the_sdks_typed_arguments_send(
    fake_llm: FakeLLM, provider: str, tools: tuple[ToolSpec, ...]
) -> None:
    request = llm_request(fake_llm, provider, messages=HISTORY, tools=tools, temperature=0.3, max_tokens=77)

    run(read_stream(request))
    run(typed_call(request))

    ours, typed = fake_llm.requests()
    assert ours["body"] == typed["body"]
    assert wire_bytes(ours) == wire_bytes(typed)  # same keys in the same order
    assert ours["headers"]["content-length"] == typed["headers"]["content-length"] == str(len(wire_bytes(ours)))
    body = ours["body"]
    assert list(body) == [
        "model",
        "stream",
        "messages",
        "max_tokens" if provider == "openrouter" else "max_completion_tokens",
        "stream_options",
        "temperature",
        *(["tools"] if tools else []),
    ]
    assert len(body["messages"]) == len(HISTORY) + 1  # the system prompt first
    assert body["messages"][3]["tool_calls"][0]["function"]["arguments"] == json.dumps(CALL.arguments)
    if tools:
        assert [tool["function"]["name"] for tool in body["tools"]] == ["lookup_appointment", "end_call"]

"""OpenAI's Chat Completions through the openai SDK: OpenAI, OpenRouter, Azure OpenAI and the fake.

Tool calls stream as ``delta.tool_calls`` pieces keyed by index (id and name first, the arguments
JSON in parts); they are assembled here and yielded as whole ToolCall events once the reply ends.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

from voice.agents.llm.clients import Endpoint, openai_client, request_timeout
from voice.agents.llm.errors import PROVIDER_ERRORS, llm_error
from voice.agents.llm.toolcalls import PartialToolCall
from voice.agents.llm.types import (
    LLMBadOutput,
    LLMRefused,
    LLMRequest,
    LLMUnavailable,
    StreamDone,
    StreamEvent,
    TextDelta,
)


def chat_messages(request: LLMRequest) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": request.system}] if request.system else []
    for message in request.messages:
        if message.role == "tool":
            messages.append({"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content})
        elif message.role == "assistant":
            entry: dict[str, Any] = {"role": "assistant", "content": message.content}
            if message.tool_calls:
                # Content may be null only beside tool calls; an empty turn without them stays "".
                entry["content"] = message.content or None
                entry["tool_calls"] = [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                    }
                    for call in message.tool_calls
                ]
            messages.append(entry)
        elif message.role in ("user", "system"):
            messages.append({"role": message.role, "content": message.content})
        else:
            raise LLMRefused(f"unknown message role {message.role!r}", provider=request.provider)
    return messages


def chat_tools(request: LLMRequest) -> list[dict[str, Any]]:
    return [
        {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
        for t in request.tools
    ]


def _arguments(kwargs: dict[str, Any], request: LLMRequest) -> dict[str, Any]:
    """The create() arguments. The SDK walks every typed argument through its TypedDict transform, which for
    messages and tools (unions of unions, per item and per content part) costs about 4 ms of CPU at a
    20-message history with the call's tools, on the event loop that carries every call's socket: most of a
    turn's own work. The transform only renames aliased keys and formats dates and files, and these plain
    JSON dicts have none, so they go ready-built in `extra_body`, which the SDK sends as given in place of
    the empty placeholders here: the body sent is the same, byte for byte, as with the typed arguments
    (test_llm_wire_body compares the two on the wire)."""
    kwargs |= {"model": request.model, "messages": [], "temperature": request.temperature}
    prebuilt: dict[str, Any] = {"messages": chat_messages(request)}
    # OpenAI's newer models refuse max_tokens; OpenRouter's routes still read it.
    kwargs["max_tokens" if request.provider == "openrouter" else "max_completion_tokens"] = request.max_tokens
    if request.tools:
        kwargs["tools"] = []
        prebuilt["tools"] = chat_tools(request)
    kwargs["extra_body"] = prebuilt
    return kwargs


async def stream(request: LLMRequest, endpoint: Endpoint) -> AsyncGenerator[StreamEvent, None]:
    client = openai_client(endpoint)
    calls: dict[int, PartialToolCall] = {}
    finish_reason: str | None = None
    input_tokens = output_tokens = 0
    try:
        chunks = await client.chat.completions.create(
            **_arguments({"stream": True, "stream_options": {"include_usage": True}}, request),
            timeout=request_timeout(request.timeout_seconds),
        )
        async with chunks:
            async for chunk in chunks:
                if chunk.usage is not None:
                    input_tokens, output_tokens = chunk.usage.prompt_tokens, chunk.usage.completion_tokens
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                delta = choice.delta
                if delta.content:
                    yield TextDelta(text=delta.content)
                for piece in delta.tool_calls or ():
                    partial = calls.setdefault(piece.index, PartialToolCall())
                    partial.id = partial.id or piece.id or ""
                    if piece.function is not None:
                        partial.name = partial.name or piece.function.name or ""
                        partial.arguments += piece.function.arguments or ""
                if choice.finish_reason:
                    finish_reason = choice.finish_reason
    except PROVIDER_ERRORS as exc:
        # What breaks after the finish chunk (only the usage was still to come) loses nothing of the reply.
        if finish_reason is None:
            raise llm_error(exc, provider=request.provider, secret=endpoint.api_key) from None
    if finish_reason is None:
        raise LLMUnavailable(f"{request.provider}: the stream ended before the reply did", provider=request.provider)
    for index in sorted(calls):
        yield calls[index].complete(provider=request.provider)
    yield StreamDone(finish_reason=finish_reason, input_tokens=input_tokens, output_tokens=output_tokens)


async def complete_json(request: LLMRequest, endpoint: Endpoint, *, schema: dict[str, Any], name: str) -> str:
    """The text of a non-streamed answer constrained to the schema (response_format json_schema)."""
    client = openai_client(endpoint)
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": name, "schema": schema, "strict": is_strict(schema)},
    }
    try:
        completion = await client.chat.completions.create(
            **_arguments({"stream": False, "response_format": response_format}, request),
            timeout=request_timeout(request.timeout_seconds),
        )
    except PROVIDER_ERRORS as exc:
        raise llm_error(exc, provider=request.provider, secret=endpoint.api_key) from None
    if not completion.choices:
        raise LLMBadOutput(f"{request.provider}: an answer without choices", provider=request.provider)
    message = completion.choices[0].message
    if message.refusal:
        raise LLMBadOutput(f"{request.provider}: the model refused: {message.refusal[:200]}", provider=request.provider)
    return message.content or ""


def is_strict(schema: Any) -> bool:
    """Whether OpenAI's strict mode accepts the schema: every object closed, every property required.
    Strict guarantees the shape; a schema it would reject is still sent, unstrict, and checked here after."""
    if isinstance(schema, list):
        return all(is_strict(item) for item in schema)
    if not isinstance(schema, dict):
        return True
    if schema.get("type") == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is not False or set(schema.get("required", ())) != set(properties):
            return False
    return all(is_strict(value) for key, value in schema.items() if key not in ("enum", "const", "required"))

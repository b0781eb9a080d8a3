"""Anthropic's Messages API through the anthropic SDK (Anthropic, and the fake as "fake-anthropic").

Text streams as ``text_delta`` events; a ``tool_use`` block's input streams as ``input_json_delta``
pieces and is yielded as a ToolCall when its block stops. Stop reasons are given in OpenAI's words
(StreamDone.finish_reason), so the engines read one vocabulary.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from voice.agents.llm.clients import Endpoint, anthropic_client, request_timeout
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

FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "tool_calls", "max_tokens": "length"}
# Anthropic wants the first turn to be the caller's; a conversation that opens with the agent's greeting
# gets this stand-in before it.
OPENING_TURN = "(The call has started.)"


def _messages(request: LLMRequest) -> tuple[str, list[dict[str, Any]]]:
    system = [request.system] if request.system else []
    turns: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role == "system":
            system.append(message.content)
            continue
        if message.role == "tool":
            role = "user"
            blocks: list[dict[str, Any]] = [
                {"type": "tool_result", "tool_use_id": message.tool_call_id, "content": message.content}
            ]
        elif message.role in ("user", "assistant"):
            role = message.role
            blocks = [{"type": "text", "text": message.content}] if message.content else []
            blocks += [
                {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
                for call in message.tool_calls
            ]
        else:
            raise LLMRefused(f"unknown message role {message.role!r}", provider=request.provider)
        if not blocks:
            continue
        # Consecutive turns of one side are one turn to Anthropic (several tool results answer one reply).
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    if not turns or turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": [{"type": "text", "text": OPENING_TURN}]})
    return "\n\n".join(system), turns


def _arguments(request: LLMRequest, **extra: Any) -> dict[str, Any]:
    system, messages = _messages(request)
    kwargs: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": messages,
        # No temperature: the anthropic SDK (2.x) no longer takes one, its models set their own.
        "timeout": request_timeout(request.timeout_seconds),
        **extra,
    }
    if system:
        kwargs["system"] = system
    if request.tools:
        kwargs["tools"] = [
            {"name": tool.name, "description": tool.description, "input_schema": tool.parameters}
            for tool in request.tools
        ]
    return kwargs


async def stream(request: LLMRequest, endpoint: Endpoint) -> AsyncGenerator[StreamEvent, None]:
    client = anthropic_client(endpoint)
    tools: dict[int, PartialToolCall] = {}
    stop_reason: str | None = None
    finished = False
    input_tokens = output_tokens = 0
    try:
        events = await client.messages.create(**_arguments(request, stream=True))
        async with events:
            async for event in events:
                if event.type == "content_block_delta":
                    if event.delta.type == "text_delta":
                        if event.delta.text:
                            yield TextDelta(text=event.delta.text)
                    elif event.delta.type == "input_json_delta" and event.index in tools:
                        tools[event.index].arguments += event.delta.partial_json
                elif event.type == "content_block_start":
                    block = event.content_block
                    if block.type == "tool_use":
                        tools[event.index] = PartialToolCall(id=block.id, name=block.name)
                elif event.type == "content_block_stop":
                    if event.index in tools:
                        yield tools.pop(event.index).complete(provider=request.provider)
                elif event.type == "message_start":
                    input_tokens = event.message.usage.input_tokens
                    output_tokens = event.message.usage.output_tokens
                elif event.type == "message_delta":
                    stop_reason = event.delta.stop_reason or stop_reason
                    output_tokens = event.usage.output_tokens
                elif event.type == "message_stop":
                    finished = True
    except PROVIDER_ERRORS as exc:
        raise llm_error(exc, provider=request.provider, secret=endpoint.api_key) from None
    if not finished:
        raise LLMUnavailable(f"{request.provider}: the stream ended before the reply did", provider=request.provider)
    reason = stop_reason or "end_turn"
    yield StreamDone(
        finish_reason=FINISH_REASONS.get(reason, reason), input_tokens=input_tokens, output_tokens=output_tokens
    )


async def complete_json(request: LLMRequest, endpoint: Endpoint, *, schema: dict[str, Any]) -> str:
    """The text of an answer constrained to the schema (Anthropic's structured outputs, output_config)."""
    client = anthropic_client(endpoint)
    try:
        message = await client.messages.create(
            **_arguments(request, output_config={"format": {"type": "json_schema", "schema": schema}})
        )
    except PROVIDER_ERRORS as exc:
        raise llm_error(exc, provider=request.provider, secret=endpoint.api_key) from None
    texts = [block.text for block in message.content if block.type == "text"]
    if not texts:
        raise LLMBadOutput(f"{request.provider}: an answer without text", provider=request.provider)
    return "".join(texts)

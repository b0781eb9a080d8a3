"""Anthropic's Messages wire format: ``POST /anthropic/v1/messages`` with ``x-api-key: <lane>``.

Streams are named SSE events: ``message_start``, ``ping``, per content block ``content_block_start``,
``content_block_delta`` (``text_delta`` per token, ``input_json_delta`` pieces for a ``tool_use``
block's input) and ``content_block_stop``, then ``message_delta`` (stop_reason, output tokens) and
``message_stop``. Structured output is asked for with ``output_config.format`` (``json_schema``).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from aiohttp import web

from .exchange import Call, serve, sse_json
from .replies import Answer, count_words, split_arguments
from .state import Lanes

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    504: "api_error",
    529: "overloaded_error",
}


class AnthropicWire:
    tool_id_prefix = "toolu_"

    def __init__(self, lanes: Lanes) -> None:
        self.lanes = lanes

    async def messages(self, request: web.Request) -> web.StreamResponse:
        key = request.headers.get("x-api-key", "")
        if not key:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            key = token.strip() if scheme.lower() == "bearer" else ""
        if not key:
            return self.error(401, "x-api-key header is required")
        if not request.headers.get("anthropic-version"):
            return self.error(400, "anthropic-version: header is required")
        try:
            body = await request.json()
        except ValueError:
            return self.error(400, "There was an issue with your request body: invalid JSON.")
        if not isinstance(body, dict):
            return self.error(400, "The body must be a JSON object.")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return self.error(400, "messages: Field required")
        if not isinstance(messages[0], dict) or messages[0].get("role") != "user":
            return self.error(400, 'messages: first message must use the "user" role')
        if not body.get("model"):
            return self.error(400, "model: Field required")
        max_tokens = body.get("max_tokens")
        if not isinstance(max_tokens, int) or max_tokens < 1:
            return self.error(400, "max_tokens: Field required")
        call = Call(
            lane=self.lanes.get(key),
            wire="anthropic",
            body=body,
            stream=bool(body.get("stream")),
            model=str(body["model"]),
            schema=_schema(body.get("output_config")),
            max_tokens=max_tokens,
            last_user_text=_last_user_text(messages),
            input_tokens=count_words(messages) + count_words(body.get("system") or ""),
            id="msg_" + secrets.token_hex(12),
        )
        return await serve(request, call, self)

    def error(self, status: int, message: str) -> web.Response:
        kind = _ERROR_TYPES.get(status, "api_error")
        headers = {"request-id": "req_" + secrets.token_hex(12)}
        if status == 429:
            headers["retry-after"] = "1"
        return web.json_response(
            {"type": "error", "error": {"type": kind, "message": message}}, status=status, headers=headers
        )

    def opening(self, call: Call, answer: Answer) -> list[bytes]:
        message: dict[str, Any] = {
            "id": call.id,
            "type": "message",
            "role": "assistant",
            "model": call.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": answer.input_tokens, "output_tokens": 1},
        }
        return [
            sse_json({"type": "message_start", "message": message}, event="message_start"),
            sse_json({"type": "ping"}, event="ping"),
        ]

    def pieces(self, call: Call, answer: Answer) -> list[tuple[bytes, bool]]:
        pieces: list[tuple[bytes, bool]] = []
        index = 0
        if answer.tokens:
            pieces.append((_block_start(index, {"type": "text", "text": ""}), False))
            pieces.extend((_block_delta(index, {"type": "text_delta", "text": token}), True) for token in answer.tokens)
            pieces.append((_block_stop(index), False))
            index += 1
        for tool_call in answer.tool_calls:
            block = {"type": "tool_use", "id": tool_call.id, "name": tool_call.name, "input": {}}
            pieces.append((_block_start(index, block), False))
            pieces.extend(
                (_block_delta(index, {"type": "input_json_delta", "partial_json": part}), True)
                for part in split_arguments(tool_call.arguments_json)
            )
            pieces.append((_block_stop(index), False))
            index += 1
        return pieces

    def closing(self, call: Call, answer: Answer) -> list[bytes]:
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": _stop_reason(answer), "stop_sequence": None},
            "usage": {"output_tokens": answer.output_tokens},
        }
        return [sse_json(delta, event="message_delta"), sse_json({"type": "message_stop"}, event="message_stop")]

    def whole(self, call: Call, answer: Answer) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if answer.tokens:
            content.append({"type": "text", "text": answer.text})
        content.extend(
            {"type": "tool_use", "id": tool.id, "name": tool.name, "input": json.loads(tool.arguments_json)}
            for tool in answer.tool_calls
        )
        return {
            "id": call.id,
            "type": "message",
            "role": "assistant",
            "model": call.model,
            "content": content,
            "stop_reason": _stop_reason(answer),
            "stop_sequence": None,
            "usage": {"input_tokens": answer.input_tokens, "output_tokens": answer.output_tokens},
        }


def _block_start(index: int, block: dict[str, Any]) -> bytes:
    return sse_json(
        {"type": "content_block_start", "index": index, "content_block": block}, event="content_block_start"
    )


def _block_delta(index: int, delta: dict[str, Any]) -> bytes:
    return sse_json({"type": "content_block_delta", "index": index, "delta": delta}, event="content_block_delta")


def _block_stop(index: int) -> bytes:
    return sse_json({"type": "content_block_stop", "index": index}, event="content_block_stop")


def _schema(output_config: Any) -> dict[str, Any] | None:
    if not isinstance(output_config, dict):
        return None
    output_format = output_config.get("format")
    if isinstance(output_format, dict) and output_format.get("type") == "json_schema":
        schema = output_format.get("schema")
        return schema if isinstance(schema, dict) else {"type": "object"}
    return None


def _last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            texts = [
                block.get("text", "") for block in content if isinstance(block, dict) and block.get("type") == "text"
            ]
            if texts:
                return " ".join(texts).strip()
    return ""


def _stop_reason(answer: Answer) -> str:
    if answer.truncated:
        return "max_tokens"
    return "tool_use" if answer.tool_calls else "end_turn"

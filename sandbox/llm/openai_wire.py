"""OpenAI's Chat Completions wire format, as OpenAI, OpenRouter and Azure OpenAI speak it.

``POST /openai/v1/chat/completions`` (Authorization: Bearer <lane>), the same under
``/openrouter/api/v1/``, and ``POST /azure/openai/deployments/{deployment}/chat/completions?api-version=...``
(``api-key: <lane>``). Streams are ``data: {chat.completion.chunk}`` lines ending with ``data: [DONE]``:
a role chunk, one chunk per token, tool calls as ``delta.tool_calls`` pieces (id and name first, the
arguments in parts), a finish chunk, and a usage chunk when ``stream_options.include_usage`` asks.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from aiohttp import web

from .exchange import Call, serve, sse_json
from .replies import Answer, count_words, split_arguments
from .state import Lanes

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "DeploymentNotFound"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", None),
    504: ("server_error", "timeout"),
}


class OpenAIWire:
    tool_id_prefix = "call_"

    def __init__(self, lanes: Lanes) -> None:
        self.lanes = lanes

    # --- routes -------------------------------------------------------------------------------------

    async def openai(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, wire="openai", key=_bearer(request))

    async def openrouter(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, wire="openrouter", key=_bearer(request))

    async def azure(self, request: web.Request) -> web.StreamResponse:
        if not request.query.get("api-version"):
            return self.error(404, "Resource not found: the api-version query parameter is required.")
        return await self._handle(
            request,
            wire="azure",
            key=request.headers.get("api-key", "") or _bearer(request),
            model=request.match_info["deployment"],
        )

    async def _handle(self, request: web.Request, *, wire: str, key: str, model: str = "") -> web.StreamResponse:
        if not key:
            return self.error(401, "You didn't provide an API key.")
        try:
            body = await request.json()
        except ValueError:
            return self.error(400, "We could not parse the JSON body of your request.")
        if not isinstance(body, dict):
            return self.error(400, "The body must be a JSON object.")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return self.error(400, "'messages' is a required property and must be a non-empty array.")
        model = model or body.get("model") or ""
        if not model:
            return self.error(400, "'model' is a required property.")
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
        call = Call(
            lane=self.lanes.get(key),
            wire=wire,
            body=body,
            stream=bool(body.get("stream")),
            model=str(model),
            schema=_schema(body.get("response_format")),
            max_tokens=max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else None,
            last_user_text=_last_user_text(messages),
            input_tokens=count_words(messages),
            include_usage=bool((body.get("stream_options") or {}).get("include_usage")),
            id="chatcmpl-" + secrets.token_hex(12),
        )
        return await serve(request, call, self)

    # --- the format ---------------------------------------------------------------------------------

    def error(self, status: int, message: str) -> web.Response:
        kind, code = _ERROR_TYPES.get(status, ("server_error", None))
        headers = {"Retry-After": "1", "x-ratelimit-remaining-requests": "0"} if status == 429 else {}
        return web.json_response(
            {"error": {"message": message, "type": kind, "param": None, "code": code}}, status=status, headers=headers
        )

    def _chunk(self, call: Call, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        chunk: dict[str, Any] = {
            "id": call.id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": call.model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }
        if call.include_usage:
            chunk["usage"] = None
        return sse_json(chunk)

    def opening(self, call: Call, answer: Answer) -> list[bytes]:
        return [self._chunk(call, {"role": "assistant", "content": "", "refusal": None})]

    def pieces(self, call: Call, answer: Answer) -> list[tuple[bytes, bool]]:
        pieces = [(self._chunk(call, {"content": token}), True) for token in answer.tokens]
        for index, tool_call in enumerate(answer.tool_calls):
            parts = split_arguments(tool_call.arguments_json)
            first = {
                "index": index,
                "id": tool_call.id,
                "type": "function",
                "function": {"name": tool_call.name, "arguments": ""},
            }
            pieces.append((self._chunk(call, {"tool_calls": [first]}), False))
            pieces.extend(
                (self._chunk(call, {"tool_calls": [{"index": index, "function": {"arguments": part}}]}), True)
                for part in parts
            )
        return pieces

    def closing(self, call: Call, answer: Answer) -> list[bytes]:
        chunks = [self._chunk(call, {}, _finish_reason(answer))]
        if call.include_usage:
            usage = {
                "id": call.id,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": call.model,
                "system_fingerprint": "fp_fake",
                "choices": [],
                "usage": _usage(answer),
            }
            chunks.append(sse_json(usage))
        chunks.append(b"data: [DONE]\n\n")
        return chunks

    def whole(self, call: Call, answer: Answer) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": answer.text or None, "refusal": None}
        if answer.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call_.id,
                    "type": "function",
                    "function": {"name": call_.name, "arguments": call_.arguments_json},
                }
                for call_ in answer.tool_calls
            ]
        return {
            "id": call.id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": call.model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": _finish_reason(answer)}],
            "usage": _usage(answer),
        }


def _bearer(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _schema(response_format: Any) -> dict[str, Any] | None:
    if not isinstance(response_format, dict):
        return None
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else {"type": "object"}
    if response_format.get("type") == "json_object":
        return {"type": "object"}
    return None


def _last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(part.get("text", "") for part in content if isinstance(part, dict)).strip()
            return str(content or "")
    return ""


def _finish_reason(answer: Answer) -> str:
    if answer.truncated:
        return "length"
    return "tool_calls" if answer.tool_calls else "stop"


def _usage(answer: Answer) -> dict[str, int]:
    return {
        "prompt_tokens": answer.input_tokens,
        "completion_tokens": answer.output_tokens,
        "total_tokens": answer.input_tokens + answer.output_tokens,
    }

"""One model call, whatever the wire: the lane's failures, timing and reply, streamed or whole.

A wire (openai_wire, anthropic_wire) parses its request into a :class:`Call` and knows how to write
an :class:`~sandbox.llm.replies.Answer` and errors in its own format; :func:`serve` does the rest.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from .replies import Answer, build_answer
from .state import Lane

SECRET_HEADERS = frozenset({"authorization", "api-key", "x-api-key", "cookie"})
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
ERROR_STATUSES = {"500": 500, "503": 503, "529": 529, "429": 429, "401": 401}


@dataclass(slots=True)
class Call:
    lane: Lane
    wire: str  # "openai" | "openrouter" | "azure" | "anthropic"
    body: dict[str, Any]
    stream: bool
    model: str
    schema: dict[str, Any] | None
    max_tokens: int | None
    last_user_text: str
    input_tokens: int
    include_usage: bool = False
    id: str = ""  # the completion's or message's id, as the wire writes it


class Wire(Protocol):
    tool_id_prefix: str

    def error(self, status: int, message: str) -> web.Response: ...

    def opening(self, call: Call, answer: Answer) -> list[bytes]: ...

    def pieces(self, call: Call, answer: Answer) -> list[tuple[bytes, bool]]:
        """The reply's events in order, each with whether it is a token (paced by token_delay)."""
        ...

    def closing(self, call: Call, answer: Answer) -> list[bytes]: ...

    def whole(self, call: Call, answer: Answer) -> dict[str, Any]: ...


def record(request: web.Request, call: Call, failure: str | None) -> None:
    call.lane.received.append(
        {
            "wire": call.wire,
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "headers": {
                name.lower(): value for name, value in request.headers.items() if name.lower() not in SECRET_HEADERS
            },
            "body": call.body,
            "stream": call.stream,
            "model": call.model,
            "failure": failure,
            # The client's port: requests on one kept-alive connection share it.
            "client_port": (request.transport.get_extra_info("peername") or ("", 0))[1] if request.transport else 0,
            "received_at": time.time(),
        }
    )


def sse_json(data: Any, *, event: str | None = None) -> bytes:
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def serve(request: web.Request, call: Call, wire: Wire) -> web.StreamResponse:
    lane = call.lane
    failure = lane.next_failure()
    record(request, call, failure)
    if lane.refuse or failure == "401":
        # Spelled out in full, harsher than providers (which mask it): whatever echoes it leaks it.
        return wire.error(401, f"Incorrect API key provided: {lane.name}.")
    if failure in ERROR_STATUSES:
        return wire.error(ERROR_STATUSES[failure], f"Injected failure {failure}.")
    if failure == "hang":
        await asyncio.sleep(lane.hang_seconds)
        return wire.error(504, "The fake hung for its whole hang_seconds.")
    reply = lane.next_reply()
    answer = build_answer(
        reply=reply,
        last_user_text=call.last_user_text,
        schema=call.schema,
        max_tokens=call.max_tokens,
        input_tokens=call.input_tokens,
        tool_id_prefix=wire.tool_id_prefix,
        malformed=failure == "malformed",
        tokens_per_chunk=lane.tokens_per_chunk,
    )
    lane.served += 1
    first_delay = (
        lane.first_token_delay if reply is None or reply.first_token_delay is None else reply.first_token_delay
    )
    token_delay = lane.token_delay if reply is None or reply.token_delay is None else reply.token_delay
    if not call.stream:
        return await _whole(request, call, wire, answer, failure, first_delay + token_delay * len(answer.tokens))
    return await _streamed(request, call, wire, answer, failure, first_delay, token_delay)


async def _whole(
    request: web.Request, call: Call, wire: Wire, answer: Answer, failure: str | None, delay: float
) -> web.StreamResponse:
    if failure == "timeout":
        await asyncio.sleep(call.lane.hang_seconds)
        return wire.error(504, "The fake stalled for its whole hang_seconds.")
    if delay:
        await asyncio.sleep(delay)
    body = json.dumps(wire.whole(call, answer)).encode()
    if failure != "break":
        return web.Response(body=body, content_type="application/json")
    response = web.StreamResponse(headers={"Content-Type": "application/json", "Content-Length": str(len(body))})
    await response.prepare(request)
    await response.write(body[: len(body) // 2])
    _cut(request)
    return response


async def _streamed(
    request: web.Request,
    call: Call,
    wire: Wire,
    answer: Answer,
    failure: str | None,
    first_delay: float,
    token_delay: float,
) -> web.StreamResponse:
    opening = b"".join(wire.opening(call, answer))
    pieces = wire.pieces(call, answer)
    if not first_delay and not token_delay and failure is None:
        # A reply due at once is one write, headers included (a loopback send costs more than building the
        # whole reply): the client still reads it one event at a time, as from a model that was that fast.
        rest = b"".join([piece for piece, _ in pieces] + wire.closing(call, answer))
        return web.Response(body=opening + rest, headers=SSE_HEADERS)
    response = web.StreamResponse(headers=SSE_HEADERS)
    await response.prepare(request)
    if failure == "timeout":
        await response.write(opening)
        await asyncio.sleep(call.lane.hang_seconds)
        _cut(request)
        return response
    await response.write(opening)
    if not token_delay and failure != "break":
        # Tokens due at once go out in one write after the first-token delay.
        await asyncio.sleep(first_delay)
        await response.write(b"".join([piece for piece, _ in pieces] + wire.closing(call, answer)))
        await response.write_eof()
        return response
    if first_delay:
        await asyncio.sleep(first_delay)
    cut_at = len(pieces) // 2 if failure == "break" else None
    tokens_sent = 0
    for index, (piece, is_token) in enumerate(pieces):
        if index == cut_at:
            _cut(request)
            return response
        if is_token:
            if tokens_sent and token_delay:
                await asyncio.sleep(token_delay)
            tokens_sent += 1
        await response.write(piece)
    if failure == "break":  # nothing to cut in the middle of: cut before the end
        _cut(request)
        return response
    for chunk in wire.closing(call, answer):
        await response.write(chunk)
    await response.write_eof()
    return response


def _cut(request: web.Request) -> None:
    """Drops the connection mid-body, as a provider's crashed backend or a broken proxy does."""
    if request.transport is not None:
        request.transport.abort()

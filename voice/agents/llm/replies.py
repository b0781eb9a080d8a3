"""The seam's two calls: a streamed reply for a live turn, a structured answer for the analysis.

Each request's timeout bounds the time to its first event (connecting and the model's first token
included) and every gap between events after it, so a provider that stalls mid-reply fails the turn
as surely as one that never answers; the SDKs' own timeouts stay as a second line below it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator
from typing import Any

import jsonschema
import structlog

from voice.agents.llm import anthropic_messages, openai_chat
from voice.agents.llm.clients import ANTHROPIC_WIRE, endpoint_for
from voice.agents.llm.types import LLMBadOutput, LLMError, LLMRefused, LLMRequest, LLMTimeout, StreamEvent

logger = structlog.get_logger(__name__)


async def stream_reply(request: LLMRequest) -> AsyncGenerator[StreamEvent, None]:
    """TextDelta events as the provider yields them, then any ToolCall events, then one StreamDone.
    Raises an LLMError subclass (see .retryable) when the provider fails, stalls or breaks off."""
    started = time.monotonic()
    try:
        endpoint = endpoint_for(provider=request.provider, credentials=request.credentials)
        adapter = anthropic_messages if request.provider in ANTHROPIC_WIRE else openai_chat
        events = adapter.stream(request, endpoint)
        try:
            while True:
                try:
                    async with asyncio.timeout(request.timeout_seconds):
                        event = await anext(events)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    raise LLMTimeout(
                        f"{request.provider}: nothing for {request.timeout_seconds:g} s", provider=request.provider
                    ) from None
                yield event
        finally:
            await events.aclose()
    except LLMError as exc:
        _log_failure(request, exc, started)
        raise


async def structured_reply(request: LLMRequest, *, schema: dict[str, Any], name: str) -> dict[str, Any]:
    """The model's answer as a JSON object valid against `schema` (JSON Schema), asked for with each
    provider's structured-output mode. Raises LLMBadOutput when the answer is not that, another LLMError
    when the provider fails."""
    started = time.monotonic()
    try:
        validator = _validator(schema, provider=request.provider)
        endpoint = endpoint_for(provider=request.provider, credentials=request.credentials)
        try:
            async with asyncio.timeout(request.timeout_seconds):
                if request.provider in ANTHROPIC_WIRE:
                    text = await anthropic_messages.complete_json(request, endpoint, schema=schema)
                else:
                    text = await openai_chat.complete_json(request, endpoint, schema=schema, name=name)
        except TimeoutError:
            raise LLMTimeout(
                f"{request.provider}: no answer in {request.timeout_seconds:g} s", provider=request.provider
            ) from None
        return _validated(text, validator, provider=request.provider)
    except LLMError as exc:
        _log_failure(request, exc, started)
        raise


def _validator(schema: dict[str, Any], *, provider: str) -> jsonschema.protocols.Validator:
    validator_class = jsonschema.validators.validator_for(schema)
    try:
        validator_class.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise LLMRefused(f"the output schema is not a JSON schema: {exc.message}", provider=provider) from None
    return validator_class(schema)


def _validated(text: str, validator: jsonschema.protocols.Validator, *, provider: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise LLMBadOutput(f"{provider}: the answer is not JSON", provider=provider) from None
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(the answer)"
        raise LLMBadOutput(
            f"{provider}: the answer does not match the schema at {where}: {error.message}"[:300], provider=provider
        )
    if not isinstance(value, dict):
        raise LLMBadOutput(f"{provider}: the answer is not a JSON object", provider=provider)
    return value


def _log_failure(request: LLMRequest, exc: LLMError, started: float) -> None:
    logger.warning(
        "llm_request_failed",
        provider=request.provider,
        model=request.model,
        error=type(exc).__name__,
        status=exc.status,
        retryable=exc.retryable,
        detail=str(exc),
        elapsed_ms=round((time.monotonic() - started) * 1000, 1),
    )

"""What the adapter tests share: a request for a provider aimed at the test's fake lane, and a stream read."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from testsupport.llm import FakeLLM
from voice.agents.llm import ChatMessage, LLMRequest, StreamDone, StreamEvent, TextDelta, ToolCall, stream_reply

T = TypeVar("T")

# Every provider the seam names, each reached in its own wire format on the fake server.
PROVIDERS = ("fake", "openai", "openrouter", "azure", "anthropic", "fake-anthropic")
ANTHROPIC_WIRE = ("anthropic", "fake-anthropic")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def llm_request(fake: FakeLLM, provider: str, *, text: str = "I need an appointment", **fields: Any) -> LLMRequest:
    """The fakes need no credentials (settings name the test's lane); the others get the lane as their key."""
    if "credentials" not in fields:
        fields["credentials"] = None if provider.startswith("fake") else fake.credentials(provider)
    fields.setdefault("messages", (ChatMessage(role="user", content=text),))
    return LLMRequest(
        provider=provider, model="test-model", system="You are the front desk of a dental clinic.", **fields
    )


@dataclass
class Reading:
    events: list[StreamEvent]
    at: list[float]  # seconds since the call, per event

    @property
    def texts(self) -> list[str]:
        return [event.text for event in self.events if isinstance(event, TextDelta)]

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [event for event in self.events if isinstance(event, ToolCall)]

    @property
    def done(self) -> StreamDone:
        assert isinstance(self.events[-1], StreamDone), self.events
        return self.events[-1]


async def read_stream(request: LLMRequest, into: Reading | None = None) -> Reading:
    """Every event with its arrival time; `into` keeps what arrived when the stream then raises."""
    reading = into if into is not None else Reading(events=[], at=[])
    started = time.monotonic()
    async for event in stream_reply(request):
        reading.events.append(event)
        reading.at.append(time.monotonic() - started)
    return reading

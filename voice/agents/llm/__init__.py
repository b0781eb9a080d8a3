"""LLM providers behind one small interface: the seam's types (types.py) and its two calls.

`stream_reply(request)` streams a live turn's reply (TextDelta..., ToolCall..., StreamDone);
`structured_reply(request, schema=..., name=...)` answers a JSON object valid against a schema. The
providers are reached through their official SDKs only: openai (OpenAI, OpenRouter, Azure OpenAI, and
the project's fake LLM as "fake") and anthropic (Anthropic, and the fake as "fake-anthropic").
"""

from voice.agents.llm.replies import stream_reply, structured_reply
from voice.agents.llm.types import (
    ChatMessage,
    LLMBadOutput,
    LLMCredentials,
    LLMError,
    LLMRefused,
    LLMRequest,
    LLMTimeout,
    LLMUnavailable,
    StreamDone,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolSpec,
)

__all__ = [
    "ChatMessage",
    "LLMBadOutput",
    "LLMCredentials",
    "LLMError",
    "LLMRefused",
    "LLMRequest",
    "LLMTimeout",
    "LLMUnavailable",
    "StreamDone",
    "StreamEvent",
    "TextDelta",
    "ToolCall",
    "ToolSpec",
    "stream_reply",
    "structured_reply",
]

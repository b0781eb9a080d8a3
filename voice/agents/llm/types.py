"""The LLM seam: what the engines ask of a model and what a reply stream yields.

Plain frozen dataclasses so agents, the live engine and the results analysis can build requests
and read events without knowing which provider answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class LLMCredentials:
    api_key: str
    base_url: str = ""
    azure_endpoint: str = ""
    azure_deployment: str = ""
    azure_api_version: str = ""

    def __repr__(self) -> str:
        # The key must never reach a log line through a repr of a request.
        return (
            f"LLMCredentials(api_key='***', base_url={self.base_url!r}, "
            f"azure_endpoint={self.azure_endpoint!r}, azure_deployment={self.azure_deployment!r}, "
            f"azure_api_version={self.azure_api_version!r})"
        )


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: str  # "user" | "assistant" | "tool"
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments


@dataclass(frozen=True, slots=True)
class LLMRequest:
    provider: str  # "fake" | "fake-anthropic" | "openai" | "anthropic" | "openrouter" | "azure"
    model: str
    system: str
    messages: tuple[ChatMessage, ...]
    tools: tuple[ToolSpec, ...] = ()
    temperature: float = 0.7
    max_tokens: int = 400
    timeout_seconds: float = 10.0
    credentials: LLMCredentials | None = field(default=None)


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class StreamDone:
    """The reply is complete. finish_reason in OpenAI's words whatever the provider: "stop", "tool_calls",
    "length" (max_tokens reached), or the provider's own word for anything else."""

    finish_reason: str
    input_tokens: int = 0
    output_tokens: int = 0


StreamEvent = TextDelta | ToolCall | StreamDone


class LLMError(Exception):
    """A model call failed; `retryable` says whether the same call may succeed later (another try, the
    fallback model). `provider` and `status` (the HTTP status, when there was one) say where it failed;
    `retry_after` is the provider's Retry-After in seconds, when it sent one (a 429)."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        retryable: bool | None = None,
        provider: str = "",
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable
        self.provider = provider
        self.status = status
        self.retry_after = retry_after


class LLMTimeout(LLMError):
    """No answer (or no first token) within request.timeout_seconds."""

    retryable = True


class LLMUnavailable(LLMError):
    """The provider is down, overloaded or rate limiting (5xx, 429, connection failure)."""

    retryable = True


class LLMRefused(LLMError):
    """The provider refused the request: bad key, no access, bad request. Retrying will not help."""

    retryable = False


class LLMBadOutput(LLMError):
    """The model answered, but not in the shape asked for (structured output that fails the schema)."""

    retryable = True

"""What went wrong at a provider, as one of our LLMError kinds, with the key never in the message.

Both SDKs raise the same shapes (APIStatusError with a status, APITimeoutError, APIConnectionError);
a stream cut mid-body can also surface as the HTTP library's own error (the anthropic SDK lets
httpx2's RemoteProtocolError through), so those are mapped too. The adapters raise ours `from None`:
the SDK's exception carries the provider's own message, which may echo the key, and a logged
traceback would print it.
"""

from __future__ import annotations

import anthropic
import httpx2
import openai

from voice.agents.llm.types import LLMError, LLMRefused, LLMTimeout, LLMUnavailable

PROVIDER_ERRORS: tuple[type[Exception], ...] = (openai.OpenAIError, anthropic.AnthropicError, httpx2.HTTPError)
MESSAGE_LIMIT = 300


def scrub(text: str, secret: str) -> str:
    if secret and len(secret) >= 4:
        text = text.replace(secret, "[redacted]")
    return text[:MESSAGE_LIMIT]


def llm_error(exc: Exception, *, provider: str, secret: str) -> LLMError:
    if isinstance(exc, openai.APITimeoutError | anthropic.APITimeoutError | httpx2.TimeoutException):
        return LLMTimeout(f"{provider}: no answer in time", provider=provider)
    if isinstance(exc, openai.APIStatusError | anthropic.APIStatusError):
        error = _status_error(exc.status_code, scrub(str(exc), secret), provider=provider)
        error.retry_after = _seconds(exc.response.headers.get("retry-after"))
        return error
    if isinstance(exc, openai.APIConnectionError | anthropic.APIConnectionError | httpx2.TransportError):
        return LLMUnavailable(f"{provider}: connection failed or broke mid-reply", provider=provider)
    return LLMUnavailable(f"{provider}: {scrub(str(exc), secret) or type(exc).__name__}", provider=provider)


def _status_error(status: int, detail: str, *, provider: str) -> LLMError:
    if status in (401, 403):
        return LLMRefused(f"{provider} refused the credentials (HTTP {status})", provider=provider, status=status)
    if status == 404:
        return LLMRefused(f"{provider}: model or deployment not found: {detail}", provider=provider, status=status)
    if status == 408:
        return LLMTimeout(f"{provider}: the provider timed out (HTTP 408)", provider=provider, status=status)
    if status in (409, 429) or status >= 500:
        return LLMUnavailable(f"{provider}: unavailable for now: {detail}", provider=provider, status=status)
    if 400 <= status < 500:
        return LLMRefused(f"{provider} rejected the request: {detail}", provider=provider, status=status)
    return LLMUnavailable(f"{provider}: unexpected answer: {detail}", provider=provider, status=status)


def _seconds(value: str | None) -> float | None:
    """Retry-After as seconds; the HTTP-date form is rare from model providers and read as absent."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None

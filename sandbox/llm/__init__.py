"""A fake LLM provider: OpenAI Chat Completions (also as OpenRouter and Azure OpenAI) and Anthropic Messages.

The real openai and anthropic SDKs talk to it as to the providers, streaming or not, with tool calls
and structured output. Each API key is a lane with its own script (replies, tool calls, JSON), failures
(5xx, 429, hangs, broken streams, malformed JSON) and timing (first-token and per-token delays); without
a script it echoes the last user message ("You said: ..."). ``python -m sandbox.llm`` or ``manage.py
run_fake_llm`` runs it; tests use :class:`FakeLLMServer` in a thread and :class:`LaneControl` to script
a lane over the control API (see control.py). Nothing here imports the platform.
"""

from .client import LaneControl
from .server import FakeLLMServer, build_app

__all__ = ["FakeLLMServer", "LaneControl", "build_app"]

"""What the fake LLM keeps per lane: scripted replies, pending failures, timing, and what it received.

A lane is the API key a client sends, so parallel tests and parallel conversations (each with its own
key) never share a script. Everything here is touched only from the server's event loop: no locks.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

FAILURE_KINDS = ("500", "503", "529", "429", "401", "hang", "timeout", "break", "malformed")
"""How a request can fail on purpose:

- ``500``/``503``: a server error; ``529``: Anthropic's "overloaded" (answered on every wire);
  ``429``: rate limited, with Retry-After; ``401``: the key refused once.
- ``hang``: no response at all (not even headers) until the client gives up.
- ``timeout``: headers (and for a stream, the opening event) arrive, then nothing more.
- ``break``: half the reply is streamed, then the connection is cut mid-body.
- ``malformed``: the reply's text is cut in half, so structured output is not valid JSON.
"""

RECEIVED_LIMIT = 1000  # per lane: a long benchmark must not grow without bound


class ScriptError(ValueError):
    """A script, failure or setting the control API cannot accept; the message says which field."""


@dataclass(frozen=True, slots=True)
class ScriptedToolCall:
    name: str
    arguments: dict[str, Any]
    id: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    """One answer. ``json`` (any JSON value) is the content of a structured answer; else ``text``."""

    text: str = ""
    tool_calls: tuple[ScriptedToolCall, ...] = ()
    json: Any = None
    has_json: bool = False
    first_token_delay: float | None = None
    token_delay: float | None = None

    @classmethod
    def parse(cls, raw: Any, *, where: str) -> Reply:
        if isinstance(raw, str):
            return cls(text=raw)
        if not isinstance(raw, dict):
            raise ScriptError(f"{where}: a reply is a string or an object")
        unknown = set(raw) - {"text", "tool_calls", "json", "first_token_delay", "token_delay"}
        if unknown:
            raise ScriptError(f"{where}: unknown fields {sorted(unknown)}")
        text = raw.get("text", "")
        if not isinstance(text, str):
            raise ScriptError(f"{where}.text: must be a string")
        calls = []
        for index, call in enumerate(raw.get("tool_calls") or []):
            spot = f"{where}.tool_calls[{index}]"
            if not isinstance(call, dict) or not isinstance(call.get("name"), str) or not call["name"]:
                raise ScriptError(f"{spot}: needs a name")
            arguments = call.get("arguments", {})
            if not isinstance(arguments, dict):
                raise ScriptError(f"{spot}.arguments: must be an object")
            calls.append(ScriptedToolCall(name=call["name"], arguments=arguments, id=str(call.get("id", ""))))
        return cls(
            text=text,
            tool_calls=tuple(calls),
            json=raw.get("json"),
            has_json="json" in raw,
            first_token_delay=_seconds(raw.get("first_token_delay"), f"{where}.first_token_delay"),
            token_delay=_seconds(raw.get("token_delay"), f"{where}.token_delay"),
        )


def _seconds(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value > 600:
        raise ScriptError(f"{where}: seconds between 0 and 600")
    return float(value)


def parse_tokens_per_chunk(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10_000:
        raise ScriptError("tokens_per_chunk: a whole number from 1 to 10000")
    return value


def parse_failure(kind: Any) -> str:
    kind = str(kind)
    if kind not in FAILURE_KINDS:
        raise ScriptError(f"kind: one of {', '.join(FAILURE_KINDS)}")
    return kind


@dataclass(slots=True)
class Lane:
    name: str
    replies: deque[Reply] = field(default_factory=deque)
    failures: deque[str] = field(default_factory=deque)
    first_token_delay: float = 0.0
    token_delay: float = 0.0
    hang_seconds: float = 300.0
    # Tokens per streamed text event. Real models send about one; more makes each reply fewer events for the
    # client's SDK to parse (a benchmark of the platform's own overhead, not the SDK's, may want that).
    tokens_per_chunk: int = 1
    refuse: bool = False
    received: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=RECEIVED_LIMIT))
    served: int = 0

    def next_failure(self) -> str | None:
        return self.failures.popleft() if self.failures else None

    def next_reply(self) -> Reply | None:
        return self.replies.popleft() if self.replies else None

    def configure(self, settings: dict[str, Any]) -> None:
        unknown = set(settings) - {"first_token_delay", "token_delay", "hang_seconds", "refuse", "tokens_per_chunk"}
        if unknown:
            raise ScriptError(f"unknown settings {sorted(unknown)}")
        if "tokens_per_chunk" in settings:
            self.tokens_per_chunk = parse_tokens_per_chunk(settings["tokens_per_chunk"])
        for name in ("first_token_delay", "token_delay", "hang_seconds"):
            if name in settings:
                value = _seconds(settings[name], name)
                setattr(self, name, value if value is not None else 0.0)
        if "refuse" in settings:
            if not isinstance(settings["refuse"], bool):
                raise ScriptError("refuse: true or false")
            self.refuse = settings["refuse"]

    def describe(self) -> dict[str, Any]:
        return {
            "lane": self.name,
            "replies_left": len(self.replies),
            "failures_left": list(self.failures),
            "first_token_delay": self.first_token_delay,
            "token_delay": self.token_delay,
            "hang_seconds": self.hang_seconds,
            "tokens_per_chunk": self.tokens_per_chunk,
            "refuse": self.refuse,
            "received": len(self.received),
            "served": self.served,
        }


class Lanes:
    def __init__(self, *, first_token_delay: float = 0.0, token_delay: float = 0.0, tokens_per_chunk: int = 1) -> None:
        self.first_token_delay = first_token_delay
        self.token_delay = token_delay
        self.tokens_per_chunk = parse_tokens_per_chunk(tokens_per_chunk)
        self._lanes: dict[str, Lane] = {}
        self.started_at = time.time()

    def get(self, name: str) -> Lane:
        lane = self._lanes.get(name)
        if lane is None:
            lane = self._lanes[name] = Lane(
                name=name,
                first_token_delay=self.first_token_delay,
                token_delay=self.token_delay,
                tokens_per_chunk=self.tokens_per_chunk,
            )
        return lane

    def reset(self, name: str) -> None:
        self._lanes.pop(name, None)

    def reset_all(self) -> None:
        self._lanes.clear()

    def __len__(self) -> int:
        return len(self._lanes)

"""What the fake says: the scripted reply or an echo, cut into tokens, plus a made-up answer for a schema.

Wire-neutral: the OpenAI and Anthropic modules turn an :class:`Answer` into their own chunks.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from .state import Reply

_TOKEN = re.compile(r"\s*\S+")


@dataclass(frozen=True, slots=True)
class AnswerToolCall:
    id: str
    name: str
    arguments_json: str


@dataclass(frozen=True, slots=True)
class Answer:
    tokens: tuple[str, ...]  # what each streamed text event carries: one token, or tokens_per_chunk of them
    tool_calls: tuple[AnswerToolCall, ...]
    truncated: bool  # max_tokens cut it short
    input_tokens: int
    text_tokens: int

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    @property
    def output_tokens(self) -> int:
        return self.text_tokens + sum(len(split_arguments(call.arguments_json)) for call in self.tool_calls)


def tokens_of(text: str) -> list[str]:
    """Words with the spaces before them ("Hello", " world"), as a model streams them."""
    tokens = _TOKEN.findall(text)
    if tokens and text[len("".join(tokens)) :]:
        tokens[-1] += text[len("".join(tokens)) :]
    return tokens or ([text] if text else [])


def split_arguments(arguments_json: str) -> list[str]:
    """A tool call's JSON arguments in a few pieces, so clients must assemble them as from a real model."""
    if len(arguments_json) <= 4:
        return [arguments_json]
    third = max(1, len(arguments_json) // 3)
    return [arguments_json[:third], arguments_json[third : 2 * third], arguments_json[2 * third :]]


def count_words(value: Any) -> int:
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(count_words(item) for item in value)
    if isinstance(value, dict):
        return sum(count_words(item) for key, item in value.items() if key in ("content", "text", "input"))
    return 0


def build_answer(
    *,
    reply: Reply | None,
    last_user_text: str,
    schema: dict[str, Any] | None,
    max_tokens: int | None,
    input_tokens: int,
    tool_id_prefix: str,
    malformed: bool = False,
    tokens_per_chunk: int = 1,
) -> Answer:
    if reply is None:
        if schema is not None:
            text = json.dumps(instance_of(schema))
        else:
            text = f"You said: {last_user_text}" if last_user_text else "You said nothing."
        calls: tuple[AnswerToolCall, ...] = ()
    else:
        text = json.dumps(reply.json) if reply.has_json else reply.text
        calls = tuple(
            AnswerToolCall(
                id=call.id or f"{tool_id_prefix}{secrets.token_hex(12)}",
                name=call.name,
                arguments_json=json.dumps(call.arguments),
            )
            for call in reply.tool_calls
        )
    if malformed:
        # Cut in half: whatever the text was (JSON included), it no longer parses.
        text = text[: max(1, len(text) // 2)] if len(text) > 1 else "{"
    tokens = tokens_of(text)
    truncated = max_tokens is not None and len(tokens) > max_tokens
    if truncated:
        tokens = tokens[:max_tokens]
        calls = ()
    chunks = ["".join(tokens[start : start + tokens_per_chunk]) for start in range(0, len(tokens), tokens_per_chunk)]
    return Answer(
        tokens=tuple(chunks),
        tool_calls=calls,
        truncated=truncated,
        input_tokens=input_tokens,
        text_tokens=len(tokens),
    )


def instance_of(schema: dict[str, Any]) -> Any:
    """A small value that satisfies the common parts of a JSON schema (what an analysis schema uses)."""
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if schema.get(combinator):
            return instance_of(schema[combinator][0])
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((item for item in kind if item != "null"), "null")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: instance_of(properties[name]) for name in properties}
    if kind == "array":
        item = instance_of(schema.get("items", {"type": "string"}))
        return [item] * int(schema.get("minItems", 0))
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return "x" * int(schema.get("minLength", 0)) or "fake"

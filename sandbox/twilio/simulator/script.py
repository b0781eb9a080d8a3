"""What the simulated caller does: the JSON body of POST /sandbox/inbound-calls, validated.

Lists are used up in order, one entry per verb that needs one; a single value applies to every
such verb. Invalid input raises ValueError (the control API answers 400).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .. import numbers
from .wav import MAX_SECONDS

DIAL_OUTCOMES = ("answer", "no-answer", "busy", "failed")
RECORD_ENDS = ("key", "hangup", "timeout")
DIAL_HANGUPS = ("caller", "callee")
MAX_DOCUMENTS = 50
MAX_CALL_SECONDS = 14_400  # Twilio's own limit: a call lasts at most four hours
_DIGITS = re.compile(r"^[0-9*#]*$")
_FIELDS = {
    "from",
    "to",
    "digits",
    "speech",
    "dial",
    "dial_seconds",
    "dial_hangup",
    "record_seconds",
    "record_end",
    "transcription",
    "connect_seconds",
    "max_documents",
    "max_seconds",
    "wait",
    "conversation",
}
CONVERSATION_ACTIONS = ("say", "dtmf", "silence", "hangup")


class Refused(Exception):
    """A simulation the control API cannot start: 404 (nobody owns the number), 409 (it has no webhook URL)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Queue:
    """Scripted answers used up in order; once the list is used up, every further verb gets `default`."""

    items: deque[Any]
    default: Any

    def next(self) -> Any:
        return self.items.popleft() if self.items else self.default


@dataclass
class CallScript:
    from_: str
    to: str
    digits: deque[str] = field(default_factory=deque)
    speech: deque[str] = field(default_factory=deque)
    dial: Queue = field(default_factory=lambda: Queue(deque(), "answer"))
    dial_seconds: int = 5
    dial_hangup: str | None = None
    record_seconds: Queue = field(default_factory=lambda: Queue(deque(), 3))
    record_end: str = "key"
    transcription: str | None = None
    connect_seconds: int = 1
    max_documents: int = MAX_DOCUMENTS
    max_seconds: int = MAX_CALL_SECONDS
    wait: bool = True
    conversation: list[dict[str, Any]] = field(default_factory=list)  # the caller's side of a ConversationRelay

    @classmethod
    def from_json(cls, data: Any) -> CallScript:
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        unknown = sorted(set(data) - _FIELDS)
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(unknown)}")
        script = cls(from_=caller(data.get("from")), to=called(data.get("to")))
        for entry in _strings(data, "digits"):
            if not _DIGITS.match(entry):
                raise ValueError(f"digits entry {entry!r} is not made of 0-9, * and #")
            script.digits.append(entry)
        script.speech.extend(_strings(data, "speech"))
        script.dial = _queue(data, "dial", "answer", lambda v: isinstance(v, str) and v in DIAL_OUTCOMES)
        script.record_seconds = _queue(data, "record_seconds", 3, lambda v: _seconds(v, MAX_SECONDS))
        script.dial_seconds = _number(data, "dial_seconds", 5, MAX_CALL_SECONDS)
        script.connect_seconds = _number(data, "connect_seconds", 1, MAX_CALL_SECONDS)
        script.max_documents = _number(data, "max_documents", MAX_DOCUMENTS, 1000, minimum=1)
        script.max_seconds = _number(data, "max_seconds", MAX_CALL_SECONDS, MAX_CALL_SECONDS, minimum=1)
        script.record_end = _choice(data, "record_end", RECORD_ENDS, "key")
        hangup = data.get("dial_hangup")
        script.dial_hangup = None if hangup is None else _choice(data, "dial_hangup", DIAL_HANGUPS, "caller")
        transcription = data.get("transcription")
        if transcription is not None and not isinstance(transcription, str):
            raise ValueError("transcription must be a string")
        script.transcription = transcription
        wait = data.get("wait", True)
        if not isinstance(wait, bool):
            raise ValueError("wait must be true or false")
        script.wait = wait
        script.conversation = _conversation(data.get("conversation", []))
        return script


def caller(value: Any) -> str:
    """A caller: a phone number (E.164 or NANP spelling), a client:/sip: address, or anonymous."""
    if not isinstance(value, str) or not value:
        raise ValueError('"from" is required: the caller\'s number')
    if value.startswith(("client:", "sip:")) and len(value) > 5 or value == "anonymous":
        return value
    phone = numbers.normalize(value)
    if phone is None:
        raise ValueError(f'"from" {value!r} is not a phone number')
    return phone


def called(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError('"to" is required: a number an account owns in the sandbox')
    phone = numbers.normalize(value)
    if phone is None:
        raise ValueError(f'"to" {value!r} is not a phone number')
    return phone


def _conversation(value: Any) -> list[dict[str, Any]]:
    """The caller's actions in a ConversationRelay session (see relay.py), each with exactly one of CONVERSATION_ACTIONS."""
    if not isinstance(value, list) or not all(isinstance(action, dict) for action in value):
        raise ValueError("conversation must be a list of objects")
    for index, action in enumerate(value):
        kinds = [kind for kind in CONVERSATION_ACTIONS if kind in action]
        if len(kinds) != 1:
            raise ValueError(f"conversation[{index}] needs exactly one of {', '.join(CONVERSATION_ACTIONS)}")
        if "say" in action and not isinstance(action["say"], str):
            raise ValueError(f"conversation[{index}].say must be a string")
        if "dtmf" in action and not (
            isinstance(action["dtmf"], str) and len(action["dtmf"]) == 1 and _DIGITS.match(action["dtmf"])
        ):
            raise ValueError(f"conversation[{index}].dtmf must be one key: 0-9, * or #")
        if "silence" in action and not _seconds(action["silence"], 600):
            raise ValueError(f"conversation[{index}].silence must be whole seconds from 0 to 600")
        partials = action.get("partials", [])
        if not isinstance(partials, list) or not all(isinstance(p, str) for p in partials):
            raise ValueError(f"conversation[{index}].partials must be a list of strings")
        after = action.get("interrupt_after")
        if after is not None and not (isinstance(after, int) and not isinstance(after, bool) and after >= 1):
            raise ValueError(f"conversation[{index}].interrupt_after must be a positive number of tokens")
    return [dict(action) for action in value]


def _strings(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name} must be a list of strings")
    return value


def _queue(data: dict[str, Any], name: str, default: Any, valid: Any) -> Queue:
    value = data.get(name)
    if value is None:
        return Queue(deque(), default)
    if isinstance(value, list):
        if not all(valid(v) for v in value):
            raise ValueError(f"{name} has an invalid entry: {value!r}")
        return Queue(deque(value), default)
    if not valid(value):
        raise ValueError(f"{name} {value!r} is not valid")
    return Queue(deque(), value)


def _seconds(value: Any, maximum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= maximum


def _number(data: dict[str, Any], name: str, default: int, maximum: int, *, minimum: int = 0) -> int:
    value = data.get(name, default)
    if not _seconds(value, maximum) or value < minimum:
        raise ValueError(f"{name} must be an integer from {minimum} to {maximum}")
    return int(value)


def _choice(data: dict[str, Any], name: str, choices: tuple[str, ...], default: str) -> str:
    value = data.get(name, default)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}")
    return str(value)

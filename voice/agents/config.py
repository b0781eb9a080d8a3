"""The configuration a call runs with: one immutable value, built from an AgentVersion snapshot.

Everything on the call path (relay TwiML, the live engine, analysis, the end-of-call webhook) reads this
value instead of the Agent row, so a call keeps the version it started with while the agent is edited.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from django.conf import settings


@dataclass(frozen=True, slots=True)
class AgentConfig:
    agent_id: int | None  # None: the platform default (settings.AGENT_DEFAULTS)
    version: int  # the AgentVersion.number the call runs
    name: str
    system_prompt: str
    greeting: str
    greeting_interruptible: bool
    language: str  # primary, e.g. "en-US"
    languages: tuple[str, ...]
    llm_provider: str  # "fake" | "fake-anthropic" | "openai" | "anthropic" | "openrouter" | "azure"
    llm_model: str
    llm_fallback_model: str  # "" = none
    temperature: float  # 0-2
    max_tokens: int  # 1-4000
    tts_provider: str  # "ElevenLabs" | "Google" | "Amazon"
    voice: str
    tts_language: str
    transcription_provider: str  # "Deepgram" | "Google"
    speech_model: str
    hints: tuple[str, ...]
    interruptible: str  # "none" | "dtmf" | "speech" | "any"
    interrupt_sensitivity: str  # "low" | "medium" | "high"
    dtmf_detection: bool
    recording: bool
    max_duration_seconds: int  # 60 - 7200
    silence_timeout_seconds: int
    transfer_numbers: tuple[str, ...]  # E.164
    transfer_rules: str
    end_of_call_webhook_url: str
    analysis_categories: tuple[str, ...]
    analysis_custom_fields: tuple[dict[str, str], ...]  # {"name", "description", "type": "string|number|boolean"}

    def as_snapshot(self) -> dict[str, Any]:
        """The JSON form stored in AgentVersion.config (tuples become lists)."""
        snapshot = asdict(self)
        for name, value in snapshot.items():
            if isinstance(value, tuple):
                snapshot[name] = [dict(item) if isinstance(item, dict) else item for item in value]
        return snapshot

    @classmethod
    def from_snapshot(cls, snapshot: dict[str, Any]) -> AgentConfig:
        """Rebuild from AgentVersion.config; keys unknown to this version of the code are ignored and
        missing ones take the platform default, so old snapshots stay readable after fields are added."""
        values = platform_default_values()
        values.update({name: snapshot[name] for name in CONFIG_FIELDS if name in snapshot})
        for name in TUPLE_FIELDS:
            values[name] = tuple(dict(item) if isinstance(item, dict) else item for item in (values.get(name) or ()))
        return cls(**values)


CONFIG_FIELDS: tuple[str, ...] = tuple(field.name for field in fields(AgentConfig))
TUPLE_FIELDS: tuple[str, ...] = (
    "languages",
    "hints",
    "transfer_numbers",
    "analysis_categories",
    "analysis_custom_fields",
)

# What a call runs with when neither its number nor its tenant names an agent; settings.AGENT_DEFAULTS
# overrides any of these (the deployment chooses the provider, e.g. "fake" in development).
BUILTIN_DEFAULTS: dict[str, Any] = {
    "agent_id": None,
    "version": 0,
    "name": "Default assistant",
    "system_prompt": (
        "You are a friendly, concise phone assistant. Answer in one or two short sentences. "
        "If the caller asks for a person, offer to transfer them."
    ),
    "greeting": "Hello! How can I help you today?",
    "greeting_interruptible": True,
    "language": "en-US",
    "languages": ("en-US",),
    "llm_provider": "fake",
    "llm_model": "fake-model",
    "llm_fallback_model": "",
    "temperature": 0.7,
    "max_tokens": 400,
    "tts_provider": "Google",
    "voice": "en-US-Journey-O",
    "tts_language": "en-US",
    "transcription_provider": "Deepgram",
    "speech_model": "nova-3-general",
    "hints": (),
    "interruptible": "any",
    "interrupt_sensitivity": "medium",
    "dtmf_detection": True,
    "recording": False,
    "max_duration_seconds": 1800,
    "silence_timeout_seconds": 30,
    "transfer_numbers": (),
    "transfer_rules": "",
    "end_of_call_webhook_url": "",
    "analysis_categories": (),
    "analysis_custom_fields": (),
}


def platform_default_values() -> dict[str, Any]:
    """The platform default as plain values: the built-in ones overridden by settings.AGENT_DEFAULTS."""
    values = dict(BUILTIN_DEFAULTS)
    values.update(
        {name: value for name, value in getattr(settings, "AGENT_DEFAULTS", {}).items() if name in CONFIG_FIELDS}
    )
    values["agent_id"] = None
    values["version"] = 0
    return values


def platform_default_config() -> AgentConfig:
    """The AgentConfig used when no agent applies (agent_id None, version 0)."""
    values = platform_default_values()
    for name in TUPLE_FIELDS:
        values[name] = tuple(dict(item) if isinstance(item, dict) else item for item in values[name])
    return AgentConfig(**values)

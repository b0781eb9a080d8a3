"""AI agents (tenant schema): what an agent says and how, each saved change as a version, and the tenant's LLM keys."""

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from telephony.phone_numbers import normalize_e164
from tenants.secrets import EncryptedTextField
from voice.agents.config import AgentConfig, platform_default_values

LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}-[A-Z]{2}$")
TEMPERATURE_RANGE = (0.0, 2.0)
MAX_TOKENS_RANGE = (1, 4000)
MAX_DURATION_RANGE = (60, 7200)
SILENCE_TIMEOUT_RANGE = (5, 600)
MAX_TRANSFER_NUMBERS = 5
MAX_HINTS = 100
MAX_CATEGORIES = 30
MAX_CUSTOM_FIELDS = 20
CUSTOM_FIELD_TYPES = ("string", "number", "boolean")
CUSTOM_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class LLMProvider(models.TextChoices):
    FAKE = "fake", "Fake LLM (development, OpenAI wire format)"
    FAKE_ANTHROPIC = "fake-anthropic", "Fake LLM (development, Anthropic wire format)"
    OPENAI = "openai", "OpenAI"
    ANTHROPIC = "anthropic", "Anthropic"
    OPENROUTER = "openrouter", "OpenRouter"
    AZURE = "azure", "Azure OpenAI"


# The project's fake LLM answers without a key; every other provider needs the tenant's credential.
KEYLESS_PROVIDERS = (LLMProvider.FAKE, LLMProvider.FAKE_ANTHROPIC)
FAKE_DISABLED = "The fake LLM is for development and tests only; choose a real provider (and add its key)."


def default_llm_provider() -> str:
    """A new agent starts on the platform default's provider (settings.AGENT_DEFAULTS): fake only where allowed."""
    return str(platform_default_values()["llm_provider"])


def default_llm_model() -> str:
    return str(platform_default_values()["llm_model"])


# Suggested models per provider (the portal's choices); what is accepted is wider, see _llm_model_problem.
LLM_MODEL_SUGGESTIONS: dict[str, tuple[str, ...]] = {
    LLMProvider.FAKE: ("fake-model", "fake-model-fallback"),
    LLMProvider.FAKE_ANTHROPIC: ("fake-claude", "fake-claude-fallback"),
    LLMProvider.OPENAI: ("gpt-4.1-mini", "gpt-4.1", "gpt-4.1-nano", "gpt-4o", "gpt-4o-mini"),
    LLMProvider.ANTHROPIC: ("claude-haiku-4-5", "claude-sonnet-4-5", "claude-opus-4-1"),
    LLMProvider.OPENROUTER: ("openai/gpt-4.1-mini", "anthropic/claude-haiku-4.5", "meta-llama/llama-3.3-70b-instruct"),
    LLMProvider.AZURE: (),  # the tenant's own deployment name
}
_OPENAI_MODEL = re.compile(r"^(gpt-|o\d|chatgpt-)[A-Za-z0-9.\-]*$")
_ANTHROPIC_MODEL = re.compile(r"^claude-[a-z0-9.\-]+$")
_OPENROUTER_MODEL = re.compile(r"^[a-z0-9][a-z0-9\-_.]*/[A-Za-z0-9][A-Za-z0-9\-_.:]*$")
_ANY_MODEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_.:/]{0,99}$")


class TTSProvider(models.TextChoices):
    ELEVENLABS = "ElevenLabs", "ElevenLabs"
    GOOGLE = "Google", "Google"
    AMAZON = "Amazon", "Amazon Polly"


# Voice names as ConversationRelay takes them: an ElevenLabs voice id (optionally -speed_stability_similarity),
# a Google voice like en-US-Journey-O, an Amazon Polly voice like Joanna-Neural.
_VOICE_PATTERNS: dict[str, re.Pattern[str]] = {
    TTSProvider.ELEVENLABS: re.compile(r"^[A-Za-z0-9]{20}(-\d(\.\d+)?_\d(\.\d+)?_\d(\.\d+)?)?$"),
    TTSProvider.GOOGLE: re.compile(r"^[a-z]{2,3}-[A-Z]{2}-[A-Za-z0-9]+(-[A-Za-z0-9]+)*$"),
    TTSProvider.AMAZON: re.compile(r"^[A-Z][a-z]+(-(Neural|Generative|Standard|LongForm))?$"),
}
VOICE_EXAMPLES: dict[str, str] = {
    TTSProvider.ELEVENLABS: "UgBBYS2sOqTuMpoF3BR0 (a voice id)",
    TTSProvider.GOOGLE: "en-US-Journey-O",
    TTSProvider.AMAZON: "Joanna-Neural",
}


class TranscriptionProvider(models.TextChoices):
    DEEPGRAM = "Deepgram", "Deepgram"
    GOOGLE = "Google", "Google"


SPEECH_MODELS: dict[str, tuple[str, ...]] = {
    TranscriptionProvider.DEEPGRAM: (
        "nova-3-general",
        "nova-2-general",
        "nova-2-phonecall",
        "nova-2-conversationalai",
        "nova-3-medical",
        "nova-2-medical",
    ),
    TranscriptionProvider.GOOGLE: ("telephony", "telephony_short", "long", "short", "chirp_2", "chirp_3"),
}


class Agent(models.Model):
    """An AI voice agent: what it says and how it hears and speaks. Each saved change is a new AgentVersion
    (voice.agents.services); calls run a version, never the row as it is being edited."""

    class Kind(models.TextChoices):
        INBOUND = "inbound", "Inbound calls"
        OUTBOUND = "outbound", "Outbound calls"
        BOTH = "both", "Inbound and outbound"

    class Interruptible(models.TextChoices):
        NONE = "none", "Never"
        DTMF = "dtmf", "By a key press"
        SPEECH = "speech", "By speaking"
        ANY = "any", "By speaking or a key press"

    class Sensitivity(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=2000)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.INBOUND)
    is_default = models.BooleanField(
        default=False, help_text="Answers the tenant's numbers that name no agent of their own."
    )

    system_prompt = models.TextField(max_length=20000, help_text="Who the agent is and what it does.")
    greeting = models.TextField(blank=True, max_length=1000, help_text="What the caller hears first.")
    greeting_interruptible = models.BooleanField(default=True)
    language = models.CharField(max_length=16, default="en-US", help_text="The primary language, like en-US.")
    languages = models.JSONField(
        default=list, blank=True, help_text='Other languages the agent may switch to: ["es-ES", ...].'
    )

    llm_provider = models.CharField(max_length=16, choices=LLMProvider.choices, default=default_llm_provider)
    llm_model = models.CharField(max_length=100, default=default_llm_model)
    llm_fallback_model = models.CharField(
        max_length=100, blank=True, help_text="Same provider; used when the model fails. Empty: none."
    )
    temperature = models.FloatField(default=0.7)
    max_tokens = models.PositiveIntegerField(default=400)

    tts_provider = models.CharField(max_length=16, choices=TTSProvider.choices, default=TTSProvider.GOOGLE)
    voice = models.CharField(max_length=100, default="en-US-Journey-O")
    tts_language = models.CharField(max_length=16, blank=True, help_text="Empty: the primary language.")

    transcription_provider = models.CharField(
        max_length=16, choices=TranscriptionProvider.choices, default=TranscriptionProvider.DEEPGRAM
    )
    speech_model = models.CharField(max_length=64, default="nova-3-general")
    hints = models.JSONField(default=list, blank=True, help_text='Words to listen for: ["Switchboard", ...].')

    interruptible = models.CharField(max_length=8, choices=Interruptible.choices, default=Interruptible.ANY)
    interrupt_sensitivity = models.CharField(max_length=8, choices=Sensitivity.choices, default=Sensitivity.MEDIUM)
    dtmf_detection = models.BooleanField(default=True)
    recording = models.BooleanField(default=False)
    max_duration_seconds = models.PositiveIntegerField(default=1800, help_text="60 seconds to 2 hours.")
    silence_timeout_seconds = models.PositiveIntegerField(default=30, help_text="5 to 600 seconds.")

    transfer_numbers = models.JSONField(
        default=list, blank=True, help_text='Where a transfer to a human rings, E.164: ["+15551234567"].'
    )
    transfer_rules = models.TextField(
        blank=True, max_length=4000, help_text="When the agent should offer a transfer (added to its prompt)."
    )
    end_of_call_webhook_url = models.URLField(blank=True, max_length=500)
    analysis_categories = models.JSONField(
        default=list, blank=True, help_text='What a call may be filed under: ["sales", "support", ...].'
    )
    analysis_custom_fields = models.JSONField(
        default=list,
        blank=True,
        help_text='Extracted after each call: [{"name": "order_id", "description": "...", "type": "string"}].',
    )

    version = models.PositiveIntegerField(default=0, help_text="The number of its current AgentVersion.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_agent"),
            models.CheckConstraint(condition=Q(temperature__gte=0) & Q(temperature__lte=2), name="agent_temperature"),
            models.CheckConstraint(condition=Q(max_tokens__gte=1) & Q(max_tokens__lte=4000), name="agent_max_tokens"),
            models.CheckConstraint(
                condition=Q(max_duration_seconds__gte=60) & Q(max_duration_seconds__lte=7200),
                name="agent_max_duration",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def config(self) -> AgentConfig:
        """The configuration this row describes, as its current version."""
        return AgentConfig(
            agent_id=self.pk,
            version=self.version,
            name=self.name,
            system_prompt=self.system_prompt,
            greeting=self.greeting,
            greeting_interruptible=self.greeting_interruptible,
            language=self.language,
            languages=tuple(dict.fromkeys([self.language, *self.languages])),
            llm_provider=self.llm_provider,
            llm_model=self.llm_model,
            llm_fallback_model=self.llm_fallback_model,
            temperature=float(self.temperature),
            max_tokens=int(self.max_tokens),
            tts_provider=self.tts_provider,
            voice=self.voice,
            tts_language=self.tts_language or self.language,
            transcription_provider=self.transcription_provider,
            speech_model=self.speech_model,
            hints=tuple(self.hints),
            interruptible=self.interruptible,
            interrupt_sensitivity=self.interrupt_sensitivity,
            dtmf_detection=self.dtmf_detection,
            recording=self.recording,
            max_duration_seconds=int(self.max_duration_seconds),
            silence_timeout_seconds=int(self.silence_timeout_seconds),
            transfer_numbers=tuple(self.transfer_numbers),
            transfer_rules=self.transfer_rules,
            end_of_call_webhook_url=self.end_of_call_webhook_url,
            analysis_categories=tuple(self.analysis_categories),
            analysis_custom_fields=tuple(dict(item) for item in self.analysis_custom_fields),
        )

    def clean(self) -> None:
        """Every rule of an agent's configuration, as field errors; normalises transfer numbers to E.164."""
        errors: dict[str, list[str]] = {}

        def refuse(field: str, message: str) -> None:
            errors.setdefault(field, []).append(message)

        if not self.system_prompt.strip():
            refuse("system_prompt", "An agent needs a system prompt.")
        for field in ("language", "tts_language"):
            value = getattr(self, field)
            if (value or field == "language") and not LANGUAGE_PATTERN.match(value or ""):
                refuse(field, f"'{value}' is not a language tag like en-US.")
        for problem in _string_list_problems(self.languages, what="language", limit=10):
            refuse("languages", problem)
        if isinstance(self.languages, list):
            for language in self.languages:
                if isinstance(language, str) and not LANGUAGE_PATTERN.match(language):
                    refuse("languages", f"'{language}' is not a language tag like en-US.")

        self._clean_llm(refuse)
        self._clean_speech(refuse)
        if self.kind == self.Kind.OUTBOUND and self.pk is not None:
            answering = list(self.numbers.values_list("phone_number", flat=True)[:3])
            if answering or Agent.objects.filter(pk=self.pk, is_default=True).exists():
                where = ", ".join(answering) if answering else "numbers with no agent (it is the default)"
                refuse("kind", f"It answers calls to {where}: keep it inbound or both.")

        for field, (low, high), unit in (
            ("temperature", TEMPERATURE_RANGE, ""),
            ("max_tokens", MAX_TOKENS_RANGE, " tokens"),
            ("max_duration_seconds", MAX_DURATION_RANGE, " seconds"),
            ("silence_timeout_seconds", SILENCE_TIMEOUT_RANGE, " seconds"),
        ):
            value = getattr(self, field)
            if value is None or not low <= value <= high:
                refuse(field, f"Between {low:g} and {high:g}{unit}.")

        self._clean_transfer(refuse)
        for problem in _string_list_problems(self.hints, what="hint", limit=MAX_HINTS, max_length=100):
            refuse("hints", problem)
        for problem in _string_list_problems(
            self.analysis_categories, what="category", limit=MAX_CATEGORIES, max_length=64
        ):
            refuse("analysis_categories", problem)
        if isinstance(self.analysis_categories, list) and len(set(self.analysis_categories)) != len(
            self.analysis_categories
        ):
            refuse("analysis_categories", "Each category once.")
        for problem in _custom_field_problems(self.analysis_custom_fields):
            refuse("analysis_custom_fields", problem)
        if errors:
            raise ValidationError(errors)

    def _clean_llm(self, refuse: Any) -> None:
        if self.llm_provider not in LLMProvider.values:
            return  # the choice itself is refused by full_clean / the serializer
        if self.llm_provider in KEYLESS_PROVIDERS and not settings.LLM_FAKE_ENABLED:
            refuse("llm_provider", FAKE_DISABLED)
            return
        problem = _llm_model_problem(self.llm_provider, self.llm_model)
        if problem:
            refuse("llm_model", problem)
        if self.llm_fallback_model:
            problem = _llm_model_problem(self.llm_provider, self.llm_fallback_model)
            if problem:
                refuse("llm_fallback_model", problem)
            elif self.llm_fallback_model == self.llm_model:
                refuse("llm_fallback_model", "The fallback must be another model (or empty).")
        if self.llm_provider not in KEYLESS_PROVIDERS:
            credential = ProviderCredential.objects.filter(provider=self.llm_provider).first()
            label = LLMProvider(self.llm_provider).label
            if credential is None:
                refuse(
                    "llm_provider",
                    f"Add your {label} API key (provider keys) before choosing {label}.",
                )
            elif self.llm_provider == LLMProvider.AZURE and not credential.azure_ready():
                refuse("llm_provider", "Your Azure OpenAI key needs its endpoint, deployment and API version.")

    def _clean_speech(self, refuse: Any) -> None:
        pattern = _VOICE_PATTERNS.get(self.tts_provider)
        if pattern is not None and not pattern.match(self.voice or ""):
            refuse(
                "voice",
                f"'{self.voice}' is not a {self.tts_provider} voice (like {VOICE_EXAMPLES[self.tts_provider]}).",
            )
        models_of_provider = SPEECH_MODELS.get(self.transcription_provider)
        if models_of_provider is not None and self.speech_model not in models_of_provider:
            refuse(
                "speech_model",
                f"'{self.speech_model}' is not a {self.transcription_provider} speech model "
                f"({', '.join(models_of_provider)}).",
            )

    def _clean_transfer(self, refuse: Any) -> None:
        problems = _string_list_problems(self.transfer_numbers, what="number", limit=MAX_TRANSFER_NUMBERS)
        if problems:
            for problem in problems:
                refuse("transfer_numbers", problem)
            return
        normalized = []
        for number in self.transfer_numbers:
            try:
                normalized.append(normalize_e164(number))
            except ValidationError as error:
                refuse("transfer_numbers", error.messages[0])
        if len(normalized) == len(self.transfer_numbers):
            self.transfer_numbers = list(dict.fromkeys(normalized))
        if self.transfer_rules.strip() and not self.transfer_numbers:
            refuse("transfer_numbers", "Transfer rules need a number to transfer to.")


# What a tenant sets on an agent (the API, the portal and the admin alike); the snapshot is AgentConfig's.
AGENT_FIELDS = [
    "name",
    "description",
    "kind",
    "system_prompt",
    "greeting",
    "greeting_interruptible",
    "language",
    "languages",
    "llm_provider",
    "llm_model",
    "llm_fallback_model",
    "temperature",
    "max_tokens",
    "tts_provider",
    "voice",
    "tts_language",
    "transcription_provider",
    "speech_model",
    "hints",
    "interruptible",
    "interrupt_sensitivity",
    "dtmf_detection",
    "recording",
    "max_duration_seconds",
    "silence_timeout_seconds",
    "transfer_numbers",
    "transfer_rules",
    "end_of_call_webhook_url",
    "analysis_categories",
    "analysis_custom_fields",
]


def _llm_model_problem(provider: str, model: str) -> str:
    if not model:
        return "Name the model."
    if provider == LLMProvider.OPENAI and not _OPENAI_MODEL.match(model):
        return f"'{model}' is not an OpenAI chat model (like {LLM_MODEL_SUGGESTIONS[provider][0]})."
    if provider == LLMProvider.ANTHROPIC and not _ANTHROPIC_MODEL.match(model):
        return f"'{model}' is not an Anthropic model (like {LLM_MODEL_SUGGESTIONS[provider][0]})."
    if provider == LLMProvider.OPENROUTER and not _OPENROUTER_MODEL.match(model):
        return f"'{model}' is not an OpenRouter model id (vendor/model, like {LLM_MODEL_SUGGESTIONS[provider][0]})."
    if not _ANY_MODEL.match(model):
        return f"'{model}' is not a model name (letters, digits, - _ . : /)."
    return ""


def _string_list_problems(value: object, *, what: str, limit: int, max_length: int = 64) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return [f'Give a list of texts: ["..."] (each {what}).']
    problems = []
    if len(value) > limit:
        problems.append(f"At most {limit} of them.")
    for item in value:
        if not item.strip():
            problems.append(f"An empty {what}.")
        elif len(item) > max_length:
            problems.append(f"'{item[:20]}...' is longer than {max_length} characters.")
    return problems


def _custom_field_problems(value: object) -> list[str]:
    example = '[{"name": "order_id", "description": "The order number", "type": "string"}]'
    if not isinstance(value, list):
        return [f"Give a list of fields: {example}."]
    problems = []
    if len(value) > MAX_CUSTOM_FIELDS:
        problems.append(f"At most {MAX_CUSTOM_FIELDS} fields.")
    names: set[str] = set()
    for index, item in enumerate(value):
        if not isinstance(item, dict) or set(item) - {"name", "description", "type"} or "name" not in item:
            problems.append(f"Field {index + 1}: give name, description and type, like {example}.")
            continue
        name, kind = item.get("name"), item.get("type", "string")
        if not isinstance(name, str) or not CUSTOM_FIELD_NAME.match(name):
            problems.append(f"Field {index + 1}: {name!r} is not a name (lower case, digits, _; up to 40).")
        elif name in names:
            problems.append(f"Field {index + 1}: '{name}' twice.")
        else:
            names.add(name)
        if kind not in CUSTOM_FIELD_TYPES:
            problems.append(f"Field {index + 1}: type {kind!r} is not one of {', '.join(CUSTOM_FIELD_TYPES)}.")
        description = item.get("description", "")
        if not isinstance(description, str) or len(description) > 500:
            problems.append(f"Field {index + 1}: the description is a text of up to 500 characters.")
    return problems


class AgentVersion(models.Model):
    """One saved state of an agent: its whole configuration as the call path reads it (AgentConfig)."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    config = models.JSONField(help_text="AgentConfig.as_snapshot() at the time.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=200, blank=True, help_text="Who saved it (user, API key or staff).")

    class Meta:
        ordering = ["agent", "-number"]
        constraints = [models.UniqueConstraint(fields=["agent", "number"], name="one_agent_version_number")]

    def __str__(self) -> str:
        return f"{self.agent_id} v{self.number}"

    def agent_config(self) -> AgentConfig:
        return AgentConfig.from_snapshot(self.config)


class ProviderCredential(models.Model):
    """The tenant's own key for one LLM provider; the key is encrypted at rest and never shown again (last4)."""

    class Provider(models.TextChoices):
        OPENAI = "openai", "OpenAI"
        ANTHROPIC = "anthropic", "Anthropic"
        OPENROUTER = "openrouter", "OpenRouter"
        AZURE = "azure", "Azure OpenAI"

    provider = models.CharField(max_length=16, choices=Provider.choices, unique=True)
    api_key = EncryptedTextField()
    last4 = models.CharField(max_length=4, blank=True)
    base_url = models.URLField(blank=True, max_length=300, help_text="Optional: another endpoint for this API.")
    azure_endpoint = models.URLField(blank=True, max_length=300, help_text="Azure: https://<resource>.openai.azure.com")
    azure_deployment = models.CharField(max_length=100, blank=True)
    azure_api_version = models.CharField(max_length=32, blank=True, help_text="Azure: like 2024-10-21.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider"]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} key ...{self.last4}"

    def azure_ready(self) -> bool:
        return bool(self.azure_endpoint and self.azure_deployment and self.azure_api_version)

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        key = (self.api_key or "").strip()
        if len(key) < 8 or any(character.isspace() for character in key):
            errors["api_key"] = ["An API key is at least 8 characters, without spaces."]
        for field in ("base_url", "azure_endpoint"):
            if getattr(self, field) and not _safe_endpoint(getattr(self, field)):
                errors[field] = ["Use an https:// address: the key is sent with every request."]
        if self.provider == self.Provider.AZURE:
            for field in ("azure_endpoint", "azure_deployment", "azure_api_version"):
                if not getattr(self, field):
                    errors.setdefault(field, ["Azure OpenAI needs it."])
            if self.azure_api_version and not re.match(r"^\d{4}-\d{2}-\d{2}(-preview)?$", self.azure_api_version):
                errors["azure_api_version"] = ["Like 2024-10-21 (or 2025-01-01-preview)."]
        if errors:
            raise ValidationError(errors)
        self.api_key = key
        self.last4 = key[-4:]


def _safe_endpoint(url: str) -> bool:
    """https, or (where the fake LLM is allowed) the project's fake LLM server, which speaks every wire format."""
    fake = settings.LLM_FAKE_BASE_URL.rstrip("/") + "/"
    return url.startswith("https://") or (settings.LLM_FAKE_ENABLED and (url.rstrip("/") + "/").startswith(fake))

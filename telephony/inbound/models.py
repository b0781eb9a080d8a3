import secrets
import zoneinfo
from datetime import date, time

from django.core.exceptions import ValidationError
from django.db import models
from django_tenants.files.storage import TenantFileSystemStorage

from telephony.phone_numbers import normalize_e164

DIGITS = "0123456789*#"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_HELP_TEXT = "Reply STOP to stop getting messages from us, START to get them again."
DEFAULT_FALLBACK_MESSAGE = "Sorry, we cannot take your call right now. Please try again later."


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"'{value}' is not a time zone (use an IANA name such as Europe/Berlin).")


def new_signing_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class InboundSettings(models.Model):
    """The tenant's settings for everything that comes in (one row per tenant schema)."""

    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone], help_text="Business hours are read in it."
    )
    help_text = models.CharField(
        max_length=320, default=DEFAULT_HELP_TEXT, help_text="The answer to HELP or INFO by SMS."
    )
    recording_retention_days = models.PositiveIntegerField(
        default=90, help_text="Recordings older than this are deleted here and at Twilio. 0 keeps them."
    )
    forward_signing_secret = models.CharField(
        max_length=64, default=new_signing_secret, help_text="Signs the SMS forwarded to your URL."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "inbound settings"

    def __str__(self) -> str:
        return "Inbound settings"


class CallFlow(models.Model):
    """What a call to a number hears and where it goes. Flows lead to one another (a menu's options, a
    forward's fallback), so a tenant builds its own tree from these few kinds."""

    class Kind(models.TextChoices):
        MESSAGE = "message", "Play a message"
        FORWARD = "forward", "Forward to a number"
        VOICEMAIL = "voicemail", "Voicemail"
        BUSINESS_HOURS = "business_hours", "Business hours"
        MENU = "menu", "Menu (press a digit)"
        AGENT = "agent", "AI agent"

    class CallerId(models.TextChoices):
        CALLER = "caller", "The caller's number"
        NUMBER = "number", "The number called"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    text = models.TextField(
        blank=True,
        max_length=4000,
        help_text="What the caller hears (message, greeting, menu prompt): the template language, with "
        "{caller_number}, {called_number}, {time_of_day}, {time}, {date} and {weekday}.",
    )
    voice_message = models.ForeignKey(
        "voice.VoiceMessage", null=True, blank=True, on_delete=models.SET_NULL, help_text="Instead of the text."
    )
    forward_to = models.CharField(max_length=32, blank=True)
    caller_id = models.CharField(max_length=8, choices=CallerId.choices, default=CallerId.CALLER)
    ring_seconds = models.PositiveSmallIntegerField(default=20, help_text="How long a forward rings (5-60).")
    max_recording_seconds = models.PositiveSmallIntegerField(default=120, help_text="Voicemail length (5-600).")
    transcribe = models.BooleanField(default=False)
    hours = models.JSONField(
        default=dict, blank=True, help_text='Open hours per weekday: {"mon": [["09:00", "17:00"]], ...}.'
    )
    holidays = models.JSONField(default=list, blank=True, help_text='Closed all day: ["2026-12-25", ...].')
    options = models.JSONField(default=dict, blank=True, help_text='A menu\'s choices: {"1": <flow id>, ...}.')
    menu_seconds = models.PositiveSmallIntegerField(default=5, help_text="How long a menu waits for a digit.")
    open_flow = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="Business hours: open."
    )
    next_flow = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Where the call goes next: when closed (business hours), unanswered (forward), or without a "
        "choice (menu).",
    )
    agent = models.ForeignKey(
        "agents.Agent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="call_flows",
        limit_choices_to={"kind__in": ("inbound", "both")},
        help_text="AI agent: the agent that takes the call; empty: the number's agent, else the tenant's default "
        "agent, else the platform's.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}

        def refuse(field: str, message: str) -> None:
            errors.setdefault(field, []).append(message)

        speaks = bool(self.text.strip() or self.voice_message_id)
        if self.kind in (self.Kind.MESSAGE, self.Kind.MENU) and not speaks:
            refuse("text", f"A {self.get_kind_display().lower()} needs a text or a voice message.")
        if self.kind == self.Kind.FORWARD:
            if not self.forward_to:
                refuse("forward_to", "A forward needs the number to ring.")
            else:
                try:
                    self.forward_to = normalize_e164(self.forward_to)
                except ValidationError as error:
                    refuse("forward_to", error.messages[0])
        if self.agent is not None:
            if self.kind != self.Kind.AGENT:
                refuse("agent", "Only an AI agent flow takes an agent.")
            elif self.agent.kind not in ("inbound", "both"):
                refuse("agent", f"{self.agent.name} only places calls; make it inbound (or both) to answer them.")
        if self.kind == self.Kind.BUSINESS_HOURS and self.open_flow_id is None:
            refuse("open_flow", "Business hours need the flow for open hours.")
        for field, low, high in (("ring_seconds", 5, 60), ("max_recording_seconds", 5, 600), ("menu_seconds", 1, 30)):
            if not low <= getattr(self, field) <= high:
                refuse(field, f"Between {low} and {high} seconds.")
        for problem in _hours_problems(self.hours):
            refuse("hours", problem)
        for problem in _holiday_problems(self.holidays):
            refuse("holidays", problem)
        for problem in _option_problems(self.options):
            refuse("options", problem)
        if errors:
            raise ValidationError(errors)


# What a tenant sets on a call flow (the API and the portal alike).
CALL_FLOW_FIELDS = [
    "name",
    "kind",
    "text",
    "voice_message",
    "forward_to",
    "caller_id",
    "ring_seconds",
    "max_recording_seconds",
    "transcribe",
    "hours",
    "holidays",
    "options",
    "menu_seconds",
    "open_flow",
    "next_flow",
    "agent",
]


def _hours_problems(hours: object) -> list[str]:
    if not isinstance(hours, dict):
        return ['Give the hours as {"mon": [["09:00", "17:00"]], ...}.']
    problems = []
    for day, spans in hours.items():
        if day not in WEEKDAYS:
            problems.append(f"'{day}' is not a weekday ({', '.join(WEEKDAYS)}).")
            continue
        for span in spans if isinstance(spans, list) else [spans]:
            opens, closes = (
                (_clock(span[0]), _clock(span[1])) if isinstance(span, list) and len(span) == 2 else (None, None)
            )
            if opens is None or closes is None or opens >= closes:
                problems.append(f'{day}: {span!r} is not an opening span like ["09:00", "17:00"].')
    return problems


def _clock(value: object) -> time | None:
    try:
        return time.fromisoformat(value) if isinstance(value, str) and len(value) == 5 else None
    except ValueError:
        return None


def _holiday_problems(holidays: object) -> list[str]:
    if not isinstance(holidays, list):
        return ['Give the holidays as a list of dates: ["2026-12-25", ...].']
    problems = []
    for holiday in holidays:
        try:
            date.fromisoformat(holiday)
        except (TypeError, ValueError):
            problems.append(f"{holiday!r} is not a date (YYYY-MM-DD).")
    return problems


def _option_problems(options: object) -> list[str]:
    if not isinstance(options, dict):
        return ['Give the choices as {"1": <flow id>, ...}.']
    problems = []
    for digit, flow_id in options.items():
        if digit not in DIGITS or len(digit) != 1:
            problems.append(f"'{digit}' is not a key on a phone (0-9, * or #).")
        elif not isinstance(flow_id, int) or not CallFlow.objects.filter(pk=flow_id).exists():
            problems.append(f"{digit}: {flow_id!r} is not one of your call flows.")
    return problems


class NumberSettings(models.Model):
    """What one of the tenant's numbers does with calls and SMS."""

    phone_number = models.CharField(max_length=32, unique=True)
    call_flow = models.ForeignKey(CallFlow, null=True, blank=True, on_delete=models.SET_NULL)
    agent = models.ForeignKey(
        "agents.Agent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="numbers",
        limit_choices_to={"kind__in": ("inbound", "both")},
        help_text="The AI agent that answers this number; empty: the tenant's default agent.",
    )
    auto_reply = models.TextField(
        blank=True, max_length=1600, help_text="Sent once per sender per window; {sender_number}, {called_number}."
    )
    auto_reply_window_minutes = models.PositiveIntegerField(default=1440)
    forward_url = models.URLField(blank=True, help_text="Each SMS is POSTed here as JSON, signed.")
    forward_email = models.EmailField(blank=True)
    fallback_message = models.CharField(
        max_length=320,
        default=DEFAULT_FALLBACK_MESSAGE,
        help_text="What a caller hears when the platform cannot answer (its database or Redis is down).",
    )
    fallback_forward_to = models.CharField(
        max_length=32, blank=True, help_text="Then, the call is forwarded here (no database needed)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["phone_number"]
        verbose_name_plural = "number settings"

    def __str__(self) -> str:
        return self.phone_number


class AutoReplySent(models.Model):
    """When a number last auto-replied to a sender: the window counts from here."""

    phone_number = models.CharField(max_length=32)
    sender = models.CharField(max_length=32)
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["phone_number", "sender"], name="one_auto_reply_clock")]


def recording_path(recording: "Recording", filename: str) -> str:
    # TenantFileSystemStorage puts this under the tenant's own folder: one tenant never reads another's.
    return f"recordings/{recording.recording_sid}.wav"


class Recording(models.Model):
    class Status(models.TextChoices):
        RECORDED = "recorded", "Recorded at Twilio"
        STORED = "stored", "Stored here"
        FAILED = "failed", "Could not be fetched"
        DELETED = "deleted", "Deleted"

    class Source(models.TextChoices):
        CALL = "call", "The call"  # <Start><Recording>, <Dial record>, a call placed with record
        VOICEMAIL = "voicemail", "A voicemail"  # <Record>

    communication = models.ForeignKey(
        "telephony.Communication", on_delete=models.CASCADE, related_name="recordings", null=True, blank=True
    )
    call_sid = models.CharField(max_length=64, db_index=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.CALL)
    recording_sid = models.CharField(max_length=64, unique=True)
    media_url = models.URLField(max_length=500, help_text="At Twilio.")
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECORDED)
    status_detail = models.CharField(max_length=500, blank=True)
    file = models.FileField(upload_to=recording_path, storage=TenantFileSystemStorage(), max_length=300, blank=True)
    transcription = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    stored_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.recording_sid

from django.db import models
from django.utils import timezone

from telephony.statuses import ACTIVE_CALL, NOT_YET_SENT, Status
from voice.models import new_public_token


class Communication(models.Model):
    """One call or SMS: what was asked for, how delivery went, and the log line it becomes."""

    class Channel(models.TextChoices):
        CALL = "call", "Call"
        SMS = "sms", "SMS"

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", "Outbound"
        INBOUND = "inbound", "Inbound"

    class Encoding(models.TextChoices):
        GSM7 = "GSM-7", "GSM-7"
        UCS2 = "UCS-2", "UCS-2"

    channel = models.CharField(max_length=8, choices=Channel.choices)
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.OUTBOUND)
    to_number = models.CharField(max_length=32)
    from_number = models.CharField(max_length=32, blank=True)
    content = models.TextField(blank=True, help_text="SMS body, or the text a call speaks.")
    media_urls = models.JSONField(default=list, blank=True)
    encoding = models.CharField(max_length=8, choices=Encoding.choices, blank=True)
    segments = models.PositiveSmallIntegerField(null=True, blank=True)
    voice_message = models.ForeignKey("voice.VoiceMessage", null=True, blank=True, on_delete=models.SET_NULL)
    variables = models.JSONField(default=dict, blank=True)
    twiml_document = models.ForeignKey("voice.TwimlDocument", null=True, blank=True, on_delete=models.SET_NULL)
    record = models.BooleanField(default=False)
    machine_detection = models.BooleanField(default=False)
    campaign = models.ForeignKey(
        "telephony.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="communications"
    )

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    send_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Set, and committed, before each hand-over to Twilio: if the worker dies mid-request, the next
    # attempt asks Twilio what it got since then before sending again.
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    twilio_sid = models.CharField(max_length=64, null=True, blank=True, unique=True)
    error_code = models.CharField(max_length=16, blank=True)
    error_message = models.TextField(blank=True)
    cost_amount = models.DecimalField(max_digits=12, decimal_places=5, null=True, blank=True)
    cost_currency = models.CharField(max_length=3, default="USD", help_text="Twilio's price unit.")
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    public_token = models.CharField(max_length=40, unique=True, default=new_public_token, editable=False)
    legacy_id = models.IntegerField(null=True, blank=True, unique=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["channel", "status"]),
            models.Index(fields=["status", "updated_at"]),  # delivery.claim_stalled
            models.Index(fields=["to_number"]),
            models.Index(fields=["from_number"]),
            models.Index(fields=["occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.direction} {self.to_number}"

    @property
    def is_call_with_twilio(self) -> bool:
        """A call Twilio is placing or connected: canceling it means hanging it up."""
        return self.channel == self.Channel.CALL and self.status in ACTIVE_CALL and bool(self.twilio_sid)

    @property
    def is_cancelable(self) -> bool:
        return self.status in NOT_YET_SENT or self.is_call_with_twilio


class OptOut(models.Model):
    """A number that must not be messaged: it replied STOP, or Twilio refused it with 21610."""

    class Source(models.TextChoices):
        STOP_REPLY = "stop_reply", "Replied STOP"
        TWILIO_21610 = "twilio_21610", "Refused by Twilio (21610)"
        MANUAL = "manual", "Added by hand"

    phone_number = models.CharField(max_length=32, unique=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.phone_number


class SenderNumber(models.Model):
    """A number this tenant may send from: one it owns on Twilio, or a verified caller ID.
    Usable once Twilio has confirmed it (telephony.verification)."""

    class Kind(models.TextChoices):
        LONG_CODE = "long_code", "Long code"
        TOLL_FREE = "toll_free", "Toll-free"
        SHORT_CODE = "short_code", "Short code"
        VERIFIED_CALLER_ID = "verified_caller_id", "Verified caller ID"

    class Status(models.TextChoices):
        PENDING = "pending", "Being checked with Twilio"
        VERIFIED = "verified", "Verified with Twilio"
        REJECTED = "rejected", "Rejected"

    phone_number = models.CharField(max_length=32, unique=True)
    kind = models.CharField(max_length=24, choices=Kind.choices, default=Kind.LONG_CODE)
    is_default = models.BooleanField(default=False)
    messages_per_second = models.FloatField(null=True, blank=True, help_text="Overrides the default for its kind.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    status_detail = models.TextField(blank=True, help_text="Why it was rejected, or what Twilio last said.")
    twilio_sid = models.CharField(
        max_length=34, blank=True, help_text="The IncomingPhoneNumber or OutgoingCallerId on Twilio (PN...)."
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["phone_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_sender"
            ),
        ]

    def __str__(self) -> str:
        return self.phone_number


class IdempotencyRecord(models.Model):
    """The first answer to a POST with an Idempotency-Key, replayed for the same key within 24 hours."""

    key = models.CharField(max_length=255)
    endpoint = models.CharField(max_length=100)
    request_fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["endpoint", "key"], name="idempotency_key_per_endpoint")]


class Campaign(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"
        CANCELED = "canceled", "Canceled"

    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=8, choices=Communication.Channel.choices)
    voice_message = models.ForeignKey("voice.VoiceMessage", null=True, blank=True, on_delete=models.SET_NULL)
    body = models.TextField(blank=True)
    senders = models.JSONField(
        default=list,
        help_text="The numbers it sends from (E.164). With several, each recipient gets one of them, always the same one.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    send_at = models.DateTimeField(null=True, blank=True)
    invalid_rows = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class PlatformError(models.Model):
    """A failure on our side, with enough context for the tenant's admins to see what went wrong."""

    occurred_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=100, help_text="Endpoint, task or webhook.")
    message = models.TextField()
    twilio_code = models.CharField(max_length=16, blank=True)
    communication = models.ForeignKey(Communication, null=True, blank=True, on_delete=models.SET_NULL)
    context = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.source}: {self.message[:60]}"

import secrets

from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django_tenants.files.storage import TenantFileSystemStorage

from voice.validators import validate_language, validate_template, validate_voice
from voice.voices import DEFAULT_VOICE

TEMPLATE_MAX_LENGTH = 10_000


def new_public_token() -> str:
    """The unguessable part of a URL Twilio fetches without signing in (TwiML, audio, status callbacks)."""
    return secrets.token_urlsafe(24)


class VoiceMessageQuerySet(models.QuerySet["VoiceMessage"]):
    def alive(self) -> "VoiceMessageQuerySet":
        return self.filter(deleted_at__isnull=True)

    def deleted(self) -> "VoiceMessageQuerySet":
        return self.filter(deleted_at__isnull=False)


class VoiceMessage(models.Model):
    class Rate(models.TextChoices):
        SLOW = "slow", "Slow"
        MEDIUM = "medium", "Medium"
        FAST = "fast", "Fast"

    class Type(models.TextChoices):
        MESSAGE = "message", "Message"
        GREETING = "greeting", "Greeting"
        REMINDER = "reminder", "Reminder"
        CONFIRMATION = "confirmation", "Confirmation"
        NOTIFICATION = "notification", "Notification"
        VOICEMAIL = "voicemail", "Voicemail"

    name = models.CharField(max_length=200)
    template_text = models.TextField(validators=[MaxLengthValidator(TEMPLATE_MAX_LENGTH), validate_template])
    voice = models.CharField(max_length=64, default=DEFAULT_VOICE, validators=[validate_voice])
    language = models.CharField(max_length=8, default="en-US", validators=[validate_language])
    rate = models.CharField(max_length=8, choices=Rate.choices, default=Rate.MEDIUM)
    message_type = models.CharField(max_length=16, choices=Type.choices, default=Type.MESSAGE)
    settings = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    # Kept from the old desktop system so an import loses nothing.
    voice_age = models.CharField(max_length=32, blank=True)
    tropo_voice = models.CharField(max_length=64, blank=True)
    legacy_voice = models.CharField(max_length=32, blank=True)
    legacy_id = models.IntegerField(null=True, blank=True, unique=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VoiceMessageQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"], condition=Q(deleted_at__isnull=True), name="voice_message_name_unique_alive"
            ),
        ]
        indexes = [models.Index(fields=["message_type", "is_active"])]

    def __str__(self) -> str:
        return self.name


def voice_file_path(instance: "VoiceFile", filename: str) -> str:
    # The storage puts this under the tenant's own media folder; the token keeps names unguessable.
    return f"voice-files/{instance.public_token}/{filename}"


class VoiceFile(models.Model):
    class Kind(models.TextChoices):
        MP3 = "mp3", "MP3 audio"
        WAV = "wav", "WAV audio"
        M4A = "m4a", "M4A audio"
        TWIML = "xml", "TwiML document"

    name = models.CharField(max_length=100, unique=True, help_text="Used as {MP3~name} in templates.")
    file = models.FileField(upload_to=voice_file_path, storage=TenantFileSystemStorage(), max_length=300)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    content_type = models.CharField(max_length=64)
    size_bytes = models.PositiveIntegerField()
    duration_seconds = models.FloatField(null=True, blank=True)
    description = models.CharField(max_length=500, blank=True)
    tags = models.JSONField(default=list, blank=True)
    caller_number = models.CharField(max_length=16, blank=True)
    public_token = models.CharField(max_length=40, unique=True, default=new_public_token, editable=False)
    legacy_id = models.IntegerField(null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TwimlDocument(models.Model):
    """TwiML rendered for one call, fetched by Twilio from the tenant host by its unguessable token."""

    public_token = models.CharField(max_length=40, unique=True, default=new_public_token, editable=False)
    message = models.ForeignKey(
        VoiceMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents"
    )
    variables = models.JSONField(default=dict, blank=True)
    xml = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.public_token
